import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChunk, decodeVerifiedChunk, encodeChunk, recordBytes, scanChunkRecords, verifyChunk } from '../../src/core/chunk.js';
import { GritError } from '../../src/core/errors.js';
import { makeEvent, type Event } from '../../src/core/event.js';
import { blake2b256, loadFastHash } from '../../src/core/hash.js';
import type { EventKind } from '../../src/core/kinds.js';
import { ownIssueId } from '../helpers/bad-records.js';

const id16 = (n: number) => new Uint8Array(16).fill(n);
const id32 = (n: number) => new Uint8Array(32).fill(n);

export const EVERY_KIND: EventKind[] = [
  { type: 'IssueCreated', title: 'T', body: 'B', labels: ['p0', 'bug'] },
  { type: 'IssueUpdated', title: null, body: 'new body' },
  { type: 'CommentAdded', body: 'hello ✓' },
  { type: 'LabelAdded', label: 'bug' },
  { type: 'LabelRemoved', label: 'bug' },
  { type: 'StateChanged', state: 'closed' },
  { type: 'LinkAdded', url: 'https://example.com', note: null },
  { type: 'AssigneeAdded', user: 'alice' },
  { type: 'AssigneeRemoved', user: 'alice' },
  { type: 'AttachmentAdded', name: 'a.log', sha256: id32(7), mime: 'text/plain' },
  { type: 'DependencyAdded', target: id16(9), dep_type: 'blocks' },
  { type: 'DependencyRemoved', target: id16(9), dep_type: 'related_to' },
  {
    type: 'ContextUpdated',
    path: 'src/a.ts',
    language: 'typescript',
    symbols: [
      { name: 'b', kind: 'function', line_start: 3, line_end: 9 },
      { name: 'a', kind: 'class', line_start: 1, line_end: 2 },
    ],
    summary: 's',
    content_hash: id32(3),
  },
  { type: 'ProjectContextUpdated', key: 'k', value: 'v' },
];

function events(): Event[] {
  return EVERY_KIND.map((kind, i) =>
    makeEvent({ issue_id: ownIssueId(kind, id16(1)), actor: id16(2), ts_unix_ms: 2 ** 40 + i, parent: i ? id32(i) : null, kind }),
  );
}

const walError = (e: unknown) => e instanceof GritError && e.code === 'wal_error';

/** Refused by a plain decode and by the reader thread's check (given a hash that matches, unless `hash`). */
function rejects(bytes: Uint8Array, hash?: Uint8Array) {
  assert.throws(() => decodeChunk(bytes, hash), walError);
  assert.throws(() => verifyChunk(bytes, hash ?? blake2b256(bytes)), walError);
}

/** Accepted by both, and the two decodes agree. */
function accepts(bytes: Uint8Array): Event[] {
  const plain = decodeChunk(bytes, blake2b256(bytes));
  verifyChunk(bytes, blake2b256(bytes));
  assert.deepEqual(decodeVerifiedChunk(bytes), plain);
  return plain;
}

for (const hashing of ['JS', 'WebAssembly']) {
  test(`the reader thread's check accepts what decoding accepts, signed or not (${hashing} hashing)`, async () => {
    if (hashing === 'WebAssembly') await loadFastHash();
    const signed = makeEvent({ issue_id: id16(1), actor: id16(2), ts_unix_ms: 7, parent: id32(4), kind: EVERY_KIND[0] }, () => new Uint8Array(64).fill(9));
    const back = accepts(encodeChunk([...events(), signed]).bytes);
    assert.deepEqual(back.map((e) => e.event_id), [...events(), signed].map((e) => e.event_id));
    assert.deepEqual(accepts(encodeChunk([]).bytes), []);
  });
}

test('a chunk round-trips every kind', () => {
  const evs = events();
  const { bytes, hash } = encodeChunk(evs);
  assert.deepEqual(hash, blake2b256(bytes));
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'GRITCHNK');
  assert.deepEqual([...bytes.subarray(8, 11)], [1, 0, 7]);
  const back = decodeChunk(bytes, hash);
  assert.equal(back.length, evs.length);
  for (let i = 0; i < evs.length; i++) {
    assert.deepEqual(back[i].event_id, evs[i].event_id);
    assert.equal(back[i].kind.type, evs[i].kind.type);
  }
  // Set-like lists are stored sorted, as they are hashed.
  assert.deepEqual((back[0].kind as { labels: string[] }).labels, ['bug', 'p0']);
});

test('a decoded event keeps the record it was read from out of sight: the store takes it instead of encoding again', () => {
  const made = makeEvent({ issue_id: id16(1), actor: id16(2), ts_unix_ms: 3, parent: null, kind: { type: 'CommentAdded', body: 'x' } });
  const { bytes, hash } = encodeChunk([made]);
  const [back] = decodeChunk(bytes, hash);
  assert.deepStrictEqual(back, made);
  assert.deepEqual(Object.keys(back).sort(), Object.keys(made).sort());
  const record = recordBytes(back);
  assert.equal(record.buffer, bytes.buffer, 'a view into the chunk');
  assert.deepEqual(record, recordBytes(made), 'the same bytes as encoding it');
  assert.notEqual(recordBytes({ ...back }).buffer, bytes.buffer, 'a copy is encoded again');
});

test('bad magic, version, codec and hash are refused', () => {
  const { bytes } = encodeChunk(events());
  const bad = (mutate: (b: Uint8Array) => void) => {
    const copy = bytes.slice();
    mutate(copy);
    return copy;
  };
  rejects(bad((b) => (b[0] = 0x58)));
  rejects(bad((b) => (b[8] = 2)));
  rejects(bad((b) => (b[11] = 0x78)));
  rejects(bytes, id32(0));
});

test('truncations at every length are refused', () => {
  const { bytes } = encodeChunk(events().slice(0, 3));
  for (let n = 0; n < bytes.length; n++) rejects(bytes.subarray(0, n));
});

test('an event whose id does not match its content is refused', () => {
  const evs = events();
  evs[2] = { ...evs[2], kind: { type: 'CommentAdded', body: 'tampered' } };
  rejects(encodeChunk(evs).bytes);
});

test('a declared 100 MB string is refused without allocating it', () => {
  const { bytes } = encodeChunk([]);
  const huge = new Uint8Array(bytes.length + 9);
  huge.set(bytes.subarray(0, bytes.length - 1));
  // array(1) then text string with 4-byte length 100,000,000
  huge.set([0x81, 0x7a, 0x05, 0xf5, 0xe1, 0x00], bytes.length - 1);
  rejects(huge.subarray(0, bytes.length + 5));
});

test('text that starts with a byte order mark keeps it, so the event id still matches when read back', () => {
  const e = makeEvent({ issue_id: id16(1), actor: id16(2), ts_unix_ms: 1, parent: null, kind: { type: 'CommentAdded', body: '\uFEFFhello' } });
  const { bytes, hash } = encodeChunk([e]);
  const [back] = decodeChunk(bytes, hash);
  assert.deepEqual(back.kind, { type: 'CommentAdded', body: '\uFEFFhello' });
});

test('ids are checked from the record bytes for signed and unsigned events alike', () => {
  const signed = makeEvent({ issue_id: id16(1), actor: id16(2), ts_unix_ms: 7, parent: id32(4), kind: EVERY_KIND[0] }, () => new Uint8Array(64).fill(9));
  const { bytes, hash } = encodeChunk([...events(), signed]);
  const back = decodeChunk(bytes, hash);
  assert.deepEqual(back[back.length - 1].sig, signed.sig);
  assert.deepEqual(back.map((e) => e.event_id), [...events(), signed].map((e) => e.event_id));
});

/** A chunk of one event whose ts, 5, is written with a longer head than needed (0x18 0x05). */
function looseChunk(): { e: Event; loose: Uint8Array } {
  const e = makeEvent({ issue_id: id16(1), actor: id16(2), ts_unix_ms: 5, parent: null, kind: { type: 'LabelAdded', label: 'x' } });
  const { bytes } = encodeChunk([e]);
  // The ts is the byte after the actor (head 0x50 and 16 bytes).
  const ts = bytes.findIndex((b, i) => b === 0x50 && bytes[i + 1] === 2 && bytes[i + 17] === 5) + 17;
  const loose = new Uint8Array(bytes.length + 1);
  loose.set(bytes.subarray(0, ts));
  loose.set([0x18, 0x05], ts);
  loose.set(bytes.subarray(ts + 1), ts + 2);
  return { e, loose };
}

test('a record whose heads are longer than needed still decodes when its id matches its content', () => {
  const { e, loose } = looseChunk();
  const [back] = accepts(loose);
  assert.deepEqual(back.event_id, e.event_id);
});

test('an id that hashes the bytes of a record whose heads are longer than needed is refused', () => {
  const { loose } = looseChunk();
  // The record starts after the header (18 bytes) and the array head (1): its id is bytes 3-35 of
  // it, its fields run from there to the null signature. An id over those very bytes is not the
  // id of the event they decode to (that hashes their canonical form).
  const record = loose.subarray(19);
  assert.deepEqual([...record.subarray(0, 3)], [0x88, 0x58, 32]);
  record.set(blake2b256(new Uint8Array([0x87, 0x01, ...record.subarray(35, record.length - 1)])), 3);
  rejects(loose);
});

test('records are taken undecoded from a canonical chunk whose ids match: their bytes and log keys are what decoding gives', async () => {
  const { LOG_KEY_BYTES, logKey, writeRecordLogKey } = await import('../../src/core/log-key.js');
  // Timestamps at every length of a CBOR unsigned integer's head, up to the largest safe integer.
  const stamps = [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
  const sign = () => new Uint8Array(64).fill(9);
  const all = stamps.flatMap((ts, i) => [
    makeEvent({ issue_id: ownIssueId(EVERY_KIND[i % EVERY_KIND.length], id16(i)), actor: id16(2), ts_unix_ms: ts, parent: null, kind: EVERY_KIND[i % EVERY_KIND.length] }),
    makeEvent({ issue_id: ownIssueId(EVERY_KIND[(i + 5) % EVERY_KIND.length], id16(i)), actor: id16(3), ts_unix_ms: ts, parent: id32(i), kind: EVERY_KIND[(i + 5) % EVERY_KIND.length] }, sign),
  ]);
  const { bytes } = encodeChunk(all);
  const records = scanChunkRecords(bytes);
  assert.ok(records);
  const decoded = decodeChunk(bytes);
  assert.deepEqual(records.map((r) => Buffer.from(r)), decoded.map((e) => Buffer.from(recordBytes(e))));
  const keys = Buffer.alloc(records.length * LOG_KEY_BYTES);
  records.forEach((r, i) => writeRecordLogKey(keys, i * LOG_KEY_BYTES, r));
  assert.deepEqual(keys, Buffer.concat(decoded.map(logKey)));

  // Nothing is vouched for that the shortcut cannot check: not canonical, an id over the wrong
  // bytes, a bad header, no records. Decoding says what is wrong (or accepts the first).
  assert.equal(scanChunkRecords(looseChunk().loose), null);
  const flipped = bytes.slice();
  flipped[18 + 1 + 3] ^= 1; // after the header and the array's head, the first record's id
  assert.equal(scanChunkRecords(flipped), null);
  assert.equal(scanChunkRecords(bytes.subarray(1)), null);
  assert.equal(scanChunkRecords(bytes.subarray(0, bytes.length - 1)), null);
  assert.equal(scanChunkRecords(encodeChunk([]).bytes), null);
  // What it leaves to decoding: a record of a kind no grit knows, its id right.
  const { chunkOfRecords, unknownKindRecord } = await import('../helpers/bad-records.js');
  const unknown = chunkOfRecords([unknownKindRecord(id16(1), id16(2), 5)]);
  assert.equal(scanChunkRecords(unknown)?.length, 1);
  assert.throws(() => decodeChunk(unknown), walError);
});

test('a record whose labels or symbols are not in hash order is refused by every decode, though its id hashes its bytes', async () => {
  // The id check over the bytes (the reader thread's, the replay shortcut's) cannot see the order;
  // decoding, which every path does before an event is applied, refuses it.
  const { chunkOfRecords, unsortedListRecord } = await import('../helpers/bad-records.js');
  for (const list of ['labels', 'symbols'] as const) {
    const bytes = chunkOfRecords([unsortedListRecord(list, id16(1), id16(2), 5)]);
    const refused = (e: unknown) => walError(e) && new RegExp(`${list} are not in the order SPEC §1 hashes them in`).test((e as Error).message);
    assert.throws(() => decodeChunk(bytes, blake2b256(bytes)), refused);
    verifyChunk(bytes, blake2b256(bytes));
    assert.throws(() => decodeVerifiedChunk(bytes), refused);
    assert.equal(scanChunkRecords(bytes)?.length, 1, 'left to decoding');
  }
});

test('timestamps above 2^53 - 1 (SPEC §1: u64) read back whole: ids verify, records and log keys are exact, event order is exact; what is no u64 is refused', async () => {
  const { LOG_KEY_BYTES, logKey, logKeyTs, writeRecordLogKey } = await import('../../src/core/log-key.js');
  const { chunkOfRecords, recordWithTs } = await import('../helpers/bad-records.js');
  const { encodeCanonical } = await import('../../src/core/cbor.js');
  const { compareEvents, eventIdMatches, eventToRecord } = await import('../../src/core/event.js');
  const { exactTs } = await import('../../src/core/timestamp.js');
  const stamps = [2n ** 53n, 1_800_000_000_000_000_000n, 2n ** 64n - 2n, 2n ** 64n - 1n];
  // Built from bytes, not by grit's event code. The two highest round to one number, and the
  // later one's actor sorts first: only the exact values order them as SPEC §2 does.
  const records = stamps.map((ts, i) => recordWithTs(id16(1), id16(9 - i), encodeCanonical(ts), 3, [`at ${ts}`]));
  const bytes = chunkOfRecords(records);
  const read = accepts(bytes);
  assert.deepEqual(read.map(exactTs), stamps);
  assert.deepEqual(read.map((e) => e.ts_unix_ms), stamps.map(Number));
  assert.ok(read.every((e) => eventIdMatches(e)), 'the ids hash the exact preimage');
  assert.deepEqual(read.map((e) => Buffer.from(encodeCanonical(eventToRecord(e)))), records.map((r) => Buffer.from(r)));
  assert.deepEqual(Buffer.from(encodeChunk(read).bytes), Buffer.from(bytes));
  assert.deepEqual([...read].reverse().sort(compareEvents).map(exactTs), stamps);
  // Taken undecoded, the records give the log keys decoding gives, in the same order.
  const scanned = scanChunkRecords(bytes);
  assert.equal(scanned?.length, stamps.length);
  const keys = Buffer.alloc(scanned.length * LOG_KEY_BYTES);
  scanned.forEach((r, i) => writeRecordLogKey(keys, i * LOG_KEY_BYTES, r));
  assert.deepEqual(keys, Buffer.concat(read.map(logKey)));
  assert.deepEqual([...read].reverse().map(logKey).sort(Buffer.compare), read.map(logKey));
  assert.deepEqual(read.map((e) => logKeyTs(logKey(e))), stamps.map(Number));

  // No u64: 2^64 (a bignum, the only way CBOR writes it), a negative integer, a float.
  const float = Buffer.alloc(9, 0xfb);
  float.writeDoubleBE(1.8e18, 1);
  for (const ts of [Buffer.from('c249010000000000000000', 'hex'), Buffer.from('3b7fffffffffffffff', 'hex'), float]) {
    rejects(chunkOfRecords([recordWithTs(id16(1), id16(2), ts, 3, ['x'])]));
  }
  // SPEC gives a symbol's line numbers no width: grit reads them up to 2^53 - 1 and says so above.
  const symbols = ['src/a.ts', 'typescript', [['a', 'function', 2n ** 53n, 2n ** 53n]], 's', id32(1)];
  const lines = chunkOfRecords([recordWithTs(id16(1), id16(2), encodeCanonical(5), 13, symbols)]);
  assert.throws(() => decodeChunk(lines), (e) => walError(e) && /symbols has a line number above 2\^53 - 1/.test((e as Error).message));
});

test('a record whose kind and issue id disagree (SPEC §1 context ids) is refused by every decode, though its id is right', async () => {
  // An issue kind under ff…ff would be listed as an issue; context under another id taken in and never seen.
  const { chunkOfRecords, misfiledRecords } = await import('../helpers/bad-records.js');
  for (const { what, record } of misfiledRecords(id16(2), 5)) {
    const bytes = chunkOfRecords([record]);
    const refused = (e: unknown) => walError(e) && / must be under | may not be under /.test((e as Error).message);
    assert.throws(() => decodeChunk(bytes, blake2b256(bytes)), refused, what);
    verifyChunk(bytes, blake2b256(bytes));
    assert.throws(() => decodeVerifiedChunk(bytes), refused, what);
    assert.equal(scanChunkRecords(bytes)?.length, 1, `${what}: left to decoding`);
  }
});
