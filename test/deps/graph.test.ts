import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderGraph } from '../../src/core/dep-formats.js';
import { describeCycle } from '../../src/core/dep-text.js';
import { cycleClosedBy, DepGraph, findCycles, mirrorOf, orderingOf, topoOrder, type DepEdge } from '../../src/core/deps.js';
import { rng, shuffle } from '../helpers/random.js';
import { assertTopo, distance, orderingPairs, randomDag } from './_dag.js';

const id = (n: number): string => n.toString(16).padStart(32, '0');
const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(id);
const dep = (issue_id: string, dep_type: DepEdge['dep_type'], target: string): DepEdge => ({ issue_id, target, dep_type });

test('depends_on and blocks normalise to the same ordering edge; related_to orders nothing', () => {
  assert.deepEqual(orderingOf(dep(a, 'depends_on', b)), { before: b, after: a });
  assert.deepEqual(orderingOf(dep(b, 'blocks', a)), { before: b, after: a });
  assert.equal(orderingOf(dep(a, 'related_to', b)), null);
  assert.deepEqual(mirrorOf(dep(a, 'depends_on', b)), dep(b, 'blocks', a));
  assert.deepEqual(mirrorOf(dep(a, 'related_to', b)), dep(b, 'related_to', a));
  const g = DepGraph.from([dep(a, 'depends_on', b), dep(b, 'blocks', a), dep(c, 'related_to', a)]);
  assert.deepEqual(g.orderingEdges(), [[b, a]]);
  assert.equal(g.edgesBetween(b, a).length, 2, 'both recordings are kept behind the one edge');
  assert.deepEqual(g.predecessors(a), [b]);
});

test('topological order: prerequisites first, ties to the smallest issue id, levels', () => {
  // e depends on d and a; c blocks b; nothing else.
  const g = DepGraph.from([dep(e, 'depends_on', d), dep(e, 'depends_on', a), dep(c, 'blocks', b)], [a, b, c, d, e]);
  const { order, cycles } = topoOrder(g);
  assert.deepEqual(cycles, []);
  assert.deepEqual(order.map((o) => o.issue_id), [a, c, b, d, e]);
  assert.deepEqual(order.map((o) => o.level), [0, 0, 1, 0, 1]);
  assert.deepEqual(order.find((o) => o.issue_id === e)!.after, [a, d]);
});

test('a 1000-issue random DAG: every edge respected, ties by id, same order whatever the edge order', () => {
  const rand = rng(7);
  const ranked = shuffle(Array.from({ length: 1000 }, (_, k) => id(k * 7919 + 13)), rand);
  const dag = randomDag(ranked, 11);
  assert.ok(orderingPairs(dag.edges).length > 1000);
  const first = topoOrder(DepGraph.from(dag.edges, ranked));
  assert.equal(first.order.length, 1000);
  assert.deepEqual(first.cycles, []);
  assertTopo(first.order, dag.edges);
  for (let k = 0; k < 3; k++) {
    const again = topoOrder(DepGraph.from(shuffle(dag.edges, rand), shuffle(ranked, rand)));
    assert.deepEqual(again, first);
  }
});

test('a 20,000-issue chain needs no recursion (no stack overflow)', () => {
  const ids = Array.from({ length: 20_000 }, (_, k) => id(k));
  const edges = ids.slice(1).map((x, k) => dep(x, 'depends_on', ids[k]));
  const { order } = topoOrder(DepGraph.from(edges));
  assert.equal(order[19_999].level, 19_999);
  assert.deepEqual(findCycles(DepGraph.from([...edges, dep(ids[0], 'depends_on', ids[19_999])])).map((cy) => cy.length), [20_000]);
});

test('cycles are found, named from their smallest id, and ordered as one block', () => {
  // a → b → c → a (a cycle), d after c, e alone; plus a self-loop on e.
  const edges = [dep(a, 'blocks', b), dep(c, 'depends_on', b), dep(a, 'depends_on', c), dep(d, 'depends_on', c), dep(e, 'blocks', e)];
  const g = DepGraph.from(edges);
  assert.deepEqual(findCycles(g), [[a, b, c], [e]]);
  assert.equal(describeCycle([a, b, c]), `${a.slice(0, 8)} → ${b.slice(0, 8)} → ${c.slice(0, 8)} → ${a.slice(0, 8)}`);
  const { order, cycles } = topoOrder(g);
  assert.deepEqual(cycles, [[a, b, c], [e]]);
  assert.deepEqual(order.map((o) => [o.issue_id, o.in_cycle]), [[a, true], [b, true], [c, true], [d, false], [e, true]]);
  assert.equal(order[3].level, 1);
});

test('a cluster holding several cycles: each cycle listed, and removing every first edge leaves none', () => {
  // Two loops through a (a ⇄ b, a ⇄ c): one cycle per cluster would leave the second standing.
  assert.deepEqual(findCycles(DepGraph.from([dep(a, 'depends_on', b), dep(b, 'depends_on', a), dep(a, 'depends_on', c), dep(c, 'depends_on', a)])), [[a, b], [a, c]]);
  // Dense random clusters, each edge listed in both recordings sometimes and in any order.
  const rand = rng(5);
  const ids = Array.from({ length: 8 }, (_, k) => id(k + 1));
  for (let round = 0; round < 30; round++) {
    const edges = ids.flatMap((x) => ids.filter((y) => y !== x && rand() < 0.4).map((y) => dep(x, rand() < 0.5 ? 'depends_on' : 'blocks', y)));
    const g = DepGraph.from(edges);
    const cycles = findCycles(g);
    assert.deepEqual(findCycles(DepGraph.from(shuffle(edges, rand))), cycles, 'the same cycles whatever the edge order');
    const cut = new Set<string>();
    for (const cy of cycles) {
      cy.forEach((x, i) => assert.ok(g.edgesBetween(x, cy[(i + 1) % cy.length]).length > 0, 'each step is an existing edge'));
      assert.equal(cy[0], [...cy].sort()[0], 'listed from its smallest id');
      // Its first edge, from its smallest id to the next (docs/deps.md): the one the plan removes.
      const first = `${cy[0]} ${cy[1 % cy.length]}`;
      assert.ok(!cut.has(first), 'each cycle is broken at an edge of its own');
      cut.add(first);
    }
    const left = edges.filter((x) => {
      const o = orderingOf(x)!;
      return !cut.has(`${o.before} ${o.after}`);
    });
    assert.deepEqual(topoOrder(DepGraph.from(left)).cycles, [], `round ${round}: removing ${cycles.length} first edges leaves no cycle`);
  }
});

test('an edge closing a cycle is named with the shortest way back; related_to never closes one', () => {
  const rand = rng(3);
  const ranked = shuffle(Array.from({ length: 300 }, (_, k) => id(k + 100)), rand);
  const dag = randomDag(ranked, 5);
  const pairs = orderingPairs(dag.edges);
  const g = DepGraph.from(dag.edges);
  const next = (x: string) => g.successors(x);
  let checked = 0;
  for (let k = 0; k < 200; k++) {
    const [i, j] = [Math.floor(rand() * 300), Math.floor(rand() * 300)].sort((x, y) => x - y);
    if (i === j) continue;
    const [early, late] = [ranked[i], ranked[j]];
    const back = distance(pairs, early, late);
    // "early depends_on late" puts late before early: a cycle exactly when early reaches late.
    const cycle = cycleClosedBy(dep(early, 'depends_on', late), next);
    assert.equal(cycle === null, back === null);
    assert.equal(cycleClosedBy(dep(early, 'related_to', late), next), null);
    assert.equal(cycleClosedBy(dep(late, 'depends_on', early), next), null, 'a forward edge never closes a cycle');
    if (!cycle) continue;
    checked++;
    assert.equal(cycle.length, back! + 1);
    assert.deepEqual(cycle.slice(0, 2), [late, early]);
    for (let m = 1; m < cycle.length; m++) {
      assert.ok(g.edgesBetween(cycle[m], cycle[(m + 1) % cycle.length]).length > 0, 'each step is an existing edge');
    }
  }
  assert.ok(checked > 20, `only ${checked} cycles tried`);
  assert.deepEqual(cycleClosedBy(dep(a, 'blocks', a), next), [a]);
});

test('graph text: DOT and Mermaid, deterministic, cycles red, related dashed, quotes escaped', () => {
  const g = DepGraph.from([dep(b, 'depends_on', a), dep(a, 'blocks', b), dep(c, 'related_to', a), dep(c, 'depends_on', d), dep(d, 'depends_on', c)]);
  const info = new Map([
    [a, { title: 'say "hi"', state: 'open' }],
    [b, { title: 'b', state: 'closed' }],
    [c, { title: 'c', state: 'open' }],
  ]);
  const s = (x: string) => x.slice(0, 8);
  const dot = renderGraph(g, info, 'dot');
  assert.deepEqual([dot.nodes, dot.edges], [4, 4]);
  assert.equal(
    dot.text,
    [
      'digraph grit_deps {',
      '  rankdir=LR;',
      '  node [shape=box];',
      `  "${a}" [label="${s(a)} say \\"hi\\""];`,
      `  "${b}" [label="${s(b)} b", color=gray, fontcolor=gray];`,
      `  "${c}" [label="${s(c)} c"];`,
      `  "${d}" [label="${s(d)} (unknown issue)", style=dotted];`,
      `  "${a}" -> "${b}";`,
      `  "${c}" -> "${d}" [color=red];`,
      `  "${d}" -> "${c}" [color=red];`,
      `  "${a}" -> "${c}" [dir=none, style=dashed];`,
      '}',
      '',
    ].join('\n'),
  );
  const mermaid = renderGraph(g, info, 'mermaid').text.split('\n');
  assert.equal(mermaid[0], 'flowchart LR');
  assert.ok(mermaid.includes(`  i${a}["${s(a)} say #quot;hi#quot;"]`));
  // Read as HTML by Mermaid: < > & # are codes too, so `Vec<T>` keeps its `<T>` and `#lt;` typed stays as typed.
  const odd = new Map(info).set(a, { ...info.get(a)!, title: 'Vec<T> & <b>x</b> #lt; #1' });
  assert.ok(renderGraph(g, odd, 'mermaid').text.split('\n').includes(`  i${a}["${s(a)} Vec#lt;T#gt; #amp; #lt;b#gt;x#lt;/b#gt; #35;lt; #35;1"]`));
  assert.ok(mermaid.includes(`  i${a} --> i${b}`));
  assert.ok(mermaid.includes(`  i${a} -.- i${c}`));
  assert.ok(mermaid.includes('  linkStyle 1,2 stroke:red'));
  assert.ok(mermaid.includes(`  class i${b} closed`));
  assert.equal(renderGraph(DepGraph.from([...g.related]), info, 'dot').text, renderGraph(DepGraph.from([...g.related].reverse()), info, 'dot').text);
});
