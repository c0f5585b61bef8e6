import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Whether `path` is `root` or lies under it, judged on the paths as written (no symlinks followed). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, resolve(path));
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
