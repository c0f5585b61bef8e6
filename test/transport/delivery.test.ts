/**
 * What a failed request says about its delivery (`written`: may the peer have run it?), and
 * back-pressure on replies: a peer that does not read them stalls its own requests only.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { RepServer, ReqClient, SP_PROTO, TransportError } from '../../src/protocol/transport/index.js';
import { rejectionOf } from '../helpers/rejection.js';
import { frame, rawConnect, runDir, sleep, spHandshake } from './_helpers.js';

const rd = runDir();
after(() => rd.cleanup());
let nextSock = 0;
const sockUrl = () => `ipc://${join(rd.dir, `d${nextSock++}.sock`)}`;

/**
 * A REP peer that answers the handshake and never reads: what a client sends stays in the
 * kernel's queue, as with a daemon that is stopped (SIGSTOP) or busy.
 */
async function deafPeer(url: string): Promise<{ server: Server; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer({ pauseOnConnect: true }, (s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.write(spHandshake(SP_PROTO.REP));
  });
  await new Promise<void>((r) => server.listen(url.slice('ipc://'.length), r));
  return { server, sockets };
}

const failure = (p: Promise<unknown>): Promise<TransportError> => rejectionOf(p, TransportError);

test('a peer that dies with the request unread: ECONNRESET, and the request counts as written', async () => {
  const url = sockUrl();
  const { server, sockets } = await deafPeer(url);
  try {
    const c = await ReqClient.connect(url, { requestTimeoutMs: 0 });
    const p = failure(c.request(Buffer.from('list')));
    await sleep(50);
    // Closing a Unix socket with unread data resets the connection (what a kill -9 does).
    for (const s of sockets) s.destroy();
    const e = await p;
    assert.equal(e.code, 'ECONNRESET');
    assert.equal(e.written, true, 'the peer had it in its queue: it may have run it');
  } finally {
    server.close();
  }
});

test('written is known for each request: timeout, close in the same tick, a request not sent whole, after close', async () => {
  const url = sockUrl();
  const { server } = await deafPeer(url);
  try {
    const c = await ReqClient.connect(url, { requestTimeoutMs: 0, maxMessageSize: 32 * 1024 * 1024 });
    const timedOut = await failure(c.request(Buffer.from('a'), { timeoutMs: 30 }));
    assert.deepEqual([timedOut.code, timedOut.written], ['timeout', true]);
    const aborted = new AbortController();
    const abortedReq = failure(c.request(Buffer.from('b'), { signal: aborted.signal }));
    aborted.abort();
    assert.deepEqual([(await abortedReq).code, (await abortedReq).written], ['aborted', true]);
    // 16 MiB cannot all fit in the kernel's buffers while the peer reads nothing: part of it is
    // still in this process when the client closes, so the peer cannot have read it whole.
    const big = failure(c.request(Buffer.alloc(16 * 1024 * 1024)));
    await sleep(50);
    c.close();
    const bigErr = await big;
    assert.deepEqual([bigErr.code, bigErr.written], ['closed', false]);
    const after = await failure(c.request(Buffer.from('c')));
    assert.equal(after.written, false);

    // A small request is out at once: closing in the same tick does not make it unsent.
    const c2 = await ReqClient.connect(url, { requestTimeoutMs: 0 });
    const same = failure(c2.request(Buffer.from('d')));
    c2.close();
    assert.deepEqual([(await same).code, (await same).written], ['closed', true]);
  } finally {
    server.close();
  }
});

test('a peer that does not read its replies stalls its own requests, not the server', async () => {
  const url = sockUrl();
  const reply = Buffer.alloc(1024 * 1024, 7);
  let handled = 0;
  const srv = await RepServer.listen(
    url,
    (_body, send) => {
      handled++;
      send(reply);
    },
    { maxUnsentReplyBytes: 4 * 1024 * 1024, maxReplySize: 2 * 1024 * 1024 },
  );
  try {
    const n = 300;
    const slow = await rawConnect(url);
    slow.write(spHandshake(SP_PROTO.REQ));
    for (let i = 0; i < n; i++) {
      const id = Buffer.alloc(4);
      id.writeUInt32BE((0x80000000 | i) >>> 0);
      slow.write(frame(Buffer.concat([id, Buffer.from('show')]), true));
    }
    slow.pause(); // and reads nothing
    await sleep(300);
    // Each reply of 1 MiB is run only while less than 4 MiB waits in this process (plus what the
    // kernel holds): not all 300, whose replies would be 300 MiB here.
    assert.ok(handled < 20, `${handled} requests run for a peer that reads nothing`);
    const stalledAt = handled;

    const other = await ReqClient.connect(url);
    assert.equal((await other.request(Buffer.from('x'))).length, reply.length, 'another connection is served');
    other.close();

    // Once the peer reads, the rest run and every reply arrives.
    let bytes = 0;
    const header = 9 + 4; // ipc frame header + request id
    const all = new Promise<void>((resolve) => {
      slow.on('data', (d: Buffer) => {
        bytes += d.length;
        if (bytes >= n * (header + reply.length)) resolve();
      });
    });
    slow.resume();
    await all;
    assert.equal(handled, n + 1);
    assert.ok(stalledAt < n);
    slow.destroy();
  } finally {
    await srv.close();
  }
});
