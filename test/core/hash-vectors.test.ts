import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { computeEventId, preimage, kindFromPayload } from '../../src/core/event.js';
import { KIND_BY_TAG } from '../../src/core/kinds.js';
import { fromHex, toHex } from '../../src/core/hex.js';
import { fixture } from '../helpers/paths.js';
import { blake2b128, blake2b256, loadFastHash } from '../../src/core/hash.js';

interface Vector {
  name: string;
  fields: Record<string, string>;
  preimage_hex: string;
  event_id_hex: string;
}

const strip = (s: string) => s.replace(/^`|`$/g, '');
const vectors: Vector[] = JSON.parse(readFileSync(fixture('hash-vectors.json'), 'utf8')).vectors;

test('there are ten vectors', () => assert.equal(vectors.length, 10));

// Each vector twice: with the JS BLAKE2b (before the WebAssembly one loads) and with the WebAssembly one.
for (const [impl, before] of [['JS', () => {}], ['WebAssembly', loadFastHash]] as const) for (const v of vectors) {
  test(`hash vector ${v.name} (${impl} BLAKE2b)`, async () => {
    await before();
    const f = v.fields;
    const tag = Number(f.kind_tag.split(' ')[0]);
    const spec = KIND_BY_TAG.get(tag)!;
    const raw = JSON.parse(strip(f.kind_payload).replace('<sha256>', JSON.stringify(strip(f.sha256 ?? '')))) as unknown[];
    const payload = raw.map((value, i) => (spec.fields[i][1] === 'hash32' ? fromHex(value as string, 32) : value));
    const parent = f.parent === 'null' ? null : fromHex(strip(f.parent), 32);
    const e = {
      issue_id: fromHex(strip(f.issue_id), 16)!,
      actor: fromHex(strip(f.actor), 16)!,
      ts_unix_ms: Number(f.ts_unix_ms),
      parent,
      kind: kindFromPayload(tag, payload),
    };
    assert.equal(toHex(preimage(e)), v.preimage_hex);
    assert.equal(toHex(computeEventId(e)), v.event_id_hex);
  });
}

test('the WebAssembly BLAKE2b-256 equals the JS one on inputs of every size class', async () => {
  const { blake2b } = await import('@noble/hashes/blake2.js');
  await loadFastHash();
  for (const n of [0, 1, 127, 128, 129, 255, 256, 1000, 65_536, 1_000_003]) {
    const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255);
    assert.equal(toHex(blake2b256(data)), toHex(blake2b(data, { dkLen: 32 })), `${n} bytes`);
    // BLAKE2b-128 (context issue ids) is its own hash, not a truncated BLAKE2b-256.
    assert.equal(toHex(blake2b128(data)), toHex(blake2b(data, { dkLen: 16 })), `${n} bytes, 128 bits`);
  }
});

test('an event whose text holds a lone surrogate is refused by the encoder (UTF-8 would get U+FFFD, the store the surrogate); a pair encodes as UTF-8', () => {
  const e = (title: string) => ({ issue_id: new Uint8Array(16), actor: new Uint8Array(16).fill(1), ts_unix_ms: 1, parent: null, kind: { type: 'IssueCreated' as const, title, body: '', labels: [] } });
  for (const title of ['lone \ud800 x', 'cut \ud83d', '\udc00 low first', 'pair reversed \ude00\ud83d']) {
    assert.throws(() => preimage(e(title)), (err: any) => {
      assert.equal(err.code, 'invalid_args');
      assert.match(err.message, /lone surrogate \(U\+D[89A-F][0-9A-F]{2}\) is not valid UTF-8/);
      return true;
    }, JSON.stringify(title));
  }
  const pair = preimage(e('emoji \ud83d\ude00 ok'));
  assert.ok(Buffer.from(pair).includes(Buffer.from('emoji 😀 ok', 'utf8')));
});
