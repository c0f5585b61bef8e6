import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, deflateSync, inflateSync } from 'node:zlib';
import { inflateInto } from '../../src/git/inflate.js';
import { rng } from '../helpers/random.js';

const rand = rng(11);
const bytes = (n: number, alphabet: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * alphabet)));
const text = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => `tree ${i % 7} events/${i % 13}\n`).join('')).subarray(0, n);
const CONTENTS = [0, 1, 2, 17, 150, 600, 3000, 40_000, 100_000].flatMap((n) => [bytes(n, 256), bytes(n, 4), text(n), Buffer.alloc(n)]);
const STRATEGIES = [constants.Z_DEFAULT_STRATEGY, constants.Z_FILTERED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FIXED];

/** What zlib makes of `stream` when `size` bytes are declared (null: it refuses). */
function zlib(stream: Uint8Array, size: number): Buffer | null {
  try {
    const out = inflateSync(stream, { maxOutputLength: size + 1 });
    return out.length === size ? out : null;
  } catch {
    return null;
  }
}

function mine(stream: Uint8Array, size: number, start = 0): Buffer | null {
  const out = Buffer.alloc(start + size, 0xee);
  return inflateInto(stream, out, start) ? out.subarray(start) : null;
}

test('inflates what zlib deflates, at every level and strategy, and ignores what follows the stream', () => {
  for (const content of CONTENTS) {
    for (let level = 0; level <= 9; level++) {
      for (const strategy of level === 6 ? STRATEGIES : [constants.Z_DEFAULT_STRATEGY]) {
        const stream = deflateSync(content, { level, strategy });
        const label = `${content.length} bytes, level ${level}, strategy ${strategy}`;
        assert.deepEqual(mine(stream, content.length), content, label);
        assert.deepEqual(mine(Buffer.concat([stream, bytes(40, 256)]), content.length), content, `${label}, trailing bytes`);
        const out = Buffer.alloc(9 + content.length, 7);
        assert.ok(inflateInto(stream, out, 9), `${label}, at an offset`);
        assert.deepEqual(out.subarray(0, 9), Buffer.alloc(9, 7), `${label}: bytes before the offset untouched`);
        assert.deepEqual(out.subarray(9), content, `${label}, at an offset`);
      }
    }
  }
});

test('refuses a stream of another size than declared, truncated, or with a bad checksum', () => {
  for (const content of CONTENTS.filter((c) => c.length > 0)) {
    const stream = deflateSync(content);
    assert.equal(mine(stream, content.length - 1), null, 'one byte too many');
    assert.equal(mine(stream, content.length + 1), null, 'one byte short');
    for (const cut of [1, 2, 4, 5, Math.floor(stream.length / 2)]) assert.equal(mine(stream.subarray(0, stream.length - cut), content.length), null, `cut ${cut}`);
    const badSum = Buffer.from(stream);
    badSum[badSum.length - 1] ^= 1;
    assert.equal(mine(badSum, content.length), null, 'checksum');
  }
  assert.equal(mine(Buffer.from([0x78]), 0), null, 'no header');
  assert.equal(mine(Buffer.from([0x79, 0x9c, 3, 0, 0, 0, 0, 1]), 0), null, 'not deflate');
});

test('never accepts what zlib refuses, nor inflates to other bytes (bit flips and random streams)', () => {
  const streams = CONTENTS.filter((c) => c.length > 0 && c.length <= 3000).flatMap((c) => [0, 1, 6, 9].map((level) => ({ c, s: deflateSync(c, { level }) })));
  let accepted = 0;
  for (const { c, s } of streams) {
    for (let k = 0; k < 60; k++) {
      const bad = Buffer.from(s);
      const flips = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < flips; f++) bad[Math.floor(rand() * bad.length)] ^= 1 << Math.floor(rand() * 8);
      const got = mine(bad, c.length);
      if (!got) continue;
      accepted++;
      assert.deepEqual(got, zlib(bad, c.length), `flipped stream of ${c.length} bytes`);
    }
  }
  for (let k = 0; k < 2000; k++) {
    const junk = Buffer.concat([Buffer.from([0x78, 0x9c]), bytes(1 + Math.floor(rand() * 64), 256)]);
    const got = mine(junk, Math.floor(rand() * 200));
    if (got) assert.deepEqual(got, zlib(junk, got.length), 'random stream');
  }
  assert.ok(accepted < streams.length * 60, 'the flips were noticed');
});
