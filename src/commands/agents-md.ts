/**
 * Where `grit init` writes its AGENTS.md section (setup.ts), and where doctor's temp_files looks
 * for the temporary file a killed init left (temp-files.ts).
 */
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

/**
 * The file to write the section into: AGENTS.md, or the file a link there points at (AGENTS.md is
 * often a link to CLAUDE.md or the reverse: the link stays), when that is a regular file of the
 * working tree. A link that leaves it (a cloned repository's `AGENTS.md -> ../../.bashrc`), leads
 * into .git or to nothing, or anything but a regular file there, is not written through or over.
 */
export function agentsMdPath(root: string): string | { why: string } {
  const at = join(root, 'AGENTS.md');
  const st = lstatSync(at, { throwIfNoEntry: false });
  if (!st) return at;
  let path = at;
  if (st.isSymbolicLink()) {
    const target = readlinkSync(at);
    try {
      path = realpathSync(at);
    } catch {
      return { why: `it is a link to ${target}, which does not exist` };
    }
    const rel = relative(realpathSync(root), path);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) || rel.split(sep)[0] === '.git') {
      return { why: `it is a link to ${target}, outside the working tree` };
    }
  }
  if (!statSync(path).isFile()) return { why: `${path === at ? 'it' : `the file it links to, ${path},`} is not a regular file` };
  return path;
}
