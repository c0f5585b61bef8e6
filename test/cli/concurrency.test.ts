import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fsckClean, git, gritOk, tempRepo, gritInit } from '../helpers/repo.js';

const WRITER = fileURLToPath(new URL('../helpers/create-many.js', import.meta.url));

/** A writer that could not open the store (and wrote nothing): see test/helpers/create-many.ts. */
const OPEN_FAILED = 75;

/** One separate writer process creating `n` issues; resolves with their ids. */
function createMany(repo: string, n: number, tag: string, actor?: string, attempts = 3): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const args = [WRITER, repo, String(n), tag, ...(actor ? [actor] : [])];
    execFile(process.execPath, args, (err, stdout, stderr) => {
      if (err?.code === OPEN_FAILED && attempts > 1) resolve(createMany(repo, n, tag, actor, attempts - 1));
      else if (err) reject(new Error(`writer ${tag} failed: ${stderr}`));
      else resolve(stdout.trim().split('\n'));
    });
  });
}

function assertLinearWal(repo: string, commits: number): void {
  assert.equal(git(repo, 'rev-list', '--count', 'refs/grit/wal').trim(), String(commits));
  assert.equal(git(repo, 'rev-list', '--merges', 'refs/grit/wal').trim(), '');
  fsckClean(repo);
}

test('8 actors x 50 creates at once: all 400 issues in every view, WAL linear', { timeout: 240_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const actors = Array.from({ length: 8 }, () => gritOk(repo, ['actor', 'init']).actor.actor_id as string);
  const per = await Promise.all(actors.map((a, i) => createMany(repo, 50, `a${i}`, a)));
  const ids = new Set(per.flat());
  assert.equal(ids.size, 400);
  assertLinearWal(repo, 400);
  for (const a of actors) {
    const list = gritOk(repo, ['issue', 'list', '--actor', a]);
    assert.equal(list.total, 400);
    assert.deepEqual(new Set(list.issues.map((i: any) => i.issue_id)), ids);
  }
});

test('two processes on the same actor: no lost event, store consistent', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const per = await Promise.all([createMany(repo, 50, 'p'), createMany(repo, 50, 'q')]);
  const ids = new Set(per.flat());
  assert.equal(ids.size, 100);
  assertLinearWal(repo, 100);
  const list = gritOk(repo, ['issue', 'list']);
  assert.deepEqual(new Set(list.issues.map((i: any) => i.issue_id)), ids);
  const rebuilt = gritOk(repo, ['rebuild']);
  assert.equal(rebuilt.event_count, 100);
  assert.deepEqual(gritOk(repo, ['issue', 'list']), list);
});
