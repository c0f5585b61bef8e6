import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { RepoContext } from '../../src/commands/context.js';
import { settledInOneGroup } from '../helpers/group-commit.js';
import { issueDepAdd, issueDepRemove } from '../../src/commands/deps.js';
import { runLocal } from '../../src/commands/run.js';
import type { DepEdge } from '../../src/core/deps.js';
import { describeCycle } from '../../src/core/dep-text.js';
import { startDaemon } from '../helpers/daemon.js';
import { grit, gritOk, tempRepo, gritInit, gritSetup, createdIssues, gritDoctor, gritLib, initedRepo } from '../helpers/repo.js';
import { assertTopo, distance, orderingPairs, seededIds, writeDag, type RandomDag } from './_dag.js';

/** One repository with 1,000 issues and a random DAG over them, shared by the tests below. */
let repo: string;
let dag: RandomDag;

before(async () => {
  repo = tempRepo();
  await gritInit(repo);
  const t0 = Date.now();
  dag = await writeDag(repo, seededIds(1000, 42), 42);
  console.log(`wrote 1000 issues and ${dag.edges.length} edges in ${Date.now() - t0} ms`);
});

test('1,000-issue random DAG: `issue dep topo` respects every edge, ties by issue id', () => {
  const t0 = Date.now();
  const topo = gritOk(repo, ['issue', 'dep', 'topo']);
  console.log(`issue dep topo over 1000 issues: ${Date.now() - t0} ms`);
  assert.equal(topo.total, 1000);
  assert.deepEqual(topo.cycles, []);
  assert.ok(orderingPairs(dag.edges).length > 1000);
  assertTopo(topo.order, dag.edges);
  const first = topo.order[0];
  assert.deepEqual(Object.keys(first).sort(), ['after', 'in_cycle', 'issue_id', 'labels', 'level', 'state', 'title']);
  // Filters keep the full order's relative order (a hidden issue still separates two listed ones).
  const third = gritOk(repo, ['issue', 'dep', 'topo', '--label', 'third']).order.map((o: any) => o.issue_id);
  const expected = topo.order.filter((o: any) => o.labels.includes('third')).map((o: any) => o.issue_id);
  assert.equal(third.length, 334);
  assert.deepEqual(third, expected);
  assert.equal(gritOk(repo, ['issue', 'dep', 'topo', '--state', 'closed']).total, 0);
  // Human output: one numbered row per issue, in the same order.
  const human = grit(repo, ['issue', 'dep', 'topo']).stdout.trim().split('\n');
  assert.equal(human.length, 1001);
  assert.match(human[1], new RegExp(`^1\\s+${topo.order[0].issue_id.slice(0, 8)}\\s+open\\s+0\\s+dag `));
  assert.match(human[1000], new RegExp(`^1000\\s+${topo.order[999].issue_id.slice(0, 8)}\\s`));
});

test('`issue dep topo` builds its items alike: one hidden class for all of them, as a listing is read fast (JSON, the table)', async () => {
  setFlagsFromString('--allow-natives-syntax');
  const sameClass = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
  const { order } = (await runLocal('IssueDepTopo', {}, { cwd: repo })) as { order: object[] };
  assert.equal(order.length, 1000);
  assert.equal(order.filter((item) => !sameClass(item, order[0])).length, 0);
});

test('an edge that would close a cycle is refused (conflict, exit 4) naming the cycle; related_to never is', () => {
  const pairs = orderingPairs(dag.edges);
  const known = new Set(pairs.map((p) => p.join(' ')));
  const before = gritOk(repo, ['issue', 'dep', 'topo']);
  let refused = 0;
  for (let i = 0; i < 1000 && refused < 3; i += 37) {
    for (let j = i + 5; j < 1000; j += 13) {
      const [early, late] = [dag.ranked[i], dag.ranked[j]];
      const back = distance(pairs, early, late);
      if (back === null || back < 2) continue;
      // "early depends_on late" (or "late blocks early") would put late before early.
      const type = refused % 2 ? ['depends_on', early, late] : ['blocks', late, early];
      const r = grit(repo, ['issue', 'dep', 'add', type[1].slice(0, 8), '--target', type[2].slice(0, 8), '--type', type[0], '--json']);
      assert.equal(r.code, 4, r.stdout);
      assert.equal(r.json.error.code, 'conflict');
      const cycle: string[] = r.json.error.details.cycle;
      assert.equal(cycle.length, back + 1, 'the shortest way back');
      assert.deepEqual(cycle.slice(0, 2), [late, early]);
      for (let k = 1; k < cycle.length; k++) assert.ok(known.has(`${cycle[k]} ${cycle[(k + 1) % cycle.length]}`));
      assert.ok(r.json.error.message.includes(describeCycle(cycle)), r.json.error.message);
      assert.equal(r.json.error.details.cycle_edges.length >= cycle.length - 1, true);
      const human = grit(repo, ['issue', 'dep', 'add', type[1], '--target', type[2], '--type', type[0]]);
      assert.equal(human.code, 4);
      assert.match(human.stderr, /would close the dependency cycle .* → /);
      assert.match(human.stderr, /hint: remove an edge of the cycle first \(e\.g\. `grit issue dep remove [0-9a-f]{32} --target [0-9a-f]{32} --type /);
      // The same two issues may always be related.
      for (const [x, y] of [[early, late], [late, early]]) {
        const ok = gritOk(repo, ['issue', 'dep', 'add', x, '--target', y, '--type', 'related_to']);
        assert.deepEqual([ok.issue_id, ok.target, ok.dep_type, ok.action], [x, y, 'related_to', 'added']);
      }
      refused++;
      break;
    }
  }
  assert.equal(refused, 3);
  const after = gritOk(repo, ['issue', 'dep', 'topo']);
  assert.deepEqual(after.order.map((o: any) => o.issue_id), before.order.map((o: any) => o.issue_id), 'related_to orders nothing');
  assert.deepEqual(after.cycles, []);
});

test('add, list (forward and reverse), remove either way round, show, graph', async () => {
  const dir = tempRepo();
  await gritInit(dir);
  const [a, b, c] = await createdIssues(dir, ['A', 'B', 'C "q"']);
  const added = gritOk(dir, ['issue', 'dep', 'add', a.slice(0, 6), '--target', b.slice(0, 6), '--type', 'depends_on']);
  assert.deepEqual(Object.keys(added).sort(), ['action', 'dep_type', 'event_id', 'issue_id', 'target', 'wal_head']);
  assert.deepEqual([added.issue_id, added.target, added.dep_type, added.action], [a, b, 'depends_on', 'added']);
  assert.match(added.event_id, /^[0-9a-f]{64}$/);
  gritOk(dir, ['issue', 'dep', 'add', c, '--target', b, '--type', 'blocks']);
  gritOk(dir, ['issue', 'dep', 'add', c, '--target', a, '--type', 'related_to']);

  const forward = gritOk(dir, ['issue', 'dep', 'list', a]);
  assert.deepEqual(forward, { issue_id: a, reverse: false, dependencies: [{ issue_id: a, target: b, dep_type: 'depends_on', title: 'B', state: 'open' }], other_way_count: 1 });
  // b records nothing, and two edges are recorded on it: its empty list says where they are, and
  // c's empty reverse list says what c records.
  assert.deepEqual(gritOk(dir, ['issue', 'dep', 'list', b]), { issue_id: b, reverse: false, dependencies: [], other_way_count: 2 });
  assert.equal(grit(dir, ['issue', 'dep', 'list', b]).stdout, `${b.slice(0, 8)} records no dependencies (2 recorded on it by other issues: \`grit issue dep list ${b.slice(0, 8)} --reverse\`)\n`);
  assert.equal(grit(dir, ['issue', 'dep', 'list', c, '--reverse']).stdout, `no issue records a dependency on ${c.slice(0, 8)} (it records 2 itself: \`grit issue dep list ${c.slice(0, 8)}\`)\n`);
  const reverse = gritOk(dir, ['issue', 'dep', 'list', b, '--reverse']);
  assert.deepEqual(
    reverse.dependencies.map((e: DepEdge & { title: string }) => [e.issue_id, e.dep_type, e.title]).sort(),
    [[a, 'depends_on', 'A'], [c, 'blocks', 'C "q"']].sort(),
  );
  assert.match(grit(dir, ['issue', 'dep', 'list', b, '--reverse']).stdout, new RegExp(`${c.slice(0, 8)}\\s+blocks\\s+this\\s+open\\s+C "q"`));
  assert.deepEqual(gritOk(dir, ['issue', 'show', a]).issue.dependencies, [{ target: b, dep_type: 'depends_on' }]);
  // show carries the reverse edges too: b is blocked by c and needed by a; related_to shows on both sides.
  const shown = gritOk(dir, ['issue', 'show', b]).issue;
  assert.deepEqual(shown.dependencies, []);
  assert.deepEqual(shown.dependents, [{ issue_id: a, dep_type: 'depends_on' }, { issue_id: c, dep_type: 'blocks' }].sort((x, y) => (x.issue_id < y.issue_id ? -1 : 1)));
  assert.deepEqual(gritOk(dir, ['issue', 'show', a]).issue.dependents, [{ issue_id: c, dep_type: 'related_to' }]);
  const humanB = grit(dir, ['issue', 'show', b]).stdout;
  assert.match(humanB, new RegExp(`^blocked by: ${c.slice(0, 8)}$`, 'm'));
  assert.match(humanB, new RegExp(`^needed by: ${a.slice(0, 8)}$`, 'm'));
  assert.match(grit(dir, ['issue', 'show', a]).stdout, new RegExp(`^depends on: ${b.slice(0, 8)}\nrelated to: ${c.slice(0, 8)}$`, 'm'));
  // c blocks b, a depends on b: the one possible order, whatever the ids.
  assert.deepEqual(gritOk(dir, ['issue', 'dep', 'topo']).order.map((o: any) => o.issue_id), [c, b, a]);

  const dot = gritOk(dir, ['issue', 'dep', 'graph']);
  assert.deepEqual([dot.format, dot.nodes, dot.edges], ['dot', 3, 3]);
  assert.ok(dot.graph.includes(`"${b}" -> "${a}";`), dot.graph);
  assert.ok(dot.graph.includes(`"${c}" -> "${b}";`), dot.graph);
  assert.equal(grit(dir, ['issue', 'dep', 'graph']).stdout, dot.graph);
  const mermaid = gritOk(dir, ['issue', 'dep', 'graph', '--format', 'mermaid']);
  assert.ok(mermaid.graph.startsWith('flowchart LR\n'));
  assert.ok(mermaid.graph.includes(`i${b} --> i${a}`));

  // "B blocks A" is the same ordering as the recorded "A depends_on B": removing it removes that.
  const removed = gritOk(dir, ['issue', 'dep', 'remove', b, '--target', a, '--type', 'blocks']);
  assert.equal(removed.action, 'removed');
  assert.deepEqual(removed.removed, [{ issue_id: a, target: b, dep_type: 'depends_on' }]);
  assert.deepEqual(gritOk(dir, ['issue', 'dep', 'list', a]).dependencies, []);
  assert.deepEqual(gritOk(dir, ['issue', 'show', a]).issue.dependencies, []);
  const again = grit(dir, ['issue', 'dep', 'remove', a, '--target', b, '--type', 'depends_on', '--json']);
  assert.equal(again.code, 3);
  assert.equal(again.json.error.code, 'not_found');
  // The other edges are untouched; related_to is removable from either side too.
  assert.equal(gritOk(dir, ['issue', 'dep', 'remove', a, '--target', c, '--type', 'related_to']).removed[0].issue_id, c);
  assert.deepEqual(gritOk(dir, ['issue', 'dep', 'list', c]).dependencies.map((e: DepEdge) => e.dep_type), ['blocks']);
  // A relation recorded on both sides is one relation: show lists it once.
  for (const [x, y] of [[a, c], [c, a]]) gritOk(dir, ['issue', 'dep', 'add', x, '--target', y, '--type', 'related_to']);
  assert.equal(grit(dir, ['issue', 'show', a]).stdout.match(/^related to: /gm)?.length, 1);
});

test('argument errors: bad or missing type, unknown target, self dependency', async () => {
  const dir = tempRepo();
  await gritInit(dir);
  const a = (await gritSetup(dir, ['issue', 'create', '--title', 'A'])).issue_id as string;
  const code = (args: string[]) => {
    const r = grit(dir, [...args, '--json']);
    return [r.code, r.json?.error?.code];
  };
  assert.deepEqual(code(['issue', 'dep', 'add', a, '--target', a, '--type', 'nope']), [2, 'invalid_args']);
  assert.deepEqual(code(['issue', 'dep', 'add', a, '--type', 'blocks']), [2, 'invalid_args']);
  assert.deepEqual(code(['issue', 'dep', 'add', a, '--target', 'ffff', '--type', 'blocks']), [3, 'not_found']);
  assert.deepEqual(code(['issue', 'dep', 'add', a, '--target', 'zz', '--type', 'blocks']), [2, 'invalid_args']);
  // An issue as its own dependency is one mistake whatever the type: invalid_args on --target, never a "cycle".
  for (const type of ['blocks', 'depends_on', 'related_to']) {
    const self = grit(dir, ['issue', 'dep', 'add', a, '--target', a.slice(0, 8), '--type', type, '--json']);
    assert.equal(self.code, 2, `${type}: ${self.stdout}`);
    assert.equal(self.json.error.code, 'invalid_args');
    assert.equal(self.json.error.details.field, 'target');
    assert.equal(self.json.error.details.suggestion, 'give another issue as --target');
    assert.equal(self.json.error.details.cycle_edges, undefined);
    await assert.rejects(runLocal('IssueDepAdd', { issue_id: a, target: a, dep_type: type }, { cwd: dir }), { code: 'invalid_args' });
  }
  assert.deepEqual(code(['issue', 'dep', 'graph', '--format', 'svg']), [2, 'invalid_args']);
  // Through the command table (what IPC clients reach), arguments are checked the same way.
  await assert.rejects(runLocal('IssueDepAdd', { issue_id: a, target: a, dep_type: 'sideways' }, { cwd: dir }), { code: 'invalid_args' });
  await assert.rejects(runLocal('IssueDepAdd', { issue_id: a, target: a }, { cwd: dir }), { code: 'invalid_args' });
  await assert.rejects(runLocal('IssueDepTopo', { state: 'done' }, { cwd: dir }), { code: 'invalid_args' });
  await assert.rejects(runLocal('IssueDepList', { issue_id: a, reverse: 'yes' }, { cwd: dir }), { code: 'invalid_args' });
  assert.deepEqual(gritOk(dir, ['issue', 'dep', 'list', a]).dependencies, [], 'nothing refused was written');
});

/** The refusal codes of settled writes, in order ('ok' for a write that went through). */
const outcomes = (settled: PromiseSettledResult<unknown>[]): string[] =>
  settled.map((s) => (s.status === 'fulfilled' ? 'ok' : (s.reason as { code: string }).code));

const cycleCheck = (dir: string, env?: NodeJS.ProcessEnv) => gritDoctor(dir, [], { env }).checks.find((c: any) => c.id === 'dependency_cycles');

test('the two halves of a cycle sent at once through one daemon: one of each pair is refused (conflict), and no cycle is written', async () => {
  const dir = await initedRepo();
  const pairs = 8;
  const ids = await createdIssues(dir, Array.from({ length: 2 * pairs }, (_, i) => `i${i}`));
  const daemon = await startDaemon();
  try {
    // All at once, each on its own connection: the worker's group commit puts them in one or two WAL commits.
    const send = async (issue_id: string, target: string) => {
      const client = await daemon.client();
      try {
        return await client.request('IssueDepAdd', { issue_id, target, dep_type: 'blocks' }, { repoRoot: dir });
      } finally {
        client.close();
      }
    };
    const settled = await Promise.allSettled(ids.flatMap((_, i) => (i % 2 ? [] : [send(ids[i], ids[i + 1]), send(ids[i + 1], ids[i])])));
    const codes = outcomes(settled);
    for (let p = 0; p < pairs; p++) assert.deepEqual(codes.slice(2 * p, 2 * p + 2).sort(), ['conflict', 'ok'], `pair ${p}: ${codes.join(',')}`);
    const check = cycleCheck(dir, daemon.env);
    assert.deepEqual([check.status, check.message], ['ok', `no cycles among ${pairs} blocks/depends_on edges`]);
  } finally {
    await daemon.stop();
  }
});

test("a write's cycle check sees the writes ahead of it in its group commit: the second half of a cycle is refused, an edge a removal ahead frees is not", async () => {
  const dir = await initedRepo();
  const [a, b, c, d] = await createdIssues(dir, ['A', 'B', 'C', 'D']);
  await gritSetup(dir, ['issue', 'dep', 'add', c, '--target', d, '--type', 'blocks']);
  const settled = await settledInOneGroup(dir, (ctx) => [
    issueDepAdd(ctx, { issue_id: a, target: b, dep_type: 'blocks' }),
    issueDepAdd(ctx, { issue_id: a, target: b, dep_type: 'depends_on' }),
    issueDepRemove(ctx, { issue_id: d, target: c, dep_type: 'depends_on' }),
    issueDepAdd(ctx, { issue_id: d, target: c, dep_type: 'blocks' }),
  ]);
  assert.deepEqual(outcomes(settled), ['ok', 'conflict', 'ok', 'ok']);
  const heads = settled.flatMap((s) => (s.status === 'fulfilled' ? [(s.value as { wal_head: string }).wal_head] : []));
  assert.equal(new Set(heads).size, 1, 'one WAL commit');
  const refused = (settled[1] as PromiseRejectedResult).reason;
  assert.deepEqual(refused.details.cycle, [b, a]);
  assert.deepEqual(refused.details.cycle_edges, [{ issue_id: a, target: b, dep_type: 'blocks' }]);
  assert.deepEqual(gritOk(dir, ['issue', 'dep', 'topo']).cycles, []);
});

test('the two halves of a cycle written at once by two writers of one WAL: the one that appends second checks again and is refused', async () => {
  const dir = await initedRepo();
  const [a, b] = await createdIssues(dir, ['A', 'B']);
  const first = (await gritLib(dir, 'ActorCurrent')).actor.actor_id as string;
  const second = (await gritLib(dir, 'ActorInit', { label: 'second' })).actor.actor_id as string;
  const writers = [RepoContext.open({ cwd: dir, actor: first }), RepoContext.open({ cwd: dir, actor: second })];
  try {
    for (const w of writers) await w.refresh();
    const settled = await Promise.allSettled([
      issueDepAdd(writers[0], { issue_id: a, target: b, dep_type: 'blocks' }),
      issueDepAdd(writers[1], { issue_id: b, target: a, dep_type: 'blocks' }),
    ]);
    assert.deepEqual(outcomes(settled).sort(), ['conflict', 'ok']);
  } finally {
    for (const w of writers) await w.close();
  }
  const check = cycleCheck(dir);
  assert.deepEqual([check.status, check.message], ['ok', 'no cycles among 1 blocks/depends_on edge']);
});
