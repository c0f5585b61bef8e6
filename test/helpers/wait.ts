/**
 * Waiting for something asynchronous (a daemon exiting, a worker retired, a lock running out):
 * poll for the condition itself, never sleep a fixed time and then assert. The suite runs on a
 * shared 2-core machine, often loaded by other work, where a process may not be scheduled for
 * seconds: a deadline here bounds a hang, it does not measure speed, so it is generous.
 */
import assert from 'node:assert/strict';

export const WAIT_MS = 30_000;

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves once `cond` holds; fails naming `what` (asked then: it may say how far off it was) if it still does not after `ms`. */
export async function until(what: string | (() => string), cond: () => boolean | Promise<boolean>, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`${typeof what === 'string' ? what : what()}: not within ${ms} ms`);
    await pause(25);
  }
}

/** Resolves once the wall clock (what lock expiries are compared with) is past `unixMs`. */
export async function untilPast(unixMs: number): Promise<void> {
  while (Date.now() <= unixMs) await pause(unixMs - Date.now() + 1);
}
