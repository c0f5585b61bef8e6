/**
 * The dependency DAG (SPEC §2, docs/deps.md), as pure functions over recorded edges.
 *
 * An edge is recorded on one issue ("A depends_on B" lives in A's events). For ordering, the two
 * directed types are normalised to one "before → after" edge: "A depends_on B" and "B blocks A"
 * both mean B comes before A. `related_to` is recorded and listed but never orders anything.
 * Orders and cycles are deterministic: every choice between equals goes to the smaller issue id.
 */
import type { Event } from './event.js';
import { toHex } from './hex.js';
import type { DepType, EventKind } from './kinds.js';
import { DependencySet, removeHorizon } from './projection.js';
import { exactTs, type ExactTs } from './timestamp.js';

/** A dependency as recorded: on `issue_id`, pointing at `target`. Ids are lowercase hex. */
export interface DepEdge {
  issue_id: string;
  target: string;
  dep_type: DepType;
}

/** The ordering a recorded edge imposes: `before` must come before `after`; null for related_to. */
export function orderingOf(e: DepEdge): { before: string; after: string } | null {
  if (e.dep_type === 'depends_on') return { before: e.target, after: e.issue_id };
  if (e.dep_type === 'blocks') return { before: e.issue_id, after: e.target };
  return null;
}

/** The same relation recorded on the other issue: A depends_on B ⇔ B blocks A; related_to is symmetric. */
export function mirrorOf(e: DepEdge): DepEdge {
  const flipped: Record<DepType, DepType> = { depends_on: 'blocks', blocks: 'depends_on', related_to: 'related_to' };
  return { issue_id: e.target, target: e.issue_id, dep_type: flipped[e.dep_type] };
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The ordering graph of a set of recorded edges (related_to edges are kept only for drawing). */
export class DepGraph {
  readonly nodes = new Set<string>();
  private readonly succ = new Map<string, Map<string, DepEdge[]>>();
  private readonly pred = new Map<string, Set<string>>();
  readonly related: DepEdge[] = [];

  static from(edges: Iterable<DepEdge>, nodes: Iterable<string> = []): DepGraph {
    const g = new DepGraph();
    for (const n of nodes) g.nodes.add(n);
    for (const e of edges) g.add(e);
    return g;
  }

  add(e: DepEdge): void {
    this.nodes.add(e.issue_id);
    this.nodes.add(e.target);
    const o = orderingOf(e);
    if (!o) {
      this.related.push(e);
      return;
    }
    let out = this.succ.get(o.before);
    if (!out) this.succ.set(o.before, (out = new Map()));
    const sources = out.get(o.after);
    if (sources) sources.push(e);
    else out.set(o.after, [e]);
    let inn = this.pred.get(o.after);
    if (!inn) this.pred.set(o.after, (inn = new Set()));
    inn.add(o.before);
  }

  /** Issues that must come right after `id`, sorted. */
  successors(id: string): string[] {
    return [...(this.succ.get(id)?.keys() ?? [])].sort(byId);
  }

  /** Issues that must come right before `id` (its direct prerequisites), sorted. */
  predecessors(id: string): string[] {
    return [...(this.pred.get(id) ?? [])].sort(byId);
  }

  /** The recorded edges behind the ordering edge before → after (one, or two when both sides recorded it). */
  edgesBetween(before: string, after: string): DepEdge[] {
    return this.succ.get(before)?.get(after) ?? [];
  }

  /** Distinct ordering edges, as [before, after] pairs sorted by (before, after). */
  orderingEdges(): [string, string][] {
    const out: [string, string][] = [];
    for (const before of [...this.succ.keys()].sort(byId)) {
      for (const after of this.successors(before)) out.push([before, after]);
    }
    return out;
  }
}

/**
 * The shortest path from `from` to `to` following `next` (smaller ids explored first, so the path
 * is deterministic), or null. `next` may read an index lazily: only the reached part is visited.
 */
export function findPath(from: string, to: string, next: (id: string) => Iterable<string>): string[] | null {
  const parent = new Map<string, string | null>([[from, null]]);
  let frontier = [from];
  while (frontier.length) {
    const following: string[] = [];
    for (const id of frontier) {
      for (const n of [...next(id)].sort(byId)) {
        if (n === to) {
          const path = [n];
          for (let p: string | null = id; p !== null; p = parent.get(p)!) path.push(p);
          return path.reverse();
        }
        if (parent.has(n)) continue;
        parent.set(n, id);
        following.push(n);
      }
    }
    frontier = following;
  }
  return null;
}

/**
 * The cycle that adding `edge` would close, or null: the new ordering edge u → v closes a cycle
 * when v already reaches u. The cycle is listed from u, each issue before the next and the last
 * before u again. related_to never closes a cycle.
 */
export function cycleClosedBy(edge: DepEdge, successors: (id: string) => Iterable<string>): string[] | null {
  const o = orderingOf(edge);
  if (!o) return null;
  if (o.before === o.after) return [o.before];
  const back = findPath(o.after, o.before, successors);
  return back ? [o.before, ...back.slice(0, -1)] : null;
}

/** The ordering successors of an issue that a search may follow. */
type Successors = (id: string) => string[];

/**
 * Strongly connected components of `nodes` along `next` (Tarjan, iterative so deep chains cannot
 * overflow the stack), each sorted by id.
 */
function components(nodes: Iterable<string>, next: Successors): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const root of [...nodes].sort(byId)) {
    if (index.has(root)) continue;
    const work: { id: string; next: string[]; i: number }[] = [];
    const enter = (id: string) => {
      index.set(id, counter);
      low.set(id, counter++);
      stack.push(id);
      onStack.add(id);
      work.push({ id, next: next(id), i: 0 });
    };
    enter(root);
    while (work.length) {
      const top = work[work.length - 1];
      if (top.i < top.next.length) {
        const n = top.next[top.i++];
        if (!index.has(n)) enter(n);
        else if (onStack.has(n)) low.set(top.id, Math.min(low.get(top.id)!, index.get(n)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1].id;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.id)!));
      }
      if (low.get(top.id) === index.get(top.id)) {
        const comp: string[] = [];
        let m: string;
        do {
          m = stack.pop()!;
          onStack.delete(m);
          comp.push(m);
        } while (m !== top.id);
        out.push(comp.sort(byId));
      }
    }
  }
  return out;
}

const isCyclic = (comp: string[], next: Successors): boolean => comp.length > 1 || next(comp[0]).includes(comp[0]);

/** One concrete cycle of a cyclic component: the shortest one through its smallest issue id. */
function cycleOf(comp: string[], next: Successors): string[] {
  return findPath(comp[0], comp[0], next)!.slice(0, -1);
}

/** The ordering edge a listed cycle is broken at: from its first (smallest) issue to the next. */
export function firstEdge(cycle: readonly string[]): { before: string; after: string } {
  return { before: cycle[0], after: cycle[1 % cycle.length] };
}

/**
 * Cycles of one cyclic component, enough to break it: the shortest through its smallest id, then
 * the same again in what remains once each found cycle loses its first edge, until nothing is
 * cyclic. Removing the first edge of every cycle returned leaves the component acyclic; one cycle
 * per component would leave a second loop through the same issues standing.
 */
function breakingCycles(g: DepGraph, comp: string[]): string[][] {
  const cut = new Set<string>();
  const within = (members: Set<string>): Successors => (id) =>
    g.successors(id).filter((n) => members.has(n) && !cut.has(`${id} ${n}`));
  const out: string[][] = [];
  for (let left = [comp]; left.length; ) {
    const found = left.map((c) => cycleOf(c, within(new Set(c))));
    for (const c of found) {
      const { before, after } = firstEdge(c);
      cut.add(`${before} ${after}`);
    }
    out.push(...found);
    left = left.flatMap((c) => {
      const next = within(new Set(c));
      return components(c, next).filter((sub) => isCyclic(sub, next));
    });
  }
  return out;
}

/**
 * Cycles of blocks/depends_on edges, each listed from its smallest issue id (each issue before
 * the next, the last before the first), sorted: per strongly connected component, the cycles
 * `breakingCycles` finds, so removing each one's first edge leaves the whole graph acyclic.
 */
export function findCycles(g: DepGraph): string[][] {
  return cyclesAmong(g, graphComponents(g));
}

const successorsIn = (g: DepGraph): Successors => (id) => g.successors(id);

const graphComponents = (g: DepGraph): string[][] => components(g.nodes, successorsIn(g));

function cyclesAmong(g: DepGraph, comps: string[][]): string[][] {
  const next = successorsIn(g);
  return comps
    .filter((c) => isCyclic(c, next))
    .flatMap((c) => breakingCycles(g, c))
    .sort(byIds);
}

/** Lists of ids in lexicographic order of their elements. */
function byIds(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = byId(a[i], b[i]);
    if (c) return c;
  }
  return a.length - b.length;
}

export interface TopoEntry {
  issue_id: string;
  /** Length of the longest chain of prerequisites before this issue (0: nothing before it). */
  level: number;
  /** Direct prerequisites (sorted). */
  after: string[];
  /** Part of a cycle: ordered only relative to issues outside it. */
  in_cycle: boolean;
}

export interface TopoResult {
  order: TopoEntry[];
  cycles: string[][];
}

/** A binary min-heap of strings; ties in the topological order go to the smallest key. */
class MinHeap {
  private readonly items: { key: string; value: number }[] = [];

  get size(): number {
    return this.items.length;
  }

  push(key: string, value: number): void {
    const a = this.items;
    a.push({ key, value });
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p].key <= a[i].key) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }

  pop(): number {
    const a = this.items;
    const top = a[0].value;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].key < a[m].key) m = l;
        if (r < a.length && a[r].key < a[m].key) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * A topological order of every node: prerequisites first, ties to the smallest issue id. A cycle
 * cannot be ordered inside, so each is treated as one block (its members in id order, flagged
 * `in_cycle`) that is ordered against everything else; the cycles are returned alongside.
 */
export function topoOrder(g: DepGraph): TopoResult {
  const comps = graphComponents(g);
  const compOf = new Map<string, number>();
  comps.forEach((c, i) => c.forEach((id) => compOf.set(id, i)));
  const indegree = new Array<number>(comps.length).fill(0);
  const next = comps.map(() => new Set<number>());
  for (const [before, after] of g.orderingEdges()) {
    const a = compOf.get(before)!;
    const b = compOf.get(after)!;
    if (a !== b && !next[a].has(b)) {
      next[a].add(b);
      indegree[b]++;
    }
  }
  const level = new Array<number>(comps.length).fill(0);
  const heap = new MinHeap();
  comps.forEach((c, i) => indegree[i] === 0 && heap.push(c[0], i));
  const order: TopoEntry[] = [];
  while (heap.size) {
    const i = heap.pop();
    const cyclic = isCyclic(comps[i], successorsIn(g));
    for (const id of comps[i]) order.push({ issue_id: id, level: level[i], after: g.predecessors(id), in_cycle: cyclic });
    for (const j of next[i]) {
      level[j] = Math.max(level[j], level[i] + 1);
      if (--indegree[j] === 0) heap.push(comps[j][0], j);
    }
  }
  return { order, cycles: cyclesAmong(g, comps) };
}

/**
 * The graph that a set of events folds to (SPEC §2 add/remove sets), without a store: fed one
 * event at a time in any order, it keeps each issue's dependency events and, to place a remove's
 * parent once every event has come (`removeHorizon`), each event's issue and timestamp by id, so a
 * whole WAL can stream through it. As `foldIssue`, an issue without an IssueCreated records no edge.
 */
export class DependencyFold {
  private readonly issues = new Map<string, FoldedIssue>();
  private readonly times = new Map<string, { issue: FoldedIssue; ts: ExactTs }>();

  /** `id`: the event's id in hex, when the caller has it already. */
  take(e: Event, id = toHex(e.event_id)): void {
    const issueId = toHex(e.issue_id);
    let issue = this.issues.get(issueId);
    if (!issue) this.issues.set(issueId, (issue = { created: false, deps: null }));
    this.times.set(id, { issue, ts: exactTs(e) });
    const k = e.kind;
    if (k.type === 'IssueCreated') issue.created = true;
    else if (k.type === 'DependencyAdded' || k.type === 'DependencyRemoved') {
      (issue.deps ??= []).push({ kind: k, ts: exactTs(e), parent: e.parent && toHex(e.parent) });
    }
  }

  /** The edges, issues in the order their first event came, each issue's in member order. */
  graph(): DepGraph {
    const graph = new DepGraph();
    for (const [issue_id, issue] of this.issues) {
      if (!issue.created || !issue.deps) continue;
      const set = new DependencySet();
      for (const { kind, ts, parent } of issue.deps) set.take(kind, kind.type === 'DependencyAdded' ? ts : removeHorizon(ts, this.parentTs(issue, parent)));
      for (const d of set.members()) graph.add({ issue_id, ...d });
    }
    return graph;
  }

  /** The timestamp of `parent` if it is an event of `issue`. */
  private parentTs(issue: FoldedIssue, parent: string | null): ExactTs | undefined {
    const found = parent === null ? undefined : this.times.get(parent);
    return found?.issue === issue ? found.ts : undefined;
  }
}

interface FoldedIssue {
  created: boolean;
  deps: DependencyEvent[] | null;
}

/** A dependency event as `DependencyFold` keeps it: its parent in hex. */
interface DependencyEvent {
  kind: Extract<EventKind, { type: 'DependencyAdded' | 'DependencyRemoved' }>;
  ts: ExactTs;
  parent: string | null;
}
