import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fsckClean, git, grit, gritOk, tempRepo, gritInit } from '../helpers/repo.js';
import { GRIT_BIN } from '../helpers/paths.js';

const walCount = (repo: string) => Number(git(repo, 'rev-list', '--count', 'refs/grit/wal').trim());

test('SIGKILL after the commit objects are written, before the ref moves: the write is simply not there', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  gritOk(repo, ['issue', 'create', '--title', 'before']);
  const r = grit(repo, ['issue', 'create', '--title', 'lost', '--json'], { env: { GRIT_FAULT: 'wal:after-objects' } });
  assert.equal(r.code, -1, 'the process died by signal');
  assert.equal(walCount(repo), 1);
  fsckClean(repo); // dangling objects are fine; nothing is corrupt
  const list = gritOk(repo, ['issue', 'list']);
  assert.deepEqual(list.issues.map((i: any) => i.title), ['before']);
  gritOk(repo, ['issue', 'create', '--title', 'after']);
  assert.equal(walCount(repo), 2);
});

test('SIGKILL after the ref moved, before the store was updated: the next command catches up', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const r = grit(repo, ['issue', 'create', '--title', 'durable', '--json'], { env: { GRIT_FAULT: 'write:after-append' } });
  assert.equal(r.code, -1);
  assert.equal(walCount(repo), 1);
  const list = gritOk(repo, ['issue', 'list']);
  assert.deepEqual(list.issues.map((i: any) => i.title), ['durable']);
  fsckClean(repo);
});

test('SIGKILL at random moments across many appends: every acknowledged event survives', { timeout: 180_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const acked: string[] = [gritOk(repo, ['issue', 'create', '--title', 'seed']).issue_id];
  for (let k = 0; k < 16; k++) {
    const child = spawn(process.execPath, [GRIT_BIN, 'issue', 'create', '--title', `k${k}`, '--json'], {
      cwd: repo,
      env: { ...process.env, GRIT_NO_DAEMON: '1' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    // A create takes a few hundred ms; kill anywhere from start-up to after the reply.
    const delay = 50 + Math.floor(Math.random() * 700);
    const timer = setTimeout(() => child.kill('SIGKILL'), delay);
    await new Promise((res) => child.on('close', res));
    clearTimeout(timer);
    try {
      const reply = JSON.parse(out);
      if (reply.ok) acked.push(reply.data.issue_id);
    } catch {
      /* killed before it answered */
    }
  }
  const ids = new Set(gritOk(repo, ['issue', 'list']).issues.map((i: any) => i.issue_id));
  for (const id of acked) assert.ok(ids.has(id), `acknowledged issue ${id} is missing`);
  assert.equal(git(repo, 'rev-list', '--merges', 'refs/grit/wal').trim(), '');
  fsckClean(repo);
});
