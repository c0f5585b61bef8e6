/**
 * Whether a read's client has gone (closed its connection), as the worker thread that is to run
 * the read sees it: a flag in memory shared with the thread, one per connection, set when the
 * connection's signal aborts (RequestInfo.signal). A message to the thread would come too late: it
 * would queue behind the very requests that are to be skipped.
 */
import { GritError } from '../core/errors.js';

/** The flag of each connection that sent a worker a read, by its signal (which lives as long as the connection). */
const flags = new WeakMap<AbortSignal, Int32Array>();

/** The flag set once `signal` (its connection's) aborts, shared with the threads it is sent to. */
export function goneFlag(signal: AbortSignal): Int32Array {
  const known = flags.get(signal);
  if (known) return known;
  const flag = new Int32Array(new SharedArrayBuffer(4));
  if (signal.aborted) flag[0] = 1;
  else signal.addEventListener('abort', () => Atomics.store(flag, 0, 1), { once: true });
  flags.set(signal, flag);
  return flag;
}

/** Whether the connection whose flag this is has closed (never, for a request sent without one: a write). */
export function isGone(flag: Int32Array | undefined): boolean {
  return flag !== undefined && Atomics.load(flag, 0) !== 0;
}

/**
 * Thrown, in the thread, in place of running a read whose client has gone: nobody is left to read
 * its reply (docs/daemon.md, Limits). That reply goes nowhere: it says what happened, for the record.
 */
export function clientGone(name: string): GritError {
  return new GritError('ipc_error', `${name} was not run: its client closed the connection before the daemon started it`, {
    details: { fallback: true },
  });
}
