import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WAIT_MS, until } from '../helpers/wait.js';
import { join } from 'node:path';
import {
  RepServer,
  ReqClient,
  PubServer,
  TransportError,
  parseEndpoint,
  type RequestInfo,
} from '../../src/protocol/transport/index.js';
import { runDir, freePort, sleep, rawReqPeer } from './_helpers.js';

const rd = runDir();
after(() => rd.cleanup());

test('parseEndpoint accepts ipc and tcp, rejects everything else clearly', () => {
  assert.deepEqual(parseEndpoint('ipc:///run/grit/d.sock'), { kind: 'ipc', path: '/run/grit/d.sock', url: 'ipc:///run/grit/d.sock' });
  assert.deepEqual(parseEndpoint('tcp://127.0.0.1:5555'), { kind: 'tcp', host: '127.0.0.1', port: 5555, url: 'tcp://127.0.0.1:5555' });
  assert.equal((parseEndpoint('tcp://[::1]:80') as { host: string }).host, '::1');
  assert.equal((parseEndpoint('tcp://localhost:0') as { port: number }).port, 0);
  for (const bad of ['ipc://relative/x', 'ipc://', 'tcp://host', 'tcp://h:99999', 'ws://h:1/', 'inproc://x', '', 'ipc:///' + 'a'.repeat(200)]) {
    assert.throws(
      () => parseEndpoint(bad),
      (e: unknown) => e instanceof TransportError && e.code === 'invalid_url' && e.message.length > 10,
      bad,
    );
  }
});

function echoJson(body: Buffer): Buffer {
  const v = JSON.parse(body.toString()) as { i: number };
  return Buffer.from(JSON.stringify({ i: v.i, r: `reply-${v.i}` }));
}

for (const kind of ['ipc', 'tcp'] as const) {
  describe(`REQ <-> REP over ${kind}`, () => {
    let url: string;
    before(async () => {
      url = kind === 'ipc' ? `ipc://${join(rd.dir, 'rr.sock')}` : `tcp://127.0.0.1:${await freePort()}`;
    });

    test('200 concurrent requests on one connection, replied in reverse order', async () => {
      const held: Array<{ body: Buffer; reply: (b: Buffer) => boolean; info: RequestInfo }> = [];
      const replyOrder: number[] = [];
      const srv = await RepServer.listen(
        url,
        (body, reply, info) => {
          held.push({ body, reply, info });
          if (held.length === 200) {
            for (const h of held.reverse()) {
              replyOrder.push((JSON.parse(h.body.toString()) as { i: number }).i);
              assert.equal(h.reply(echoJson(h.body)), true);
            }
          }
        },
        { maxInFlightPerConnection: 256 },
      );
      try {
        assert.equal(srv.url, url);
        const c = await ReqClient.connect(url);
        const replies = await Promise.all(
          Array.from({ length: 200 }, (_, i) => c.request(Buffer.from(JSON.stringify({ i })), { timeoutMs: 5_000 })),
        );
        replies.forEach((r, i) => assert.deepEqual(JSON.parse(r.toString()), { i, r: `reply-${i}` }));
        // replies really went out of order, and all came over one connection
        assert.notDeepEqual(replyOrder, [...replyOrder].sort((a, b) => a - b));
        assert.equal(new Set(held.map((h) => h.info.connectionId)).size, 1);
        assert.equal(new Set(held.map((h) => h.info.requestId)).size, 200);
        assert.ok(held.every((h) => (h.info.requestId & 0x80000000) !== 0));
        assert.equal(srv.connectionCount, 1);
        assert.equal(c.pending, 0);
        c.close();
      } finally {
        await srv.close();
      }
    });

    test('with an oversized handler, a request over the limit is answered and its connection goes on', async () => {
      const refused: Array<{ bytes: number; head: string; info: RequestInfo }> = [];
      const srv = await RepServer.listen(url, (body, reply) => void reply(Buffer.concat([Buffer.from('re:'), body])), {
        maxMessageSize: 64 * 1024,
        oversized: ({ bytes, head }, reply, info) => {
          refused.push({ bytes, head: head.toString(), info });
          reply(Buffer.from(`too large: ${bytes}`));
        },
      });
      let drops = 0;
      srv.on('disconnect', () => drops++);
      try {
        const c = await ReqClient.connect(url, { maxMessageSize: 4 * 1024 * 1024 });
        const big = Buffer.alloc(1024 * 1024, '{');
        const replies = await Promise.all(
          [Buffer.from('a'), big, Buffer.from('b')].map((b) => c.request(b, { timeoutMs: 5_000 })),
        );
        assert.deepEqual(replies.map(String), ['re:a', `too large: ${big.length + 4}`, 're:b']);
        assert.equal(refused.length, 1);
        assert.match(refused[0].head, /^\{+$/, 'the body\'s first bytes are kept');
        assert.ok(refused[0].head.length >= 1 && refused[0].head.length <= 29, `${refused[0].head.length} bytes kept`);
        assert.equal(await c.request(Buffer.from('c')).then(String), 're:c');
        assert.equal(srv.connectionCount, 1);
        assert.equal(drops, 0);
        c.close();
      } finally {
        await srv.close();
      }
    });

    test('200 concurrent requests with random reply delays and a small in-flight limit', async () => {
      let concurrent = 0;
      let maxConcurrent = 0;
      const srv = await RepServer.listen(
        url,
        (body, reply) => {
          concurrent++;
          maxConcurrent = Math.max(maxConcurrent, concurrent);
          setTimeout(() => {
            concurrent--;
            reply(echoJson(body));
          }, Math.floor(Math.random() * 15));
        },
        { maxInFlightPerConnection: 16 },
      );
      try {
        const c = await ReqClient.connect(url);
        const replies = await Promise.all(
          Array.from({ length: 200 }, (_, i) => c.request(Buffer.from(JSON.stringify({ i })), { timeoutMs: 10_000 })),
        );
        replies.forEach((r, i) => assert.deepEqual(JSON.parse(r.toString()), { i, r: `reply-${i}` }));
        assert.ok(maxConcurrent <= 16, `in-flight limit exceeded: ${maxConcurrent}`);
        assert.ok(maxConcurrent > 1, 'requests were not processed concurrently');
        c.close();
      } finally {
        await srv.close();
      }
    });
  });
}

describe('REQ/REP behaviour', () => {
  const url = `ipc://${join(rd.dir, 'b.sock')}`;
  let srv: RepServer;
  const handlerErrors: unknown[] = [];
  before(async () => {
    srv = await RepServer.listen(url, async (body, reply) => {
      const cmd = body.toString();
      if (cmd === 'ignore') return;
      if (cmd === 'throw') throw new Error('boom');
      if (cmd.startsWith('slow:')) await sleep(Number(cmd.slice(5)));
      if (cmd === 'big') {
        assert.equal(reply(Buffer.alloc(5 * 1024 * 1024)), false); // over the 4 MiB default: refused, not sent
        assert.equal(reply(Buffer.from('small')), true);
        assert.equal(reply(Buffer.from('again')), false); // only one reply per request
        return;
      }
      reply(Buffer.concat([Buffer.from('ok:'), body]));
    });
    srv.on('handlerError', (e) => handlerErrors.push(e));
  });
  after(() => srv.close());

  test('empty and binary bodies round-trip', async () => {
    const c = await ReqClient.connect(url);
    assert.deepEqual(await c.request(Buffer.alloc(0)), Buffer.from('ok:'));
    const bin = Buffer.from([0, 255, 0x80, 0, 0, 0, 1]);
    assert.deepEqual(await c.request(bin), Buffer.concat([Buffer.from('ok:'), bin]));
    c.close();
  });

  test('request timeout rejects with code timeout; the connection stays usable', async () => {
    const c = await ReqClient.connect(url);
    const t0 = Date.now();
    await assert.rejects(c.request(Buffer.from('ignore'), { timeoutMs: 100 }), (e: unknown) => e instanceof TransportError && e.code === 'timeout');
    assert.ok(Date.now() - t0 < 1_000);
    // a late reply to a timed-out request must not be delivered to a later one
    const late = c.request(Buffer.from('slow:200'), { timeoutMs: 50 });
    await assert.rejects(late, (e: unknown) => e instanceof TransportError && e.code === 'timeout');
    await sleep(250);
    assert.deepEqual(await c.request(Buffer.from('x')), Buffer.from('ok:x'));
    c.close();
  });

  test('a throwing handler does not break the server', async () => {
    const c = await ReqClient.connect(url);
    const n = handlerErrors.length;
    await assert.rejects(c.request(Buffer.from('throw'), { timeoutMs: 100 }), (e: unknown) => e instanceof TransportError && e.code === 'timeout');
    assert.equal(handlerErrors.length, n + 1);
    assert.deepEqual(await c.request(Buffer.from('y')), Buffer.from('ok:y'));
    c.close();
  });

  test('oversized replies are refused by reply(); oversized requests rejected locally', async () => {
    const c = await ReqClient.connect(url);
    assert.deepEqual(await c.request(Buffer.from('big')), Buffer.from('small'));
    await assert.rejects(c.request(Buffer.alloc(4 * 1024 * 1024)), (e: unknown) => e instanceof TransportError && e.code === 'too_large');
    c.close();
  });

  test('pending requests reject with a TransportError when the connection drops', async () => {
    const c = await ReqClient.connect(url);
    const p = c.request(Buffer.from('ignore'), { timeoutMs: 5_000 });
    const p2 = c.request(Buffer.from('slow:300'), { timeoutMs: 5_000 });
    await sleep(20);
    c.close();
    for (const x of [p, p2]) await assert.rejects(x, (e: unknown) => e instanceof TransportError && e.code === 'closed');
    await assert.rejects(c.request(Buffer.from('z')), (e: unknown) => e instanceof TransportError && e.code === 'closed');
    assert.equal(c.closed, true);
  });

  test('server-side close rejects the client pending requests', async () => {
    const u2 = `ipc://${join(rd.dir, 'b2.sock')}`;
    const s2 = await RepServer.listen(u2, () => {});
    const c = await ReqClient.connect(u2);
    const p = c.request(Buffer.from('never'), { timeoutMs: 5_000 });
    await sleep(20);
    await s2.close();
    await assert.rejects(p, (e: unknown) => e instanceof TransportError && e.code === 'closed');
  });

  test('close({drain:true}) waits for in-flight replies', async () => {
    const u3 = `tcp://127.0.0.1:0`;
    // The reply is held until the test lets it go: the close is seen waiting for it, however slow the host.
    let arrived!: () => void;
    const arrival = new Promise<void>((r) => (arrived = r));
    let answer!: () => void;
    const s3 = await RepServer.listen(u3, (b, reply) => {
      answer = () => reply(b);
      arrived();
    });
    assert.match(s3.url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(s3.url, u3);
    const c = await ReqClient.connect(s3.url);
    const p = c.request(Buffer.from('late'), { timeoutMs: WAIT_MS });
    await arrival;
    assert.equal(s3.inFlight, 1);
    const drained = s3.drain(WAIT_MS);
    let closed = false;
    const closing = s3.close({ drain: true }).then(() => (closed = true));
    // A close that did not wait would be done within a few turns of the event loop.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(closed, false, 'close waits for the reply in flight');
    answer();
    await closing;
    assert.equal(await drained, true);
    assert.deepEqual(await p, Buffer.from('late'));
    await assert.rejects(ReqClient.connect(s3.url, { connectTimeoutMs: 500 }), (e: unknown) => e instanceof TransportError && e.code === 'ECONNREFUSED');
  });

  test('connect errors are typed', async () => {
    await assert.rejects(ReqClient.connect(`ipc://${join(rd.dir, 'nothing.sock')}`), (e: unknown) => e instanceof TransportError && e.code === 'ENOENT');
    const port = await freePort();
    await assert.rejects(ReqClient.connect(`tcp://127.0.0.1:${port}`), (e: unknown) => e instanceof TransportError && e.code === 'ECONNREFUSED');
    await assert.rejects(ReqClient.connect('http://x'), (e: unknown) => e instanceof TransportError && e.code === 'invalid_url');
  });

  test('a REQ client refuses a peer that is not REP', async () => {
    const pub = await PubServer.listen(`ipc://${join(rd.dir, 'pub.sock')}`);
    try {
      await assert.rejects(ReqClient.connect(pub.url), (e: unknown) => e instanceof TransportError && e.code === 'protocol');
    } finally {
      await pub.close();
    }
  });
});

test('a request sent again on its connection while unanswered (nng REQ\'s resend) is not run again: its one reply answers it; once answered, a repeat is new', async () => {
  const held = new Map<string, () => void>();
  const handled: string[] = [];
  const srv = await RepServer.listen(`ipc://${join(rd.dir, 'resend.sock')}`, (body, reply) => {
    handled.push(body.toString());
    held.set(body.toString(), () => reply(Buffer.from(`re:${body}`)));
  });
  const dropped: string[] = [];
  srv.on('droppedRequest', (reason: string) => dropped.push(reason));
  const peer = await rawReqPeer(srv.url);
  try {
    const id = 0x80000007;
    peer.send([id], 'create');
    await until('the request handled', () => handled.length === 1);
    peer.send([id], 'create'); // the resend
    peer.send([0x80000008], 'other'); // another id
    peer.send([3, id], 'relayed'); // the same id behind a hop: another requester's
    await until('the other requests handled', () => handled.length === 3);
    assert.deepEqual(handled, ['create', 'other', 'relayed']);
    assert.deepEqual(dropped, ['resent']);
    for (const answer of held.values()) answer();
    await until('the replies', () => peer.replies.length === 3);
    // Each reply behind its request's backtrace.
    const replies = peer.replies.map((r) => `${r.toString('hex', 0, r.indexOf('re:'))} ${r.subarray(r.indexOf('re:'))}`);
    assert.deepEqual(replies.sort(), ['0000000380000007 re:relayed', '80000007 re:create', '80000008 re:other']);
    assert.equal(srv.inFlight, 0);

    // Answered: the same backtrace now comes from a REQ that sent a new request (nng resends only while waiting).
    peer.send([id], 'create');
    await until('the repeat handled', () => handled.length === 4);
    assert.deepEqual(dropped, ['resent']);
  } finally {
    peer.socket.destroy();
    await srv.close();
  }
});
