import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RepoContext } from '../../src/commands/context.js';
import type { DepEdge } from '../../src/core/deps.js';
import { describeCycle } from '../../src/core/dep-text.js';
import { createdIssues, grit, gritOk, gritDoctor, gritSetup } from '../helpers/repo.js';
import { network } from '../sync/_helpers.js';
import { assertTopo, randomDag, seededIds, writeDag, writeEdges } from './_dag.js';

async function withContext<T>(cwd: string, fn: (ctx: RepoContext) => Promise<T>): Promise<T> {
  const ctx = RepoContext.open({ cwd });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

test('two clones edit one DAG concurrently; after sync both list the same topological order', { timeout: 120_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  const ids = seededIds(300, 5);
  const base = await writeDag(a, ids, 5);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  // Concurrently, each clone adds more edges that agree with the same hidden rank (so no cycle),
  // and B also creates issues of its own that depend on A's.
  const more = randomDag(ids, 6).edges;
  const half = Math.floor(more.length / 2);
  await withContext(a, (ctx) => writeEdges(ctx, more.slice(0, half)));
  await withContext(b, (ctx) => writeEdges(ctx, more.slice(half)));
  const extra: string[] = [];
  for (let k = 0; k < 3; k++) {
    const id = (await gritSetup(b, ['issue', 'create', '--title', `from b ${k}`])).issue_id as string;
    await gritSetup(b, ['issue', 'dep', 'add', id, '--target', ids[299 - k], '--type', 'depends_on']);
    extra.push(id);
  }
  await gritSetup(a, ['sync']);
  const sb = await gritSetup(b, ['sync']);
  assert.ok(sb.events_rebased > 0, 'B re-appended its events on top of A');
  await gritSetup(a, ['sync']);

  const ta = gritOk(a, ['issue', 'dep', 'topo']);
  const tb = gritOk(b, ['issue', 'dep', 'topo']);
  assert.deepEqual(ta, tb);
  assert.equal(ta.total, 303);
  assert.deepEqual(ta.cycles, []);
  const all: DepEdge[] = [
    ...base.edges,
    ...more,
    ...extra.map((id, k) => ({ issue_id: id, target: ids[299 - k], dep_type: 'depends_on' as const })),
  ];
  assertTopo(ta.order, all);
  assert.equal(gritOk(a, ['issue', 'dep', 'graph']).graph, gritOk(b, ['issue', 'dep', 'graph']).graph);
});

test('a cycle made of two halves added in two clones is accepted by sync and reported by doctor', { timeout: 120_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  const x = (await gritSetup(a, ['issue', 'create', '--title', 'X'])).issue_id as string;
  const y = (await gritSetup(a, ['issue', 'create', '--title', 'Y'])).issue_id as string;
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  const cycleCheck = (dir: string) => gritDoctor(dir).checks.find((c: any) => c.id === 'dependency_cycles');
  assert.equal(cycleCheck(a).status, 'ok');
  // Each half is fine where it is written.
  await gritSetup(a, ['issue', 'dep', 'add', x, '--target', y, '--type', 'depends_on']);
  await gritSetup(b, ['issue', 'dep', 'add', x, '--target', y, '--type', 'blocks']);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  await gritSetup(a, ['sync']);

  const expected = [x, y].sort();
  for (const dir of [a, b]) {
    const check = cycleCheck(dir);
    assert.equal(check.status, 'warn');
    assert.ok(check.message.includes(describeCycle(expected)), check.message);
    // Whole ids: a short one may be the prefix of another issue's, and the command then fails.
    assert.match(check.plan, /grit issue dep remove [0-9a-f]{32} --target [0-9a-f]{32} --type (blocks|depends_on)/);
    const topo = gritOk(dir, ['issue', 'dep', 'topo']);
    assert.deepEqual(topo.cycles, [expected]);
    assert.deepEqual(topo.order.map((o: any) => [o.issue_id, o.in_cycle]), expected.map((id) => [id, true]));
  }
  const human = grit(a, ['doctor']);
  assert.match(human.stdout, /warn\s+dependency_cycles\s+1 dependency cycle/);
  assert.equal(human.code, 0, 'a warning does not fail doctor');
  // Other edges can still be added; one that would make a new cycle through them is still refused.
  const z = (await gritSetup(a, ['issue', 'create', '--title', 'Z'])).issue_id as string;
  await gritSetup(a, ['issue', 'dep', 'add', z, '--target', x, '--type', 'depends_on']);
  assert.equal(grit(a, ['issue', 'dep', 'add', x, '--target', z, '--type', 'depends_on']).code, 4);
  // An edge of the cycle added again (or its mirror) orders nothing new: it refreshes, never refused.
  for (const edge of [[x, y, 'depends_on'], [y, x, 'blocks']]) {
    const again = gritOk(a, ['issue', 'dep', 'add', edge[0], '--target', edge[1], '--type', edge[2]]);
    assert.equal(again.action, 'added');
  }
  // Breaking the cycle on one side and syncing clears the report everywhere.
  gritOk(b, ['issue', 'dep', 'remove', x, '--target', y, '--type', 'blocks']);
  await gritSetup(b, ['sync']);
  await gritSetup(a, ['sync']);
  for (const dir of [a, b]) {
    assert.equal(cycleCheck(dir).status, 'ok');
    assert.deepEqual(gritOk(dir, ['issue', 'dep', 'topo']).cycles, []);
  }
});

test('two cycles in one cluster, from two clones: both reported, and doctor\'s plan run as given leaves none', { timeout: 120_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  const [x, y, z] = await createdIssues(a, ['X', 'Y', 'Z']);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  // Two loops through x, each closed by the other clone: one edge of one loop would leave the other.
  for (const target of [y, z]) await gritSetup(a, ['issue', 'dep', 'add', x, '--target', target, '--type', 'depends_on']);
  for (const issue of [y, z]) await gritSetup(b, ['issue', 'dep', 'add', issue, '--target', x, '--type', 'depends_on']);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  await gritSetup(a, ['sync']);

  const expected = [[x, y], [x, z]].map((c) => c.sort()).sort((p, q) => (p.join() < q.join() ? -1 : 1));
  const plans = [a, b].map((dir) => {
    const check = gritDoctor(dir).checks.find((c: any) => c.id === 'dependency_cycles');
    assert.match(check.message, /^2 dependency cycles /);
    for (const c of expected) assert.ok(check.message.includes(describeCycle(c)), check.message);
    assert.deepEqual(gritOk(dir, ['issue', 'dep', 'topo']).cycles, expected);
    return check.plan as string;
  });
  assert.equal(plans[0], plans[1], 'the same plan on every clone');
  const removals = [...plans[0].matchAll(/`grit (issue dep remove [^`]+)`/g)].map((m) => m[1].split(' '));
  assert.equal(removals.length, 2, plans[0]);
  for (const argv of removals) gritOk(a, argv);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  for (const dir of [a, b]) {
    assert.equal(gritDoctor(dir).checks.find((c: any) => c.id === 'dependency_cycles').status, 'ok');
    const topo = gritOk(dir, ['issue', 'dep', 'topo']);
    assert.deepEqual(topo.cycles, []);
    assert.ok(topo.order.every((o: any) => !o.in_cycle));
  }
});
