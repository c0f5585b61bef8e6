import { encodeCanonical, type CborValue } from './cbor.js';
import { GritError } from './errors.js';
import { blake2b256, blake2b256Of } from './hash.js';
import { bytesEqual, compareBytes, toHex } from './hex.js';
import { kindIdMismatch } from './kind-ids.js';
import {
  DEP_TYPES,
  KIND_BY_NAME,
  KIND_BY_TAG,
  type ContextSymbol,
  type EventKind,
  type FieldType,
  type KindName,
} from './kinds.js';
import { compareTs, exactTs, type Stamped } from './timestamp.js';

/** `ts_unix_ms`, and `ts_exact` above 2^53 - 1: src/core/timestamp.ts. */
export interface Event extends Stamped {
  event_id: Uint8Array;
  issue_id: Uint8Array;
  actor: Uint8Array;
  parent: Uint8Array | null;
  kind: EventKind;
  sig: Uint8Array | null;
}

export type UnsignedEvent = Omit<Event, 'event_id' | 'sig'>;

const utf8 = new TextEncoder();
// Below U+D800, UTF-16 code units order like code points and so like UTF-8 bytes: no encoding needed.
const BEYOND_BMP_START = /[\uD800-\uFFFF]/;
/** Text in UTF-8 byte order: SPEC §1's order for labels, and the order they are shown in. */
export function compareUtf8(a: string, b: string): number {
  if (!BEYOND_BMP_START.test(a) && !BEYOND_BMP_START.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return compareBytes(utf8.encode(a), utf8.encode(b));
}

/** SPEC §1's order of a ContextUpdated's symbols for hashing: by name, then kind (UTF-8 bytes). */
export const compareSymbols = (a: ContextSymbol, b: ContextSymbol): number => compareUtf8(a.name, b.name) || compareUtf8(a.kind, b.kind);

function encodeField(type: FieldType, value: unknown): CborValue {
  switch (type) {
    case 'texts':
      return [...(value as string[])].sort(compareUtf8);
    case 'symbols':
      return [...(value as ContextSymbol[])].sort(compareSymbols).map((s) => [s.name, s.kind, s.line_start, s.line_end]);
    default:
      return value as CborValue;
  }
}

/** The payload array for hashing and for chunk records; set-like lists are sorted. */
export function kindPayload(kind: EventKind): CborValue[] {
  const spec = KIND_BY_NAME[kind.type];
  const record = kind as unknown as Record<string, unknown>;
  return spec.fields.map(([name, type]) => encodeField(type, record[name]));
}

export function kindTag(kind: EventKind): number {
  return KIND_BY_NAME[kind.type].tag;
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isBytes = (v: unknown, n: number): v is Uint8Array => v instanceof Uint8Array && v.length === n;
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function decodeField(field: string, type: FieldType, v: unknown): unknown {
  const ok = (() => {
    switch (type) {
      case 'text':
        return isText(v);
      case 'text?':
        return v === null || isText(v);
      case 'texts':
        return Array.isArray(v) && v.every(isText);
      case 'id16':
        return isBytes(v, 16);
      case 'hash32':
        return isBytes(v, 32);
      case 'u64':
        return isUint(v);
      case 'state':
        return v === 'open' || v === 'closed';
      case 'dep_type':
        return (DEP_TYPES as readonly unknown[]).includes(v);
      case 'symbols':
        return (
          Array.isArray(v) &&
          v.every(
            (s) => Array.isArray(s) && s.length === 4 && isText(s[0]) && isText(s[1]) && isUint(s[2]) && isUint(s[3]),
          )
        );
    }
  })();
  if (!ok) {
    // The decoder gives a bigint for an integer above 2^53 - 1: a timestamp's width (SPEC §1 u64),
    // which SPEC does not give line numbers; grit reads those only as numbers (docs/wal.md, "Integers").
    const big = type === 'symbols' && Array.isArray(v) && v.some((s) => Array.isArray(s) && s.some((x) => typeof x === 'bigint'));
    throw new GritError('wal_error', big ? `payload field ${field} has a line number above 2^53 - 1, more than grit reads` : `payload field is not a valid ${type}`);
  }
  if (type === 'texts') return inHashOrder(field, v as string[], compareUtf8);
  if (type === 'symbols') {
    const symbols = (v as [string, string, number, number][]).map(([name, kind, line_start, line_end]) => ({
      name,
      kind,
      line_start,
      line_end,
    }));
    return inHashOrder(field, symbols, compareSymbols);
  }
  return v;
}

/**
 * A set-like list as read, refused unless it is already in the order SPEC §1 sorts it in for
 * hashing: the fast id check hashes a record's bytes as they are, `computeEventId` hashes the
 * sorted list, and the two must agree on every event a reader accepts (else `db check` and
 * snapshots call an accepted event corrupt). One pass, no encoding.
 */
function inHashOrder<T>(name: string, list: T[], compare: (a: T, b: T) => number): T[] {
  for (let i = 1; i < list.length; i++) {
    if (compare(list[i - 1], list[i]) > 0) {
      throw new GritError('wal_error', `${name} are not in the order SPEC §1 hashes them in (sorted by UTF-8 bytes)`);
    }
  }
  return list;
}

/** Rebuilds a kind from its tag and payload array, refusing anything that does not fit SPEC §1. */
export function kindFromPayload(tag: unknown, payload: unknown): EventKind {
  const spec = typeof tag === 'number' ? KIND_BY_TAG.get(tag) : undefined;
  if (!spec) throw new GritError('wal_error', `unknown event kind tag ${String(tag)}`);
  if (!Array.isArray(payload) || payload.length !== spec.fields.length) {
    throw new GritError('wal_error', `${spec.name} payload must be an array of ${spec.fields.length}`);
  }
  const out: Record<string, unknown> = { type: spec.name };
  spec.fields.forEach(([name, type], i) => {
    out[name] = decodeField(name, type, payload[i]);
  });
  return out as unknown as EventKind;
}

export function preimage(e: UnsignedEvent): Uint8Array {
  return encodeCanonical([1, e.issue_id, e.actor, exactTs(e), e.parent, kindTag(e.kind), kindPayload(e.kind)]);
}

export function computeEventId(e: UnsignedEvent): Uint8Array {
  return blake2b256(preimage(e));
}

export function makeEvent(e: UnsignedEvent, sign?: (eventId: Uint8Array) => Uint8Array): Event {
  const event_id = computeEventId(e);
  return { ...e, event_id, sig: sign ? sign(event_id) : null };
}

/**
 * True when the event's id is the hash of its content. `record`, the canonical encoding of its
 * chunk record when the caller has it, saves encoding the preimage again: between the id and the
 * signature the record holds the preimage's fields in the same encoding.
 */
export function eventIdMatches(e: Event, record?: Uint8Array): boolean {
  // The record ends with the signature: null (1 byte) or an Ed25519 signature (a 2-byte head and 64
  // bytes). One of another length (a bad signature) is rare: its event is encoded again instead.
  const sigBytes = e.sig === null ? 1 : e.sig.length === 64 ? 66 : 0;
  return record && sigBytes ? bytesEqual(fieldsHash(record, record.length - sigBytes), e.event_id) : bytesEqual(computeEventId(e), e.event_id);
}

/**
 * Whether a canonical chunk record, whose last item starts at `last`, has an id the hash of its
 * content, read off its bytes: true only for a record shaped as one with a 32-byte id and a null or
 * 64-byte signature. False says no more than that; `eventFromRecord` tells what is wrong.
 */
export function recordIdMatches(record: Uint8Array, last: number): boolean {
  if (record[0] !== 0x88 || record[1] !== 0x58 || record[2] !== 32) return false;
  const sig = record.length - last;
  if (!(sig === 1 && record[last] === 0xf6) && !(sig === 66 && record[last] === 0x58 && record[last + 1] === 64)) return false;
  return bytesEqual(fieldsHash(record, last), record.subarray(3, RECORD_ID_BYTES));
}

/** The record's array head and its 32-byte event id (head and bytes). */
const RECORD_ID_BYTES = 1 + 2 + 32;
/** The preimage's array head (7 items) and its version, 1. */
const PREIMAGE_HEAD = new Uint8Array([0x87, 0x01]);

/** The hash of the preimage whose fields are a canonical record's bytes after its id, up to `end` (its signature). */
function fieldsHash(record: Uint8Array, end: number): Uint8Array {
  return blake2b256Of(PREIMAGE_HEAD, record.subarray(RECORD_ID_BYTES, end));
}

/** Event order of SPEC §2: (ts, actor, event_id). */
export function compareEvents(a: Event, b: Event): number {
  return compareTs(a, b) || compareBytes(a.actor, b.actor) || compareBytes(a.event_id, b.event_id);
}

function jsonValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(jsonValue);
  return v;
}

export function kindToJson(kind: EventKind): Record<string, Record<string, unknown>> {
  const { type, ...fields } = kind as unknown as { type: KindName } & Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name] of KIND_BY_NAME[type].fields) out[name] = jsonValue(fields[name]);
  return { [type]: out };
}

export interface EventJson {
  event_id: string;
  issue_id: string;
  actor: string;
  ts_unix_ms: number;
  /**
   * A timestamp above 2^53 - 1 in decimal: `ts_unix_ms` is then the nearest number, and a JSON
   * reader that parses numbers as doubles (JavaScript's) could not get the exact value from it.
   */
  ts_exact?: string;
  parent: string | null;
  kind: Record<string, Record<string, unknown>>;
  sig?: string | null;
}

export function eventToJson(e: Event): EventJson {
  return {
    event_id: toHex(e.event_id),
    issue_id: toHex(e.issue_id),
    actor: toHex(e.actor),
    ts_unix_ms: e.ts_unix_ms,
    ...(e.ts_exact !== undefined && { ts_exact: String(e.ts_exact) }),
    parent: e.parent ? toHex(e.parent) : null,
    kind: kindToJson(e.kind),
    sig: e.sig ? toHex(e.sig) : null,
  };
}

/** The chunk record of SPEC §3: [event_id, issue_id, actor, ts, parent, kind_tag, kind_payload, sig]. */
export function eventToRecord(e: Event): CborValue[] {
  return [e.event_id, e.issue_id, e.actor, exactTs(e), e.parent, kindTag(e.kind), kindPayload(e.kind), e.sig];
}

/**
 * Rebuilds an event from its chunk record, refusing anything that does not fit SPEC §1 and, unless
 * `verifyId` is false (events the store verified when it took them in), an id that is not the
 * hash of the content. `canonical` is the record's encoding when it was decoded from a canonical
 * one (see `eventIdMatches`).
 */
export function eventFromRecord(
  r: unknown,
  { verifyId = true, canonical }: { verifyId?: boolean; canonical?: Uint8Array } = {},
): Event {
  if (!Array.isArray(r) || r.length !== 8) throw new GritError('wal_error', 'event record must be an array of 8');
  const [event_id, issue_id, actor, ts, parent, tag, payload, sig] = r;
  if (!isBytes(event_id, 32)) throw new GritError('wal_error', 'event_id must be 32 bytes');
  if (!isBytes(issue_id, 16)) throw new GritError('wal_error', 'issue_id must be 16 bytes');
  if (!isBytes(actor, 16)) throw new GritError('wal_error', 'actor must be 16 bytes');
  // The decoder gives a bigint only for an unsigned integer above 2^53 - 1 that fits 64 bits.
  if (!isUint(ts) && typeof ts !== 'bigint') throw new GritError('wal_error', 'ts_unix_ms must be an unsigned integer');
  if (parent !== null && !isBytes(parent, 32)) throw new GritError('wal_error', 'parent must be null or 32 bytes');
  // Of any length: one that is not an Ed25519 signature's 64 bytes does not verify, and is a bad
  // signature for the policy to judge (docs/signing.md), not a record that stops every reader.
  if (sig !== null && !(sig instanceof Uint8Array)) throw new GritError('wal_error', 'sig must be null or a byte string');
  let kind: EventKind;
  try {
    kind = kindFromPayload(tag, payload);
  } catch (err) {
    throw new GritError('wal_error', `event ${toHex(event_id)}: ${(err as Error).message}`, { details: { event_id: toHex(event_id) } });
  }
  const mismatch = kindIdMismatch(issue_id, kind);
  if (mismatch) throw new GritError('wal_error', `event ${toHex(event_id)}: ${mismatch}`, { details: { event_id: toHex(event_id), issue_id: toHex(issue_id) } });
  const event: Event = { event_id, issue_id, actor, ts_unix_ms: Number(ts), parent, kind, sig };
  // Only on the rare event that needs it: every other keeps the shape (and size) it always had.
  if (typeof ts === 'bigint') event.ts_exact = ts;
  if (verifyId && !eventIdMatches(event, canonical)) {
    throw new GritError('wal_error', `event ${toHex(event_id)} does not match its content`, {
      details: { event_id: toHex(event_id) },
    });
  }
  return event;
}

/**
 * How many of `events` (WAL records) are further copies of an event before them: one id held by
 * more than one record (docs/wal.md, "Two copies of one event").
 */
export function extraCopies(events: Iterable<Event>): number {
  const counter = new CopyCounter();
  for (const e of events) counter.add(e);
  return counter.copies;
}

/** `extraCopies` of records given one at a time (a WAL read as it streams). */
export class CopyCounter {
  private readonly ids = new Set<string>();
  private records = 0;

  add(e: Event): void {
    this.records++;
    this.ids.add(toHex(e.event_id));
  }

  get copies(): number {
    return this.records - this.ids.size;
  }
}
