/** The chunk file of SPEC §3: `GRITCHNK`, u16 LE version, codec name, CBOR array of event records. */
import { decodeStrict, decodeStrictArray, encodeCanonical, scanArrayOfArrays, type CborValue } from './cbor.js';
import { GritError, walError } from './errors.js';
import { eventFromRecord, eventToRecord, kindPayload, recordIdMatches, type Event } from './event.js';
import { blake2b256 } from './hash.js';
import { bytesEqual, toHex } from './hex.js';
import type { EventKind } from './kinds.js';
import { hasLogKeyLayout } from './log-key.js';
import { U64_MAX } from './timestamp.js';

const MAGIC = new TextEncoder().encode('GRITCHNK');
const VERSION = 1;
const CODEC = 'cbor-v1';
const CODEC_BYTES = new TextEncoder().encode(CODEC);
const HEADER_LEN = MAGIC.length + 2 + 1 + CODEC_BYTES.length;

/**
 * The largest chunk a WAL commit may hold. Readers refuse bigger ones before inflating them (a
 * fetched WAL is untrusted input, and a few KB of zlib can declare gigabytes); writers refuse to
 * write them, so nothing grit writes is ever unreadable. See docs/reliability.md.
 */
export const MAX_CHUNK_BYTES = 16 << 20;

/** What one chunk holds of event records: MAX_CHUNK_BYTES less its header and its array's head (9 bytes at most). */
export const MAX_RECORDS_BYTES = MAX_CHUNK_BYTES - HEADER_LEN - 9;

/**
 * The most a record takes besides its kind's payload: the widest ids, timestamp (u64), parent,
 * kind tag and signature, with their CBOR heads (less the empty payload's head, which the
 * payload's own encoding has).
 */
const RECORD_FRAME_BYTES =
  encodeCanonical([new Uint8Array(32), new Uint8Array(16), new Uint8Array(16), U64_MAX, new Uint8Array(32), 0xffff, [], new Uint8Array(64)]).length - 1;

/** The most bytes an event of `kind` takes in a chunk, whatever its timestamp, parent and signature. */
export function recordBytesBound(kind: EventKind): number {
  return RECORD_FRAME_BYTES + encodeCanonical(kindPayload(kind)).length;
}

export interface EncodedChunk {
  bytes: Uint8Array;
  hash: Uint8Array;
}

export function encodeChunk(events: readonly Event[]): EncodedChunk {
  const body = encodeCanonical(events.map(eventToRecord));
  const bytes = new Uint8Array(HEADER_LEN + body.length);
  bytes.set(MAGIC, 0);
  bytes[8] = VERSION & 0xff;
  bytes[9] = VERSION >> 8;
  bytes[10] = CODEC_BYTES.length;
  bytes.set(CODEC_BYTES, 11);
  bytes.set(body, HEADER_LEN);
  return { bytes, hash: blake2b256(bytes) };
}

/** Throws `wal_error` unless the chunk's BLAKE2b-256 is `expected` (its name in the WAL). */
export function checkChunkHash(bytes: Uint8Array, expected: Uint8Array): void {
  if (!bytesEqual(blake2b256(bytes), expected)) {
    throw walError('chunk hash does not match its content', { expected: toHex(expected) });
  }
}

/**
 * Decodes a chunk and checks everything SPEC §3 asks a reader to check. Any failure throws a
 * `wal_error` before a single event is returned, so a caller never applies part of a bad chunk.
 */
export function decodeChunk(bytes: Uint8Array, expectedHash?: Uint8Array): Event[] {
  if (expectedHash) checkChunkHash(bytes, expectedHash);
  return eventsOf(chunkRecords(bytes), true);
}

/**
 * Checks what `decodeChunk` checks that needs the chunk's hash and its events' ids, without
 * building the events: a reader thread does this while the main thread decodes the chunk before
 * with `decodeVerifiedChunk` (src/git/wal-read-ahead.ts).
 */
export function verifyChunk(bytes: Uint8Array, expectedHash: Uint8Array): void {
  checkChunkHash(bytes, expectedHash);
  const body = chunkBody(bytes);
  let records: ReturnType<typeof scanArrayOfArrays>;
  try {
    records = scanArrayOfArrays(body);
  } catch (err) {
    throw walError(`chunk body is not valid: ${(err as Error).message}`);
  }
  const { starts, lasts, ends, canonical } = records;
  if (canonical && starts.every((s, i) => recordIdMatches(body.subarray(s, ends[i]), lasts[i] - s))) return;
  eventsOf(chunkRecords(bytes), true); // says what is wrong, or accepts what the shortcut cannot
}

/**
 * The records of a chunk whose hash was checked, as views into it, without decoding them: when
 * the chunk is canonical, each record's id is the hash of its content read off its bytes (as
 * `verifyChunk` checks it), and each record's log-key fields lie where a canonical record's do.
 * Null when that shortcut cannot vouch for the chunk: `decodeChunk` then tells what is wrong with
 * it, or accepts it. What the shortcut leaves unchecked (kinds, payloads, text) is checked when the
 * records are decoded (`Store.fill`).
 */
export function scanChunkRecords(bytes: Uint8Array): Uint8Array[] | null {
  let body: Uint8Array;
  let scan: ReturnType<typeof scanArrayOfArrays>;
  try {
    body = chunkBody(bytes);
    scan = scanArrayOfArrays(body);
  } catch {
    return null;
  }
  const { starts, lasts, ends, canonical } = scan;
  if (!canonical || starts.length === 0) return null;
  const records: Uint8Array[] = new Array(starts.length);
  for (let i = 0; i < starts.length; i++) {
    const record = body.subarray(starts[i], ends[i]);
    if (!hasLogKeyLayout(record) || !recordIdMatches(record, lasts[i] - starts[i])) return null;
    records[i] = record;
  }
  return records;
}

/** `decodeChunk` for bytes that `verifyChunk` accepted: everything but the hash and the ids is checked. */
export function decodeVerifiedChunk(bytes: Uint8Array): Event[] {
  return eventsOf(chunkRecords(bytes), false);
}

/** The records of a chunk, after its header is checked. */
function chunkRecords(bytes: Uint8Array): { items: CborValue[]; encoded: Uint8Array[]; canonical: boolean } {
  const body = chunkBody(bytes);
  try {
    return decodeStrictArray(body);
  } catch (err) {
    throw walError(`chunk body is not valid: ${(err as Error).message}`);
  }
}

/** A chunk's body (its CBOR array of records), after its header is checked. */
function chunkBody(bytes: Uint8Array): Uint8Array {
  if (bytes.length < MAGIC.length + 3 || !bytesEqual(bytes.subarray(0, MAGIC.length), MAGIC)) {
    throw walError('chunk does not start with GRITCHNK');
  }
  const version = bytes[8] | (bytes[9] << 8);
  if (version !== VERSION) throw walError(`unsupported chunk version ${version}`);
  const codecLen = bytes[10];
  const codec = new TextDecoder().decode(bytes.subarray(11, 11 + codecLen));
  if (codec !== CODEC) throw walError(`unsupported chunk codec ${JSON.stringify(codec)}`);
  return bytes.subarray(11 + codecLen);
}

function eventsOf(records: { items: CborValue[]; encoded: Uint8Array[]; canonical: boolean }, verifyId: boolean): Event[] {
  let events: Event[];
  try {
    const { encoded, canonical } = records;
    events = records.items.map((r, i) => eventFromRecord(r, { verifyId, canonical: canonical ? encoded[i] : undefined }));
  } catch (err) {
    throw asWalError(err);
  }
  events.forEach((e, i) => Object.defineProperty(e, DECODED_FROM, { value: records.encoded[i] }));
  return events;
}

function asWalError(err: unknown): unknown {
  return err instanceof GritError ? walError(err.message, err.details) : err;
}

/**
 * The record bytes an event decoded from a chunk was read from (a view into the chunk), kept on
 * the event as a hidden property: not enumerable, so comparisons, JSON and copies never see it (a
 * copy is encoded again). A WeakMap held them before: its 100k insertions were ~80 ms of a
 * snapshot rebuild's profile (wall time 2,595 → 2,552 ms, medians of 7 interleaved runs; the
 * garbage collector's share did not change).
 */
const DECODED_FROM = Symbol('decodedFrom');

/**
 * An event's chunk record (SPEC §3): the bytes it was decoded from when it came from a chunk
 * (decoding those gives the same event back), else its canonical encoding. Saves the store
 * encoding every event of a rebuild again.
 */
export function recordBytes(e: Event): Uint8Array {
  return (e as Event & { [DECODED_FROM]?: Uint8Array })[DECODED_FROM] ?? encodeCanonical(eventToRecord(e));
}

/**
 * An event record as the store and snapshots keep it (one record, not a chunk). Stored events were
 * verified when they were applied: decoding re-checks their shape, not their ids (`db check`
 * recomputes those). Here, not beside the store's rows: snapshot.ts needs it, and the daemon's
 * supervisor loads snapshot.ts (temp-files.ts) but never the store or its row codec.
 */
export function decodeStored(bytes: Uint8Array): Event {
  return eventFromRecord(decodeStrict(bytes), { verifyId: false });
}
