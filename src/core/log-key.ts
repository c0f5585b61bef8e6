/**
 * Keys of the store's issue log: issue id (16 bytes), timestamp (8 bytes, big-endian), actor
 * (16), event id (32). Byte order is SPEC §2 event order within an issue, and an issue's events
 * are one range.
 */
import type { Event } from './event.js';

export const LOG_KEY_BYTES = 72;
export const ISSUE_BYTES = 16;

/** Writes `e`'s log key into `to` at `at`. */
export function writeLogKey(to: Buffer, at: number, e: Event): void {
  to.set(e.issue_id, at);
  to.writeUInt32BE(Math.floor(e.ts_unix_ms / 2 ** 32), at + 16);
  to.writeUInt32BE(e.ts_unix_ms >>> 0, at + 20);
  to.set(e.actor, at + 24);
  to.set(e.event_id, at + 40);
}

export function logKey(e: Event): Buffer {
  const key = Buffer.allocUnsafe(LOG_KEY_BYTES);
  writeLogKey(key, 0, e);
  return key;
}
