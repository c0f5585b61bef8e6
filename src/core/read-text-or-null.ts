/**
 * A file's text, or null when it cannot be read (not there, not a file, not readable): for a file
 * whose absence is an answer, a record another process may remove at any moment, or a /proc file
 * elsewhere than Linux.
 */
import { readFileSync } from 'node:fs';

export function readTextOrNull(path: string, encoding: BufferEncoding = 'utf8'): string | null {
  try {
    return readFileSync(path, encoding);
  } catch {
    return null;
  }
}
