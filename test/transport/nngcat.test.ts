/**
 * Interop with nng's reference implementation via `nngcat` (Debian: nng-utils).
 * Fails if nngcat is missing, unless GRIT_SKIP_NNGCAT=1 (then skips).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { once } from 'node:events';
import { RepServer, ReqClient, PubServer, SubClient } from '../../src/protocol/transport/index.js';
import { runDir, freePort, sleep, nngcatAvailable, spawnNngcat, connectRetry } from './_helpers.js';

const rd = runDir();
after(() => rd.cleanup());

/** Our server's transform, so the reply cannot be a mere echo. */
function transform(body: Buffer): Buffer {
  const v = JSON.parse(body.toString()) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...v, seen: true, doubled: Number(v.x) * 2 }));
}

describe('nngcat interop', () => {
  for (const kind of ['ipc', 'tcp'] as const) {
    test(`nngcat --req (${kind}) gets our REP server's reply`, async (t) => {
      if (!nngcatAvailable()) return t.skip('GRIT_SKIP_NNGCAT=1 and nngcat not installed');
      const url = kind === 'ipc' ? `ipc://${join(rd.dir, 'rep-a.sock')}` : 'tcp://127.0.0.1:0';
      const seen: string[] = [];
      const srv = await RepServer.listen(url, (body, reply) => {
        seen.push(body.toString());
        // reply asynchronously, to exercise deferred replies with a real nng peer
        setTimeout(() => reply(transform(body)), 5);
      });
      try {
        const runs = [1, 2, 3].map((x) => spawnNngcat(['--req', '--dial', srv.url, '--data', JSON.stringify({ x }), '--raw', '--recv-timeout', '3']));
        const results = await Promise.all(runs.map((r) => r.done));
        results.forEach((r, i) => {
          assert.equal(r.code, 0, `nngcat exited ${r.code}/${r.signal}: ${r.stderr}`);
          assert.deepEqual(JSON.parse(r.stdout.toString()), { x: i + 1, seen: true, doubled: (i + 1) * 2 });
        });
        assert.deepEqual(seen.sort(), ['{"x":1}', '{"x":2}', '{"x":3}']);
      } finally {
        await srv.close();
      }
    });

    test(`our REQ client talks to nngcat --rep (${kind}), pipelined`, async (t) => {
      if (!nngcatAvailable()) return t.skip('GRIT_SKIP_NNGCAT=1 and nngcat not installed');
      const url = kind === 'ipc' ? `ipc://${join(rd.dir, 'nngcat-rep.sock')}` : `tcp://127.0.0.1:${await freePort()}`;
      const rep = spawnNngcat(['--rep', '--listen', url, '--data', '{"ok":true}', '--raw', '--count', '3']);
      try {
        const c = await connectRetry(() => ReqClient.connect(url));
        const bodies = ['{"q":1}', '{"q":2}', '{"q":3}'];
        const replies = await Promise.all(bodies.map((b) => c.request(Buffer.from(b), { timeoutMs: 3_000 })));
        for (const r of replies) assert.equal(r.toString(), '{"ok":true}');
        c.close();
        const res = await rep.done;
        assert.equal(res.code, 0, res.stderr);
        // nngcat printed the request bodies it received (raw, back to back, in order)
        assert.equal(res.stdout.toString(), bodies.join(''));
      } finally {
        rep.child.kill('SIGKILL');
      }
    });
  }

  test('nngcat --sub gets messages from our PUB server, filtered by topic', async (t) => {
    if (!nngcatAvailable()) return t.skip('GRIT_SKIP_NNGCAT=1 and nngcat not installed');
    const pub = await PubServer.listen(`ipc://${join(rd.dir, 'pub.sock')}`);
    const sub = spawnNngcat(['--sub', '--dial', pub.url, '--subscribe', 'grit.', '--count', '3', '--quoted']);
    const timer = setInterval(() => {
      pub.publish(Buffer.from('other.x'));
      pub.publish(Buffer.from('grit.a'));
    }, 20);
    try {
      const res = await sub.done;
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(res.stdout.toString().trim().split('\n'), ['"grit.a"', '"grit.a"', '"grit.a"']);
    } finally {
      clearInterval(timer);
      await pub.close();
    }
  });

  test('our SUB client gets messages from nngcat --pub, filtered by topic', async (t) => {
    if (!nngcatAvailable()) return t.skip('GRIT_SKIP_NNGCAT=1 and nngcat not installed');
    const url = `ipc://${join(rd.dir, 'nngcat-pub.sock')}`;
    const pub = spawnNngcat(['--pub', '--listen', url, '--data', 'grit.hello', '--interval', '1']);
    try {
      const yes = await connectRetry(() => SubClient.connect(url, { topics: ['grit.'] }));
      const no = await SubClient.connect(url, { topics: ['zzz'] });
      let wrong = 0;
      no.on('message', () => wrong++);
      const [m] = (await once(yes, 'message')) as [Buffer];
      assert.equal(m.toString(), 'grit.hello');
      await sleep(150);
      assert.equal(wrong, 0);
      yes.close();
      no.close();
    } finally {
      pub.child.kill('SIGKILL');
      await pub.done;
    }
  });
});
