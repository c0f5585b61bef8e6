/** Random dependency DAGs for tests, and the checks every topological order must pass. */
import assert from 'node:assert/strict';
import { RepoContext } from '../../src/commands/context.js';
import { orderingOf, type DepEdge } from '../../src/core/deps.js';
import { fromHex } from '../../src/core/hex.js';
import { pick, rng } from '../helpers/random.js';

export interface RandomDag {
  /** Issue ids in a hidden rank: every ordering edge goes from a lower rank to a higher one. */
  ranked: string[];
  edges: DepEdge[];
}

/**
 * Up to `perNode` prerequisites for each issue, recorded as "later depends_on earlier" or
 * "earlier blocks later" at random (sometimes both), plus related_to edges in any direction,
 * backwards included: they must never constrain the order.
 */
export function randomDag(ranked: string[], seed: number, perNode = 3): RandomDag {
  const rand = rng(seed);
  const edges: DepEdge[] = [];
  const seen = new Set<string>();
  const push = (e: DepEdge) => {
    const key = `${e.issue_id} ${e.target} ${e.dep_type}`;
    if (!seen.has(key)) {
      seen.add(key);
      edges.push(e);
    }
  };
  for (let j = 1; j < ranked.length; j++) {
    const n = Math.floor(rand() * (perNode + 1));
    for (let k = 0; k < n; k++) {
      // Mostly near neighbours (long chains), sometimes anything earlier (wide fan-in).
      const i = rand() < 0.7 ? Math.max(0, j - 1 - Math.floor(rand() * 5)) : Math.floor(rand() * j);
      const r = rand();
      if (r < 0.45 || r >= 0.9) push({ issue_id: ranked[j], target: ranked[i], dep_type: 'depends_on' });
      if (r >= 0.45) push({ issue_id: ranked[i], target: ranked[j], dep_type: 'blocks' });
    }
    if (rand() < 0.3) push({ issue_id: ranked[j], target: pick(ranked, rand), dep_type: 'related_to' });
  }
  return { ranked, edges };
}

export function orderingPairs(edges: readonly DepEdge[]): [string, string][] {
  return edges.flatMap((e) => {
    const o = orderingOf(e);
    return o ? [[o.before, o.after] as [string, string]] : [];
  });
}

/**
 * Checks an order against its edges: each prerequisite first, levels consistent, and at every
 * step the smallest issue id among those whose prerequisites are all done (the tie-break rule).
 */
export function assertTopo(order: { issue_id: string; level: number }[], edges: readonly DepEdge[]): void {
  const pos = new Map(order.map((o, k) => [o.issue_id, k]));
  assert.equal(pos.size, order.length, 'no issue twice');
  const pairs = orderingPairs(edges);
  const preds = new Map<string, string[]>();
  for (const [before, after] of pairs) {
    assert.ok(pos.get(before)! < pos.get(after)!, `${before} must come before ${after}`);
    assert.ok(order[pos.get(after)!].level > order[pos.get(before)!].level, 'a dependent is on a deeper level');
    preds.set(after, [...(preds.get(after) ?? []), before]);
  }
  const done = new Set<string>();
  const ready = (id: string) => !done.has(id) && (preds.get(id) ?? []).every((p) => done.has(p));
  for (const o of order) {
    let smallest: string | null = null;
    for (const id of pos.keys()) if (ready(id) && (smallest === null || id < smallest)) smallest = id;
    assert.equal(o.issue_id, smallest, 'ties go to the smallest ready issue id');
    done.add(o.issue_id);
  }
}

/** Shortest number of ordering edges from `from` to `to`, by breadth-first search over `pairs`. */
export function distance(pairs: readonly [string, string][], from: string, to: string): number | null {
  const next = new Map<string, string[]>();
  for (const [a, b] of pairs) next.set(a, [...(next.get(a) ?? []), b]);
  const dist = new Map([[from, 0]]);
  const queue = [from];
  while (queue.length) {
    const id = queue.shift()!;
    for (const n of next.get(id) ?? []) {
      if (dist.has(n)) continue;
      dist.set(n, dist.get(id)! + 1);
      if (n === to) return dist.get(n)!;
      queue.push(n);
    }
  }
  return null;
}

/** Issue ids from a seed, so a failing run can be replayed. */
export function seededIds(count: number, seed: number): string[] {
  const rand = rng(seed);
  return Array.from({ length: count }, () =>
    Array.from({ length: 16 }, () => Math.floor(rand() * 256).toString(16).padStart(2, '0')).join(''),
  );
}

/**
 * Creates `ids` as issues and records a random DAG over them, in two WAL commits through the
 * write path the commands use (no CLI process per event). Every third issue gets label "third".
 */
export async function writeDag(cwd: string, ids: string[], seed: number): Promise<RandomDag> {
  const ctx = RepoContext.open({ cwd });
  try {
    await ctx.write(
      ids.map((id, k) => ({
        issue_id: fromHex(id, 16)!,
        kind: { type: 'IssueCreated' as const, title: `dag ${k}`, body: '', labels: k % 3 === 0 ? ['third'] : [] },
      })),
    );
    const dag = randomDag(ids, seed);
    await writeEdges(ctx, dag.edges);
    return dag;
  } finally {
    await ctx.close();
  }
}

export async function writeEdges(ctx: RepoContext, edges: readonly DepEdge[]): Promise<void> {
  await ctx.write(
    edges.map((e) => ({
      issue_id: fromHex(e.issue_id, 16)!,
      kind: { type: 'DependencyAdded' as const, target: fromHex(e.target, 16)!, dep_type: e.dep_type },
    })),
  );
}

/**
 * A random graph with cycles (what sync can leave): `seed` picks a shape — random edges at some
 * density, k 2-cycles on one hub, or a ring with chords — over 1 to 40 issues whose ids are in an
 * order unrelated to the shape, with self-loops, both recordings of an edge, and related_to.
 */
export function randomCyclic(seed: number): { ids: string[]; edges: DepEdge[] } {
  const rand = rng(seed);
  const n = 1 + Math.floor(rand() * (seed % 4 === 3 ? 40 : 12));
  const ids = seededIds(n, seed + 1_000_000);
  const edges: DepEdge[] = [];
  const order = (before: string, after: string) => {
    const r = rand();
    if (r < 0.45 || r >= 0.9) edges.push({ issue_id: after, target: before, dep_type: 'depends_on' });
    if (r >= 0.45) edges.push({ issue_id: before, target: after, dep_type: 'blocks' });
  };
  const shape = seed % 3;
  if (shape === 0) {
    const p = [0.08, 0.15, 0.3, 0.5][Math.floor(rand() * 4)];
    for (const x of ids) for (const y of ids) if ((x !== y || rand() < 0.2) && rand() < p) order(x, y);
  } else if (shape === 1) {
    const hub = pick(ids, rand);
    for (const x of ids) {
      if (x === hub) continue;
      if (rand() < 0.9) order(hub, x);
      if (rand() < 0.9) order(x, hub);
      if (rand() < 0.1) order(x, pick(ids, rand));
    }
  } else {
    for (let i = 0; i < n; i++) order(ids[i], ids[(i + 1) % n]);
    for (let k = Math.floor(rand() * n); k > 0; k--) order(pick(ids, rand), pick(ids, rand));
  }
  if (rand() < 0.3) edges.push({ issue_id: pick(ids, rand), target: pick(ids, rand), dep_type: 'related_to' });
  return { ids, edges: rand() < 0.5 ? edges : edges.reverse() };
}
