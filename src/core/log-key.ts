/**
 * Keys of the store's issue log: issue id (16 bytes), timestamp (8 bytes, big-endian), actor
 * (16), event id (32). Byte order is SPEC §2 event order within an issue, and an issue's events
 * are one range.
 */
import { GritError } from './errors.js';
import type { Event } from './event.js';
import { compareBytes } from './hex.js';

export const LOG_KEY_BYTES = 72;
export const ISSUE_BYTES = 16;
/** Where a log key's event id starts. */
const EVENT_ID_AT = 40;

/** Writes `e`'s log key into `to` at `at`. */
export function writeLogKey(to: Buffer, at: number, e: Event): void {
  to.set(e.issue_id, at);
  // The exact u64, as a record holds it (src/core/timestamp.ts): keys order as `compareEvents` does.
  if (e.ts_exact !== undefined) to.writeBigUInt64BE(e.ts_exact, at + 16);
  else {
    to.writeUInt32BE(Math.floor(e.ts_unix_ms / 2 ** 32), at + 16);
    to.writeUInt32BE(e.ts_unix_ms >>> 0, at + 20);
  }
  to.set(e.actor, at + 24);
  to.set(e.event_id, at + 40);
}

export function logKey(e: Event): Buffer {
  const key = Buffer.allocUnsafe(LOG_KEY_BYTES);
  writeLogKey(key, 0, e);
  return key;
}

/** The timestamp of the event under a log key (the nearest number above 2^53 - 1, as `ts_unix_ms`). */
export function logKeyTs(key: Uint8Array): number {
  // From the bytes, not through a DataView: `export --since` reads it from every key of the log,
  // and a DataView made for each took five times as long.
  return uint32At(key, ISSUE_BYTES) * 2 ** 32 + uint32At(key, ISSUE_BYTES + 4);
}

/** The exact timestamp of the event under a log key. */
export function logKeyExactTs(key: Uint8Array): bigint {
  return (BigInt(uint32At(key, ISSUE_BYTES)) << 32n) | BigInt(uint32At(key, ISSUE_BYTES + 4));
}

/** The big-endian unsigned 32-bit number at `at`. */
function uint32At(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** The event id within a log key. */
export function logKeyEventId(key: Uint8Array): Uint8Array {
  return key.subarray(EVENT_ID_AT, LOG_KEY_BYTES);
}

/** Orders two log keys as `compareEvents` orders their events, whatever their issues: by the bytes after the issue id. */
export function compareInEventOrder(a: Uint8Array, b: Uint8Array): number {
  return compareBytes(a.subarray(ISSUE_BYTES), b.subarray(ISSUE_BYTES));
}

/**
 * Where a canonical chunk record (SPEC §3: `[event_id, issue_id, actor, ts, ...]`) holds the
 * fields of its log key: after the array head, the 32-byte event id, then the 16-byte issue id
 * and actor (each after its one-byte head), then the timestamp's head.
 */
const RECORD_EVENT_ID = 3;
const RECORD_ISSUE = 36;
const RECORD_ACTOR = 53;
const RECORD_TS = 69;
/** A 16-byte string's CBOR head. */
const BYTES16 = 0x50;

/**
 * The timestamp of a canonical chunk record as its high and low 32 bits, or null when the record
 * does not start as one (a 32-byte id, a 16-byte issue id and actor, an unsigned timestamp): such
 * a record is left for the decoder to judge.
 */
function recordTs(r: Uint8Array): [number, number] | null {
  if (r.length <= RECORD_TS || r[0] !== 0x88 || r[1] !== 0x58 || r[2] !== 32 || r[RECORD_ISSUE - 1] !== BYTES16 || r[RECORD_ACTOR - 1] !== BYTES16) return null;
  const at = RECORD_TS + 1;
  const head = r[RECORD_TS];
  if (head < 0x18) return [0, head];
  if (r.length < at + (head === 0x18 ? 1 : head === 0x19 ? 2 : head === 0x1a ? 4 : 8)) return null;
  if (head === 0x18) return [0, r[at]];
  if (head === 0x19) return [0, (r[at] << 8) | r[at + 1]];
  if (head === 0x1a) return [0, uint32At(r, at)];
  if (head === 0x1b) return [uint32At(r, at), uint32At(r, at + 4)];
  return null;
}

/** Whether `writeRecordLogKey` can read a log key off this chunk record. */
export function hasLogKeyLayout(record: Uint8Array): boolean {
  return recordTs(record) !== null;
}

/** Whether a chunk record that `hasLogKeyLayout` accepted is by `actor` (16 bytes). */
export function recordIsBy(record: Uint8Array, actor: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (record[RECORD_ACTOR + i] !== actor[i]) return false;
  return true;
}

/** Writes the log key of a chunk record that `hasLogKeyLayout` accepted, read off its bytes. */
export function writeRecordLogKey(to: Buffer, at: number, record: Uint8Array): void {
  const ts = recordTs(record);
  if (ts === null) throw new GritError('internal_error', 'a log key asked of a record that is not laid out as a canonical one');
  // Byte copies: a view per field and `set` cost more than these 64 bytes (100k records a rebuild).
  for (let i = 0; i < 16; i++) to[at + i] = record[RECORD_ISSUE + i];
  for (let i = 0; i < 8; i++) to[at + 16 + i] = ts[i >> 2] >>> (24 - 8 * (i & 3));
  for (let i = 0; i < 16; i++) to[at + 24 + i] = record[RECORD_ACTOR + i];
  for (let i = 0; i < 32; i++) to[at + 40 + i] = record[RECORD_EVENT_ID + i];
}
