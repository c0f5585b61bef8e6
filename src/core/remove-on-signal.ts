/**
 * A file to remove if this process is ended by a signal while it is being written: node's default
 * SIGINT/SIGTERM/SIGHUP exit runs no `catch` or `finally`, so a Ctrl-C would leave it behind. The
 * writer must let the event loop run now and then (an `await`) for a signal to be handled.
 */
import { rmSync } from 'node:fs';
import { workerThreads } from './builtins.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Removes `path` on a signal and then ends as the signal would have (exit 130, 143, 129); returns the undo. */
export function removeOnSignal(path: string): () => void {
  // Only the main thread gets signals; a daemon's worker is stopped by its supervisor, which waits for it.
  if (!workerThreads().isMainThread) return () => {};
  const off = () => {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    rmSync(path, { force: true });
    off();
    // Unless someone else listens too (they have the signal already, and decide).
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  }
  for (const s of SIGNALS) process.on(s, onSignal);
  return off;
}

/** Lets the event loop run once: a signal that arrived meanwhile is handled. */
export const letSignalsIn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
