/** Many concurrent clients against one daemon: nothing lost, nothing doubled, WALs linear. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { git, gritOk, fsckClean, tempRepo, gritInit, gritLib } from '../helpers/repo.js';
import { startDaemon } from '../helpers/daemon.js';
import type { GritClient } from '../../src/protocol/client.js';

const CLIENTS = 64;
const WRITES = 50;

test(`${CLIENTS} clients x ${WRITES} writes across 4 actors in 2 repos`, async () => {
  const daemon = await startDaemon();
  try {
    const repos = [tempRepo(), tempRepo()];
    const actors: string[][] = [];
    for (const dir of repos) {
      const a: string = (await gritInit(dir)).actor.actor_id;
      const b: string = (await gritLib(dir, 'ActorInit', { label: 'second' })).actor.actor_id;
      actors.push([a, b]);
    }
    const clients: GritClient[] = await Promise.all(Array.from({ length: CLIENTS }, () => daemon.client()));
    const acked = new Map<string, Set<string>>(repos.map((r) => [r, new Set()]));
    await Promise.all(
      clients.map(async (client, i) => {
        const repoRoot = repos[i % 2];
        const actorId = actors[i % 2][(i >> 1) % 2];
        for (let n = 0; n < WRITES; n++) {
          const { issue_id } = await client.issueCreate({ title: `c${i} n${n}` }, { repoRoot, actorId });
          acked.get(repoRoot)!.add(issue_id);
        }
      }),
    );
    for (const c of clients) c.close();
    const perRepo = (CLIENTS / 2) * WRITES;
    for (const [r, dir] of repos.entries()) {
      assert.equal(acked.get(dir)!.size, perRepo, 'every acknowledged id distinct');
      assert.equal(git(dir, 'rev-list', '--merges', 'refs/grit/wal').trim(), '', 'WAL linear');
      fsckClean(dir);
      for (const actor of actors[r]) {
        const { issues, total } = gritOk(dir, ['issue', 'list', '--actor', actor]);
        assert.equal(total, perRepo, `actor ${actor} sees every issue once`);
        const ids = new Set(issues.map((i: { issue_id: string }) => i.issue_id));
        for (const id of acked.get(dir)!) assert.ok(ids.has(id), `acknowledged ${id} present`);
      }
      const stats = gritOk(dir, ['db', 'stats']);
      assert.equal(stats.event_count, perRepo);
      // group commit: far fewer WAL commits than events
      const commits = Number(git(dir, 'rev-list', '--count', 'refs/grit/wal').trim());
      assert.ok(commits < perRepo / 4, `${commits} commits for ${perRepo} events: writes were not grouped`);
      console.log(`# ${dir}: ${perRepo} events in ${commits} WAL commits`);
    }
  } finally {
    await daemon.stop();
  }
});
