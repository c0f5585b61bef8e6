import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PubServer, SubClient, RepServer, TransportError } from '../../src/protocol/transport/index.js';
import { runDir } from './_helpers.js';
import { until } from '../helpers/wait.js';

const rd = runDir();
after(() => rd.cleanup());

for (const kind of ['ipc', 'tcp'] as const) {
  test(`PUB -> SUB over ${kind} with client-side prefix filtering`, async () => {
    const pub = await PubServer.listen(kind === 'ipc' ? `ipc://${join(rd.dir, 'ps.sock')}` : 'tcp://127.0.0.1:0');
    try {
      const all = await SubClient.connect(pub.url, { topics: [''] });
      const issues = await SubClient.connect(pub.url, { topics: ['issue.'] });
      const none = await SubClient.connect(pub.url);
      const got = { all: [] as string[], issues: [] as string[], none: [] as string[] };
      all.on('message', (m: Buffer) => got.all.push(m.toString()));
      issues.on('message', (m: Buffer) => got.issues.push(m.toString()));
      none.on('message', (m: Buffer) => got.none.push(m.toString()));
      await until(() => `3 subscribers (${pub.subscriberCount})`, () => pub.subscriberCount === 3);
      for (const m of ['issue.1', 'actor.x', 'issue.2', 'iss']) assert.equal(pub.publish(Buffer.from(m)), 3);
      await until('the messages delivered', () => got.all.length >= 4 && got.issues.length >= 2);
      assert.deepEqual(got.all, ['issue.1', 'actor.x', 'issue.2', 'iss']);
      assert.deepEqual(got.issues, ['issue.1', 'issue.2']);
      assert.deepEqual(got.none, []);
      issues.unsubscribe('issue.');
      issues.subscribe('actor.');
      pub.publish(Buffer.from('actor.y'));
      pub.publish(Buffer.from('issue.3'));
      await until('the messages delivered', () => got.all.length >= 6 && got.issues.length >= 3);
      assert.deepEqual(got.issues, ['issue.1', 'issue.2', 'actor.y']);
      assert.throws(() => pub.publish(Buffer.alloc(5 * 1024 * 1024)), (e: unknown) => e instanceof TransportError && e.code === 'too_large');
      for (const c of [all, issues, none]) c.close();
    } finally {
      await pub.close();
    }
  });
}

test('a SUB client refuses a REP peer', async () => {
  const rep = await RepServer.listen(`ipc://${join(rd.dir, 'r.sock')}`, () => {});
  try {
    await assert.rejects(SubClient.connect(rep.url), (e: unknown) => e instanceof TransportError && e.code === 'protocol');
  } finally {
    await rep.close();
  }
});
