/**
 * Hostile clients against a real daemon: slow-loris peers, a thousand connections opened and
 * dropped, and other users. Valid clients keep being served and memory stays bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gritOk, tempRepo } from '../helpers/repo.js';
import { startDaemon } from '../helpers/daemon.js';
import { encodeHandshake, encodeFrameHeader, SP_PROTO } from '../../src/protocol/transport/index.js';
import { rawConnect, sleep } from '../transport/_helpers.js';

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

test('slow-loris peers and 1,000 dropped connections do not starve valid clients', async () => {
  const daemon = await startDaemon();
  const repo = tempRepo();
  gritOk(repo, ['init', '--no-agents-md']);
  try {
    const client = await daemon.client();
    await client.issueCreate({ title: 'warm' }, { repoRoot: repo });
    const pid = daemon.child!.pid!;
    const rssBefore = rssKb(pid);

    // 100 peers complete the handshake, send half a frame and stall.
    const stalled = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const s = await rawConnect(daemon.endpoint);
        s.on('error', () => {});
        s.write(encodeHandshake(SP_PROTO.REQ));
        s.write(Buffer.concat([encodeFrameHeader(1000, true), Buffer.alloc(10, 0x41)]));
        return s;
      }),
    );
    // 1,000 connections opened and dropped at once: half mid-handshake, half right away.
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const s = await rawConnect(daemon.endpoint).catch(() => null); // a refused hostile connect is fine
          if (!s) return;
          s.on('error', () => {});
          if (i % 2) s.write(encodeHandshake(SP_PROTO.REQ).subarray(0, 3));
          s.destroy();
        }),
      );
      const t0 = performance.now();
      assert.equal((await client.issueList({}, { repoRoot: repo })).total, 1);
      assert.ok(performance.now() - t0 < 2_000, 'a valid request is answered promptly');
    }
    await sleep(200);
    const growthMb = (rssKb(pid) - rssBefore) / 1024;
    assert.ok(growthMb < 64, `daemon RSS grew ${growthMb.toFixed(1)} MB`);
    const status = (await client.status()) as { requests: number };
    assert.ok(status.requests > 0);
    for (const s of stalled) s.destroy();
    client.close();
  } finally {
    await daemon.stop();
  }
});

test('the run directory is 0700, the socket and log 0600, and another user cannot connect', async (t) => {
  const daemon = await startDaemon();
  try {
    assert.equal(statSync(daemon.runDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(daemon.runDir, 'daemon.sock')).mode & 0o777, 0o600);
    await sleep(100);
    assert.equal(statSync(join(daemon.runDir, 'daemon.log')).mode & 0o777, 0o600);
    if (process.getuid?.() !== 0) return t.skip('not root: cannot switch to another user to try');
    const probe = `require('net').connect(${JSON.stringify(join(daemon.runDir, 'daemon.sock'))})
      .on('connect', () => { console.log('connected'); process.exit(0); })
      .on('error', (e) => { console.log(e.code); process.exit(0); })`;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', probe], {
      encoding: 'utf8',
    });
    if (r.error) return t.skip(`setpriv unavailable: ${r.error.message}`);
    assert.equal(r.stdout.trim(), 'EACCES', `another user got: ${r.stdout}${r.stderr}`);
  } finally {
    await daemon.stop();
  }
});
