import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fsckClean, git, gritAsync, gritOk, tempRepo } from '../helpers/repo.js';

async function createMany(repo: string, n: number, extra: string[], tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let k = 0; k < n; k++) {
    const r = await gritAsync(repo, ['issue', 'create', '--title', `${tag}-${k}`, '--json', ...extra]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    ids.push(r.json.data.issue_id);
  }
  return ids;
}

function assertLinearWal(repo: string, commits: number): void {
  assert.equal(git(repo, 'rev-list', '--count', 'refs/grit/wal').trim(), String(commits));
  assert.equal(git(repo, 'rev-list', '--merges', 'refs/grit/wal').trim(), '');
  fsckClean(repo);
}

test('8 actors x 50 creates at once: all 400 issues in every view, WAL linear', { timeout: 240_000 }, async () => {
  const repo = tempRepo();
  gritOk(repo, ['init', '--no-agents-md']);
  const actors = Array.from({ length: 8 }, () => gritOk(repo, ['actor', 'init']).actor.actor_id as string);
  // Eight writers, each a chain of separate CLI processes: far more contention than a person makes.
  const per = await Promise.all(actors.map((a, i) => createMany(repo, 50, ['--actor', a], `a${i}`)));
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
  gritOk(repo, ['init', '--no-agents-md']);
  const per = await Promise.all([createMany(repo, 40, [], 'p'), createMany(repo, 40, [], 'q')]);
  const ids = new Set(per.flat());
  assert.equal(ids.size, 80);
  assertLinearWal(repo, 80);
  const list = gritOk(repo, ['issue', 'list']);
  assert.deepEqual(new Set(list.issues.map((i: any) => i.issue_id)), ids);
  const rebuilt = gritOk(repo, ['rebuild']);
  assert.equal(rebuilt.event_count, 80);
  assert.deepEqual(gritOk(repo, ['issue', 'list']), list);
});
