/**
 * Finding the temporary files a killed writer left: each is named after the process writing it
 * (replace-file.ts tempBeside: `<name>.<pid>.<n>.tmp`), so one whose process is gone can never be
 * put in place and only takes space. Only node:fs, node:path and pid-alive.ts: the daemon's
 * start-up uses it for its run directory (src/supervisor/start-up.ts), doctor's temp_files for the
 * repository (src/commands/temp-files.ts).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pidAlive } from './pid-alive.js';

/**
 * A writer in another pid namespace (a container sharing the repository) has a pid that looks
 * dead from here: only files left alone this long count as left behind. A pack is kept for the
 * few milliseconds of a ref update (longer only while a lock is pushed to a remote).
 */
export const QUIET_MS = 60_000;

export interface LeftTempFile {
  path: string;
  bytes: number;
}

/** The bytes of the files under `dir`. */
function sizeOf(dir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const st = statSync(join(dir, name));
    if (st.isFile()) bytes += st.size;
  }
  return bytes;
}

/**
 * Files (or, with `dirs`, directories) in `dir` named by `pattern` (group 1: the writer's pid, when
 * the name has one) after a process that is gone, left alone for QUIET_MS.
 */
export function scanLeft(dir: string, pattern: RegExp, now: number, out: LeftTempFile[], dirs = false): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m || (m[1] !== undefined && pidAlive(Number(m[1])))) continue;
    const path = join(dir, name);
    try {
      const st = statSync(path);
      if ((dirs ? st.isDirectory() : st.isFile()) && now - st.mtimeMs >= QUIET_MS) out.push({ path, bytes: dirs ? sizeOf(path) : st.size });
    } catch {
      // gone meanwhile
    }
  }
}

/** The temporary files beside `path` (`<path>.<pid>.<n>.tmp`) that killed writers of it left. */
export function leftBeside(path: string, now = Date.now()): LeftTempFile[] {
  const out: LeftTempFile[] = [];
  scanLeft(dirname(path), new RegExp(`^${basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)(?:\\.\\d+)?\\.tmp$`), now, out);
  return out;
}

/** Deletes `files`; returns them. */
export function removeLeft(files: LeftTempFile[]): LeftTempFile[] {
  for (const f of files) rmSync(f.path, { recursive: true, force: true });
  return files;
}
