import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { FrameDecoder, encodeHandshake, encodeFrameHeader, parseHandshake, SP_PROTO, TransportError } from '../../src/protocol/transport/index.js';

test('handshake bytes match the SP RFC layout', () => {
  assert.deepEqual(encodeHandshake(SP_PROTO.REQ), Buffer.from([0, 0x53, 0x50, 0, 0, 0x30, 0, 0]));
  assert.deepEqual(encodeHandshake(SP_PROTO.REP), Buffer.from([0, 0x53, 0x50, 0, 0, 0x31, 0, 0]));
  assert.equal(parseHandshake(encodeHandshake(SP_PROTO.SUB)), 0x21);
  for (const bad of [[1, 0x53, 0x50, 0, 0, 0x30, 0, 0], [0, 0x53, 0x50, 0, 0, 0x30, 0, 1], [0, 0x53, 0x51, 0, 0, 0x30, 0, 0]]) {
    assert.throws(() => parseHandshake(Buffer.from(bad)), (e: unknown) => e instanceof TransportError && e.code === 'protocol');
  }
  assert.deepEqual(encodeFrameHeader(258, false), Buffer.from([0, 0, 0, 0, 0, 0, 1, 2]));
  assert.deepEqual(encodeFrameHeader(258, true), Buffer.from([1, 0, 0, 0, 0, 0, 0, 1, 2]));
});

for (const ipc of [false, true]) {
  test(`decoder reassembles frames split at arbitrary points (${ipc ? 'ipc' : 'tcp'})`, () => {
    const msgs = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? Buffer.alloc(0) : randomBytes(randomInt(1, 3000))));
    const stream = Buffer.concat([encodeHandshake(SP_PROTO.REQ), ...msgs.flatMap((m) => [encodeFrameHeader(m.length, ipc), m])]);
    for (const maxChunk of [1, 7, 100, 70_000]) {
      const dec = new FrameDecoder(ipc, 4096);
      const out: Buffer[] = [];
      let proto = -1;
      let off = 0;
      while (off < stream.length) {
        const n = Math.min(stream.length - off, randomInt(1, maxChunk + 1));
        dec.feed(stream.subarray(off, off + n), { handshake: (p) => (proto = p), message: (m) => out.push(m) });
        off += n;
      }
      assert.equal(proto, SP_PROTO.REQ);
      assert.equal(out.length, msgs.length);
      out.forEach((m, i) => assert.deepEqual(m, msgs[i]));
      assert.equal(dec.partial, false);
      assert.equal(dec.framesCompleted, msgs.length);
    }
  });
}

test('decoder rejects an oversized declared length from the header alone', () => {
  const dec = new FrameDecoder(false, 1000);
  const sink = { handshake: () => {}, message: () => assert.fail('no message expected') };
  dec.feed(encodeHandshake(SP_PROTO.REQ), sink);
  assert.throws(() => dec.feed(encodeFrameHeader(1001, false), sink), (e: unknown) => e instanceof TransportError && e.code === 'too_large');
  const dec2 = new FrameDecoder(false, 1000);
  dec2.feed(encodeHandshake(SP_PROTO.REQ), sink);
  const huge = Buffer.alloc(8);
  huge.writeBigUInt64BE(2n ** 63n + 5n);
  assert.throws(() => dec2.feed(huge, sink), (e: unknown) => e instanceof TransportError && e.code === 'too_large');
});

test('with oversizedHead, an oversized frame is read to its end holding only its head, and decoding goes on', () => {
  const dec = new FrameDecoder(true, 1000, 5);
  const out: Buffer[] = [];
  const skipped: Array<[Buffer, number]> = [];
  let held = 0;
  const sink = { handshake: () => {}, message: (m: Buffer) => out.push(m), oversized: (h: Buffer, n: number) => skipped.push([h, n]) };
  const big = randomBytes(300_000);
  const stream = Buffer.concat([encodeHandshake(SP_PROTO.REQ), encodeFrameHeader(big.length, true), big, encodeFrameHeader(3, true), Buffer.from('abc')]);
  for (let off = 0; off < stream.length; off += 999) {
    dec.feed(stream.subarray(off, off + 999), sink);
    held = Math.max(held, dec.bufferedBytes);
  }
  assert.ok(held <= 9, `held ${held} bytes of a 300 kB frame`);
  assert.deepEqual(skipped, [[big.subarray(0, 5), big.length]]);
  assert.deepEqual(out, [Buffer.from('abc')]);
  assert.equal(dec.partial, false);
  // A length no sender could mean still ends the connection.
  const huge = Buffer.alloc(9);
  huge[0] = 1;
  huge.writeBigUInt64BE(2n ** 63n, 1);
  assert.throws(() => dec.feed(huge, sink), (e: unknown) => e instanceof TransportError && e.code === 'too_large');
});
