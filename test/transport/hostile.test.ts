/**
 * Hostile / malformed input against a RepServer: each bad connection is
 * dropped, and the server keeps serving well-behaved clients.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { RepServer, ReqClient, TransportError } from '../../src/protocol/transport/index.js';
import { runDir, rawConnect, closedWithin, sleep, spHandshake, frame } from './_helpers.js';
import { until, WAIT_MS } from '../helpers/wait.js';

const REQ = 0x30;
const PUB = 0x20;
const MAX = 1024 * 1024;

for (const kind of ['ipc', 'tcp'] as const) {
  describe(`hostile input over ${kind}`, () => {
    const rd = runDir();
    const ipc = kind === 'ipc';
    let srv: RepServer;
    let url: string;
    let steady: ReqClient; // a well-behaved client connected throughout
    const drops: Array<TransportError | undefined> = [];
    let rss0 = 0;

    before(async () => {
      srv = await RepServer.listen(
        ipc ? `ipc://${join(rd.dir, 'h.sock')}` : 'tcp://127.0.0.1:0',
        (body, reply) => {
          reply(body.length > 1000 ? Buffer.from(`len:${body.length}`) : Buffer.concat([Buffer.from('re:'), body]));
        },
        { maxMessageSize: MAX, handshakeTimeoutMs: 800, frameTimeoutMs: 400 },
      );
      url = srv.url;
      srv.on('disconnect', (_id: number, err?: TransportError) => drops.push(err));
      steady = await ReqClient.connect(url);
      if (global.gc) global.gc();
      rss0 = process.memoryUsage().rss;
    });
    after(async () => {
      steady.close();
      await srv.close();
      rd.cleanup();
    });

    /** A fresh client and the long-lived one both still get answers (the timeouts bound a hang, not a speed). */
    async function assertServes(): Promise<void> {
      const c = await ReqClient.connect(url, { connectTimeoutMs: WAIT_MS });
      assert.equal((await c.request(Buffer.from('ping'), { timeoutMs: WAIT_MS })).toString(), 're:ping');
      c.close();
      assert.equal((await steady.request(Buffer.from('still'), { timeoutMs: WAIT_MS })).toString(), 're:still');
    }

    /** The code of the first connection dropped for a fault since `drops` had `mark` entries (clean disconnects have none), once there is one. */
    async function dropCode(mark: number): Promise<string | undefined> {
      await until('a connection dropped for a fault', () => drops.slice(mark).some(Boolean));
      return drops.slice(mark).find(Boolean)!.code;
    }

    test('random bytes instead of a handshake: dropped at once', async () => {
      const mark = drops.length;
      const s = await rawConnect(url);
      const junk = randomBytes(64);
      junk[1] = 0x00; // never a valid 'S'
      s.write(junk);
      // Its drop code shows it was dropped for what it sent, not by the handshake timeout: a
      // wall-clock limit would only add the host's load to what is checked.
      assert.ok((await closedWithin(s, WAIT_MS)) >= 0, 'closed');
      assert.equal(await dropCode(mark), 'protocol');
      await assertServes();
    });

    test('a valid handshake from the wrong protocol (PUB) is refused', async () => {
      const mark = drops.length;
      const s = await rawConnect(url);
      s.write(spHandshake(PUB));
      assert.ok((await closedWithin(s, WAIT_MS)) >= 0, 'closed');
      assert.equal(await dropCode(mark), 'protocol');
      await assertServes();
    });

    test('half a handshake, then silence: dropped by the handshake timeout', async () => {
      const mark = drops.length;
      const s = await rawConnect(url);
      s.write(spHandshake(REQ).subarray(0, 5));
      // Not before the timeout; after it, however late the host lets it fire (WAIT_MS bounds a hang).
      const ms = await closedWithin(s, WAIT_MS);
      assert.ok(ms >= 600, `closed after ${ms} ms, expected ~800`);
      assert.equal(await dropCode(mark), 'timeout');
      await assertServes();
    });

    test('a frame declaring 2^40 bytes is dropped without buffering', async () => {
      const mark = drops.length;
      const s = await rawConnect(url);
      s.write(Buffer.concat([spHandshake(REQ), frame(Buffer.from([0x80, 0, 0, 1, 0x41]), ipc, 2n ** 40n)]));
      // Dropped for its size (too_large), so without waiting for its bytes.
      assert.ok((await closedWithin(s, WAIT_MS)) >= 0, 'closed');
      assert.equal(await dropCode(mark), 'too_large');
      await assertServes();
    });

    test('a frame one byte over maxMessageSize is dropped; one at the limit is served', async () => {
      const mark = drops.length;
      const c = await ReqClient.connect(url, { maxMessageSize: 2 * MAX });
      const atLimit = Buffer.alloc(MAX - 4, 7);
      const r = await c.request(atLimit, { timeoutMs: WAIT_MS });
      assert.equal(r.toString(), `len:${MAX - 4}`);
      // the server drops the connection: 'closed', or ECONNRESET when our unread bytes make the kernel reset it
      await assert.rejects(
        c.request(Buffer.alloc(MAX - 3), { timeoutMs: WAIT_MS }),
        (e: unknown) => e instanceof TransportError && ['closed', 'ECONNRESET', 'EPIPE'].includes(e.code),
      );
      assert.equal(await dropCode(mark), 'too_large');
      await assertServes();
    });

    test('half a frame, then a stall: dropped by the frame timeout', async () => {
      const mark = drops.length;
      const s = await rawConnect(url);
      const f = frame(Buffer.concat([Buffer.from([0x80, 0, 0, 9]), Buffer.alloc(96)]), ipc);
      s.write(Buffer.concat([spHandshake(REQ), f.subarray(0, 20)]));
      const ms = await closedWithin(s, WAIT_MS);
      assert.ok(ms >= 300, `closed after ${ms} ms, expected ~400 (not before the frame timeout)`);
      assert.equal(await dropCode(mark), 'timeout');
      await assertServes();
    });

    test('a frame trickled one byte at a time (slow loris) is dropped', async () => {
      const mark = drops.length;
      const s = await rawConnect(url);
      s.write(spHandshake(REQ));
      const f = frame(Buffer.concat([Buffer.from([0x80, 0, 0, 9]), Buffer.alloc(200)]), ipc);
      let i = 0;
      const iv = setInterval(() => {
        if (!s.destroyed && i < f.length) s.write(f.subarray(i, ++i));
      }, 50);
      const ms = await closedWithin(s, WAIT_MS);
      clearInterval(iv);
      assert.ok(ms >= 300, `closed after ${ms} ms, expected ~400`);
      assert.equal(await dropCode(mark), 'timeout');
      await assertServes();
    });

    test('a request without a backtrace header is dropped; well-formed ones on other connections are not', async () => {
      const mark = drops.length;
      const s = await rawConnect(url);
      s.write(Buffer.concat([spHandshake(REQ), frame(Buffer.from([1, 2]), ipc)]));
      assert.ok((await closedWithin(s, WAIT_MS)) >= 0);
      assert.equal(await dropCode(mark), 'protocol');
      if (ipc) {
        const mark2 = drops.length;
        const s2 = await rawConnect(url);
        const bad = frame(Buffer.from([0x80, 0, 0, 1]), true);
        bad[0] = 0x02; // unknown ipc message type
        s2.write(Buffer.concat([spHandshake(REQ), bad]));
        assert.ok((await closedWithin(s2, WAIT_MS)) >= 0);
        assert.equal(await dropCode(mark2), 'protocol');
      }
      await assertServes();
    });

    test('a raw peer with a multi-hop backtrace gets the whole header back', async () => {
      const s = await rawConnect(url);
      const hdr = Buffer.from([0, 0, 0, 5, 0, 0, 0, 6, 0x80, 0, 0, 42]);
      s.write(Buffer.concat([spHandshake(REQ), frame(Buffer.concat([hdr, Buffer.from('hop')]), ipc)]));
      const want = Buffer.concat([spHandshake(0x31), frame(Buffer.concat([hdr, Buffer.from('re:hop')]), ipc)]);
      const got = await readBytes(s, want.length);
      assert.deepEqual(got, want);
      s.destroy();
    });

    // What the storm costs is measured in CPU time: the wall clock would measure the machine's load
    // too (this server and its clients share this process, so that is all of it).
    test('1,000 connections opened and dropped quickly; memory stays bounded', async () => {
      const cpu0 = process.cpuUsage();
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            let s: Socket;
            for (const deadline = Date.now() + WAIT_MS; ; ) {
              try {
                s = await rawConnect(url);
                break;
              } catch (e) {
                // a full unix-socket accept backlog answers EAGAIN until the server accepts: back off briefly
                if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) throw e;
                await sleep(5);
              }
            }
            s.on('error', () => {});
            const k = (batch * 50 + i) % 4;
            if (k === 1) s.write(spHandshake(REQ).subarray(0, 3));
            if (k === 2) s.write(Buffer.concat([spHandshake(REQ), frame(Buffer.alloc(0), ipc, BigInt(MAX))]).subarray(0, 30));
            if (k === 3) s.write(randomBytes(32));
            s.destroy();
          }),
        );
      }
      // every hostile connection is gone from the server's table
      await until(() => `only the steady client remaining (${srv.connectionCount} connections)`, () => srv.connectionCount === 1);
      await assertServes();
      if (global.gc) global.gc();
      const grown = (process.memoryUsage().rss - rss0) / 1024 / 1024;
      assert.ok(grown < 100, `rss grew by ${grown.toFixed(1)} MB`);
      const { user, system } = process.cpuUsage(cpu0);
      assert.ok(user + system < 4_000_000, `the storm took ${((user + system) / 1e6).toFixed(1)} s of CPU`);
    });
  });
}

describe('connection limit', () => {
  test('connections beyond maxConnections are closed on accept, then served again after others leave', async () => {
    const rd = runDir();
    const srv = await RepServer.listen(`ipc://${join(rd.dir, 'lim.sock')}`, (b, reply) => {
      reply(b);
    }, { maxConnections: 3 });
    let rejected = 0;
    srv.on('rejected', () => rejected++);
    try {
      const cs = await Promise.all([1, 2, 3].map(() => ReqClient.connect(srv.url)));
      await assert.rejects(ReqClient.connect(srv.url, { connectTimeoutMs: 1_000 }), (e: unknown) => e instanceof TransportError);
      assert.equal(rejected, 1);
      for (const c of cs) assert.equal((await c.request(Buffer.from('a'))).toString(), 'a');
      cs[0].close();
      for (let i = 0; i < 50 && srv.connectionCount > 2; i++) await sleep(10);
      const c4 = await ReqClient.connect(srv.url);
      assert.equal((await c4.request(Buffer.from('b'))).toString(), 'b');
      c4.close();
      for (const c of cs) c.close();
    } finally {
      await srv.close();
      rd.cleanup();
    }
  });
});

function readBytes(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const t = setTimeout(() => reject(new Error(`only ${got}/${n} bytes arrived`)), 2_000);
    s.on('data', (b: Buffer) => {
      parts.push(b);
      got += b.length;
      if (got >= n) {
        clearTimeout(t);
        resolve(Buffer.concat(parts).subarray(0, n));
      }
    });
  });
}
