/**
 * Hostile chunk files for the reliability suite: seeded generators of the inputs a broken disk or
 * a malicious remote could hand the WAL reader. Used by the in-process decoder fuzz and by the
 * hostile-remote sync test, so both exercise the same families.
 */
import { encodeCanonical, type CborValue } from '../../src/core/cbor.js';
import { encodeChunk } from '../../src/core/chunk.js';
import { eventToRecord, makeEvent, type Event } from '../../src/core/event.js';
import type { EventKind } from '../../src/core/kinds.js';
import { ownIssueId } from '../helpers/bad-records.js';
import { pick } from '../helpers/random.js';

const HEADER = (() => {
  const codec = new TextEncoder().encode('cbor-v1');
  const h = new Uint8Array(11 + codec.length);
  h.set(new TextEncoder().encode('GRITCHNK'), 0);
  h[8] = 1;
  h[10] = codec.length;
  h.set(codec, 11);
  return h;
})();

export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** A chunk file around an arbitrary CBOR body (valid header, hostile body). */
export const withHeader = (body: Uint8Array): Uint8Array => concat(HEADER, body);

const id = (n: number, len: number) => new Uint8Array(len).fill(n);

const KINDS: EventKind[] = [
  { type: 'IssueCreated', title: 'T', body: 'B', labels: ['p0', 'bug'] },
  { type: 'IssueUpdated', title: null, body: 'new body' },
  { type: 'CommentAdded', body: 'hello ✓' },
  { type: 'LabelAdded', label: 'bug' },
  { type: 'StateChanged', state: 'closed' },
  { type: 'LinkAdded', url: 'https://example.com', note: null },
  { type: 'AttachmentAdded', name: 'a.log', sha256: id(7, 32), mime: 'text/plain' },
  { type: 'DependencyAdded', target: id(9, 16), dep_type: 'blocks' },
  {
    type: 'ContextUpdated',
    path: 'src/a.ts',
    language: 'typescript',
    symbols: [{ name: 'a', kind: 'class', line_start: 1, line_end: 2 }],
    summary: 's',
    content_hash: id(3, 32),
  },
];

/** A few real events (one per kind family) and their valid chunk. */
export function sampleEvents(actor = id(2, 16)): Event[] {
  return KINDS.map((kind, i) =>
    makeEvent({ issue_id: ownIssueId(kind, id(1, 16)), actor, ts_unix_ms: 1_700_000_000_000 + i, parent: i ? id(i, 32) : null, kind }),
  );
}

export function validChunk(): Uint8Array {
  return encodeChunk(sampleEvents()).bytes;
}

/** A CBOR head (major type, argument) with the argument in the given width (1, 2, 4 or 8 bytes). */
export function cborHead(major: number, value: number | bigint, width: 0 | 1 | 2 | 4 | 8 = 8): Uint8Array {
  if (width === 0) return Uint8Array.of((major << 5) | Number(value));
  const info = { 1: 24, 2: 25, 4: 26, 8: 27 }[width];
  const out = new Uint8Array(1 + width);
  out[0] = (major << 5) | info;
  let v = BigInt(value);
  for (let i = width; i >= 1; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

const randomBytes = (rand: () => number, n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
};

export type Family =
  | 'random bytes'
  | 'random body'
  | 'truncation'
  | 'bit flips'
  | 'huge length'
  | '100 MB string'
  | 'deep nesting'
  | 'wrong types'
  | 'amplification';

export const FAMILIES: Family[] = [
  'random bytes',
  'random body',
  'truncation',
  'bit flips',
  'huge length',
  '100 MB string',
  'deep nesting',
  'wrong types',
  'amplification',
];

const validRecord = (): CborValue[] => eventToRecord(sampleEvents()[0]);

/** Wrong-typed variants of a real record (each field replaced by something of another type). */
function wrongTypes(rand: () => number): CborValue {
  const r = validRecord();
  const replacements: CborValue[] = [null, 7, -3, 'text', new Uint8Array(3), [], [[]], 2 ** 53 - 1, new Uint8Array(64)];
  const mode = Math.floor(rand() * 5);
  if (mode === 0) {
    // The signature (index 7) is not covered by the event id: null or any bytes would be valid there
    // (bytes that do not verify are a bad signature, for the policy to judge).
    const at = Math.floor(rand() * r.length);
    // Replacing a null (the first event's parent) by null would change nothing.
    r[at] = at === 7 ? pick<CborValue>(['sig', 1, []], rand) : pick(replacements.filter((v) => v !== r[at]), rand);
    return [r];
  }
  if (mode === 1) return [r.slice(0, Math.floor(rand() * 8))]; // too short
  if (mode === 2) return [[...r, null]]; // too long
  if (mode === 3) {
    const payload = r[6] as CborValue[];
    payload[Math.floor(rand() * payload.length)] = pick(replacements, rand);
    return [r];
  }
  return pick<CborValue>([r, 'text', 5, null, new Uint8Array(8)], rand); // body not an array of records
}

/** Bytes refused outright by a strict decoder: maps, tags, floats, undefined, indefinite lengths. */
const FORBIDDEN_ITEMS = [0xa0, 0xa1, 0xc0, 0xd8, 0xf4, 0xf5, 0xf7, 0xf9, 0xfa, 0xfb, 0x5f, 0x7f, 0x9f, 0xbf, 0xff, 0x1c, 0x3e];

/**
 * One hostile input of the given family. `'bit flips'` may, rarely, leave a chunk that still
 * decodes to the same events (a flipped signature byte, say): callers check that case apart.
 */
export function hostile(family: Family, rand: () => number): Uint8Array {
  switch (family) {
    case 'random bytes':
      return randomBytes(rand, Math.floor(rand() * 600));
    case 'random body':
      return withHeader(randomBytes(rand, Math.floor(rand() * 400)));
    case 'truncation': {
      const c = validChunk();
      return c.subarray(0, Math.floor(rand() * c.length));
    }
    case 'bit flips': {
      const c = validChunk().slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < flips; i++) c[Math.floor(rand() * c.length)] ^= 1 << Math.floor(rand() * 8);
      return c;
    }
    case 'huge length': {
      // A byte string, text string or array claiming up to 2^64-1 items, followed by a few bytes.
      const major = pick([2, 3, 4], rand);
      const width = pick([4, 8] as const, rand);
      const value = width === 4 ? 0xffffffff - Math.floor(rand() * 1000) : BigInt(2 ** 53) + BigInt(Math.floor(rand() * 1e9)) * 1000n;
      const inner = concat(cborHead(major, value, width), randomBytes(rand, Math.floor(rand() * 64)));
      return withHeader(rand() < 0.5 ? inner : concat(cborHead(4, 1, 0), inner));
    }
    case '100 MB string': {
      const major = pick([2, 3], rand);
      const declared = 100_000_000 + Math.floor(rand() * 1000);
      // Inside a plausible record: [event_id = <100 MB string>, ...]
      return withHeader(concat(cborHead(4, 1, 0), cborHead(4, 8, 0), cborHead(major, declared, 4), randomBytes(rand, 32)));
    }
    case 'deep nesting': {
      const depth = 17 + Math.floor(rand() * 5000);
      return withHeader(concat(new Uint8Array(depth).fill(0x81), Uint8Array.of(0xf6)));
    }
    case 'wrong types': {
      if (rand() < 0.3) {
        // A forbidden item somewhere inside an otherwise valid record.
        const body = encodeCanonical([validRecord()]);
        const at = 1 + Math.floor(rand() * (body.length - 1));
        const out = body.slice();
        out[at] = pick(FORBIDDEN_ITEMS, rand);
        return withHeader(out);
      }
      return withHeader(encodeCanonical(wrongTypes(rand)));
    }
    case 'amplification': {
      // Many one-byte items (empty byte strings, empty arrays): tiny input, large decoded heap.
      const n = 50_000 + Math.floor(rand() * 200_000);
      const item = pick([0x40, 0x80, 0x60], rand);
      const body = new Uint8Array(5 + n).fill(item);
      body.set(cborHead(4, n, 4), 0);
      return withHeader(rand() < 0.5 ? body : concat(cborHead(4, 1, 0), body));
    }
  }
}
