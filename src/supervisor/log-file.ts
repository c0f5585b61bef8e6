/**
 * daemon.log is capped: a per-user daemon may run for months, and each worker started and retired
 * writes two lines (a QA soak with worker churn wrote 300 KB in half an hour). Past LOG_MAX_BYTES
 * it is renamed to daemon.log.1 (replacing the one before) and a new daemon.log is opened, so the
 * two together stay under twice the cap (docs/troubleshooting.md).
 */
import { renameSync, statSync } from 'node:fs';

export const LOG_MAX_BYTES = 8 * 1024 * 1024;
/** How often the running daemon looks at its log's size (a stat). */
export const LOG_CHECK_MS = 10_000;

/** What the log is written through (pino's SonicBoom destination): it opens the path anew. */
interface Reopenable {
  reopen(): void;
}

/** Rotates the log at `path` if it has grown to `maxBytes`; true if it did. */
export function rotateIfLarge(path: string, destination: Reopenable, maxBytes = LOG_MAX_BYTES): boolean {
  try {
    if (statSync(path).size < maxBytes) return false;
    renameSync(path, `${path}.1`);
  } catch {
    return false; // none yet, or moved meanwhile: lines keep going where the destination writes
  }
  // Lines buffered before go to the file renamed, whole; the new one is made with the same mode, 0600.
  destination.reopen();
  return true;
}
