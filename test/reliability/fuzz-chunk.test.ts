/**
 * Seeded fuzz of the chunk decoder (src/core/chunk.ts over cbor.ts): every hostile input is refused
 * with a wal_error (never another exception, never a crash), and memory stays bounded while
 * thousands of them go through. The check a snapshot's reader thread makes, followed by the decode
 * of what it passed (src/git/wal-read-ahead.ts), reaches the same verdict on every input. Rerun a
 * failure with the seed and case number it prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChunk, decodeVerifiedChunk, encodeChunk, verifyChunk } from '../../src/core/chunk.js';
import { GritError } from '../../src/core/errors.js';
import { blake2b256 } from '../../src/core/hash.js';
import { bytesEqual, toHex } from '../../src/core/hex.js';
import { rng } from '../helpers/random.js';
import { cborHead, FAMILIES, hostile, sampleEvents, withHeader, type Family } from './_hostile.js';

const SEED = Number(process.env.GRIT_FUZZ_SEED ?? 20240607);
/** Cases per family; 'amplification' inputs are large (up to 250 KB), so fewer of them. */
const PER_FAMILY: Record<Family, number> = {
  'random bytes': 1500,
  'random body': 1500,
  truncation: 1200,
  'bit flips': 2000,
  'huge length': 1000,
  '100 MB string': 500,
  'deep nesting': 500,
  'wrong types': 1700,
  amplification: 120,
};
const RSS_GROWTH_LIMIT = 160 << 20;

const original = new Map(sampleEvents().map((e) => [toHex(e.event_id), e]));

/** A flipped bit can land in a signature (not covered by the event id): the events are still the originals. */
function sameEventsApartFromSig(events: ReturnType<typeof decodeChunk>): boolean {
  return events.every((e) => {
    const o = original.get(toHex(e.event_id));
    return o !== undefined && bytesEqual(o.issue_id, e.issue_id) && o.ts_unix_ms === e.ts_unix_ms && o.kind.type === e.kind.type;
  });
}

/** What the two-thread path makes of a chunk whose hash is right: the verdict a plain decode gives. */
function twoThreadVerdict(input: Uint8Array): string {
  try {
    verifyChunk(input, blake2b256(input));
    return sameEventsApartFromSig(decodeVerifiedChunk(input)) ? 'decoded to the original events' : 'accepted something else';
  } catch (err) {
    if (err instanceof GritError && err.code === 'wal_error') return 'wal_error';
    throw err;
  }
}

test(`chunk decoder fuzz: ${Object.values(PER_FAMILY).reduce((a, b) => a + b, 0)} seeded hostile inputs, all refused with wal_error, memory bounded`, () => {
  const rand = rng(SEED);
  const rss0 = process.memoryUsage().rss;
  let peak = 0;
  let cases = 0;
  const outcomes: Record<string, number> = {};
  for (const family of FAMILIES) {
    for (let i = 0; i < PER_FAMILY[family]; i++) {
      const input = hostile(family, rand);
      cases++;
      let outcome: string;
      try {
        const events = decodeChunk(input);
        assert.ok(family === 'bit flips' && sameEventsApartFromSig(events), `${family} #${i} (seed ${SEED}) was accepted`);
        outcome = 'decoded to the original events';
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        assert.ok(err instanceof GritError, `${family} #${i} (seed ${SEED}) threw ${(err as Error)?.stack ?? err}`);
        assert.equal(err.code, 'wal_error', `${family} #${i}: ${err.message}`);
        outcome = 'wal_error';
      }
      assert.equal(twoThreadVerdict(input), outcome, `${family} #${i} (seed ${SEED}): the reader thread's check disagrees`);
      outcomes[`${family}: ${outcome}`] = (outcomes[`${family}: ${outcome}`] ?? 0) + 1;
      if (cases % 250 === 0) peak = Math.max(peak, process.memoryUsage().rss - rss0);
    }
  }
  peak = Math.max(peak, process.memoryUsage().rss - rss0);
  assert.ok(cases >= 10_000, `${cases} cases`);
  assert.ok(peak < RSS_GROWTH_LIMIT, `rss grew by ${(peak / 2 ** 20).toFixed(0)} MiB`);
  // Every family really produced refusals (a generator that silently made valid chunks would not).
  for (const family of FAMILIES) assert.ok((outcomes[`${family}: wal_error`] ?? 0) > PER_FAMILY[family] * 0.9, `${family}: ${JSON.stringify(outcomes)}`);
  console.log(`# ${cases} cases, rss growth peak ${(peak / 2 ** 20).toFixed(1)} MiB`, JSON.stringify(outcomes));
});

test('oracle check: the untouched chunk decodes to the sample events, so the fuzz is not refusing everything', () => {
  const chunk = encodeChunk(sampleEvents());
  const back = decodeChunk(chunk.bytes, chunk.hash);
  assert.deepEqual(back.map((e) => toHex(e.event_id)), [...original.keys()]);
  assert.ok(sameEventsApartFromSig(back));
});

test('a 4 MB chunk of one-byte items (empty byte strings, arrays) is refused without taking 20x its size in memory', () => {
  const n = 4_000_000;
  for (const item of [0x40, 0x80]) {
    const body = new Uint8Array(5 + n).fill(item);
    body.set(cborHead(4, n, 4), 0);
    const rss0 = process.memoryUsage().rss;
    // Before the decode budget, the byte strings took 800 MB (about 200 bytes of heap each).
    assert.throws(() => decodeChunk(withHeader(body)), (e: unknown) => e instanceof GritError && e.code === 'wal_error' && /memory/.test(e.message));
    const growth = process.memoryUsage().rss - rss0;
    assert.ok(growth < 20 * n, `rss grew by ${(growth / 2 ** 20).toFixed(0)} MiB`);
  }
});
