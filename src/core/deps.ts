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

/** Ascending order of ids, or of their positions in id order. */
const ascending = <T extends string | number>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Strongly connected components of `nodes` along `next` (Tarjan, iterative so deep chains cannot
 * overflow the stack), each sorted.
 */
function components<T extends string | number>(nodes: Iterable<T>, next: (id: T) => T[]): T[][] {
  const index = new Map<T, number>();
  const low = new Map<T, number>();
  const onStack = new Set<T>();
  const stack: T[] = [];
  const out: T[][] = [];
  let counter = 0;
  for (const root of [...nodes].sort(ascending)) {
    if (index.has(root)) continue;
    const work: { id: T; next: T[]; i: number }[] = [];
    const enter = (id: T) => {
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
        const comp: T[] = [];
        let m: T;
        do {
          m = stack.pop()!;
          onStack.delete(m);
          comp.push(m);
        } while (m !== top.id);
        out.push(comp.sort(ascending));
      }
    }
  }
  return out;
}

const isCyclic = (comp: string[], next: Successors): boolean => comp.length > 1 || next(comp[0]).includes(comp[0]);

/** The ordering edge a listed cycle is broken at: from its first (smallest) issue to the next. */
export function firstEdge(cycle: readonly string[]): { before: string; after: string } {
  return { before: cycle[0], after: cycle[1 % cycle.length] };
}

/** Counts the adjacency entries cycle breaking looks at, for tests of its cost. */
export interface WorkMeter {
  steps: number;
}

/**
 * Cycles of blocks/depends_on edges, each listed from its smallest issue id (each issue before
 * the next, the last before the first), sorted: per strongly connected component, the cycles
 * `CycleBreaker` finds, so removing each one's first edge leaves the whole graph acyclic.
 */
export function findCycles(g: DepGraph, meter?: WorkMeter): string[][] {
  return cyclesAmong(g, graphComponents(g), meter);
}

const successorsIn = (g: DepGraph): Successors => (id) => g.successors(id);

const graphComponents = (g: DepGraph): string[][] => components(g.nodes, successorsIn(g));

function cyclesAmong(g: DepGraph, comps: string[][], meter?: WorkMeter): string[][] {
  const next = successorsIn(g);
  const cyclic = comps.filter((c) => isCyclic(c, next));
  return cyclic.length ? new CycleBreaker(g, cyclic, meter ?? { steps: 0 }).run().sort(byIds) : [];
}

/**
 * Breaks each cyclic component as docs/deps.md says: the shortest cycle through its smallest id
 * (a breadth-first search, smaller ids first), its first edge cut, then the same again in every
 * cyclic component of what remains, until nothing is cyclic.
 *
 * Done naively, each cut re-finds the components and re-searches from scratch: k 2-cycles on one
 * hub issue cost O(k²) (3.2 s at k = 2,000). Here the work follows the cuts: issues are numbered
 * in id order; each component keeps an out-tree and an in-tree from a root (its busiest issue),
 * which prove it strongly connected, and a cut repairs only the subtree hanging from the cut edge;
 * issues that can no longer reach the root or be reached from it leave, and only they are split
 * into components again. Each issue's adjacency is read from where the last look left it: an edge
 * cut, or to an issue now in another component, stays so.
 */
class CycleBreaker {
  private readonly ids: string[];
  private readonly succ: number[][];
  private readonly pred: number[][];
  /** Edges as u·n + v, and those cut. */
  private readonly edges = new Set<number>();
  private readonly cut = new Set<number>();
  /** Each issue's component; a component that became acyclic keeps its label, with no live edge left. */
  private readonly comp: Int32Array;
  /** How far each issue's succ/pred were found dead from the front. */
  private readonly succFrom: Int32Array;
  private readonly predFrom: Int32Array;
  private readonly parOut: Int32Array;
  private readonly parIn: Int32Array;
  /** Children in each tree; a stale entry (its parent since changed) is skipped where read. */
  private readonly kidsOut: number[][];
  private readonly kidsIn: number[][];
  /** Per component: its members in id order, where the smallest still in it was, its size. */
  private readonly members: number[][] = [];
  private readonly minAt: number[] = [];
  private readonly size: number[] = [];
  private readonly mark: Int32Array;
  private stamp = 0;
  private readonly found: string[][] = [];
  /** Components left to break. */
  private readonly work: number[];

  constructor(g: DepGraph, cyclic: string[][], private readonly meter: WorkMeter) {
    this.ids = cyclic.flat().sort(byId);
    const n = this.ids.length;
    const at = new Map(this.ids.map((id, i) => [id, i]));
    this.comp = new Int32Array(n);
    this.succ = this.ids.map(() => []);
    this.pred = this.ids.map(() => []);
    const labels = cyclic.map((c) => this.label(c.map((id) => at.get(id)!)));
    for (let u = 0; u < n; u++) {
      for (const after of g.successors(this.ids[u])) {
        const v = at.get(after);
        if (v === undefined || this.comp[v] !== this.comp[u]) continue;
        this.succ[u].push(v);
        this.pred[v].push(u);
        this.edges.add(u * n + v);
      }
    }
    this.succFrom = new Int32Array(n);
    this.predFrom = new Int32Array(n);
    this.parOut = new Int32Array(n).fill(-1);
    this.parIn = new Int32Array(n).fill(-1);
    this.kidsOut = this.ids.map(() => []);
    this.kidsIn = this.ids.map(() => []);
    this.mark = new Int32Array(n);
    this.work = labels.filter((c) => this.plant(c));
  }

  run(): string[][] {
    for (let c = this.work.pop(); c !== undefined; c = this.work.pop()) {
      while (this.isCyclic(c)) this.breakOne(c);
    }
    return this.found;
  }

  /** A new component of `members` (sorted), its label. */
  private label(members: number[]): number {
    const c = this.members.length;
    this.members.push(members);
    this.minAt.push(0);
    this.size.push(members.length);
    for (const m of members) this.comp[m] = c;
    return c;
  }

  private live(u: number, v: number): boolean {
    return this.comp[u] === this.comp[v] && !this.cut.has(u * this.ids.length + v);
  }

  private hasLive(u: number, v: number): boolean {
    this.meter.steps++;
    return this.edges.has(u * this.ids.length + v) && this.live(u, v);
  }

  /**
   * Calls `f` on the live successors (or predecessors) of `u` in id order until it returns true;
   * dead entries at the front are passed for good.
   */
  private each(u: number, out: boolean, f: (v: number) => boolean | void): void {
    const list = out ? this.succ[u] : this.pred[u];
    const from = out ? this.succFrom : this.predFrom;
    let i = from[u];
    for (; i < list.length && !(out ? this.live(u, list[i]) : this.live(list[i], u)); i++) this.meter.steps++;
    from[u] = i;
    for (; i < list.length; i++) {
      this.meter.steps++;
      const v = list[i];
      if ((out ? this.live(u, v) : this.live(v, u)) && f(v)) return;
    }
  }

  private successors(u: number): number[] {
    const out: number[] = [];
    this.each(u, true, (v) => void out.push(v));
    return out;
  }

  private smallest(c: number): number {
    const m = this.members[c];
    while (this.comp[m[this.minAt[c]]] !== c) this.minAt[c]++;
    return m[this.minAt[c]];
  }

  private isCyclic(c: number): boolean {
    if (this.size[c] > 1) return true;
    const only = this.smallest(c);
    return this.hasLive(only, only);
  }

  /**
   * The shortest cycle through `s`, exactly as `findPath(s, s)` finds it: the first issue, in
   * breadth-first order with smaller ids first, that has an edge back to `s`, and the tree path to
   * it. An issue is asked for its edge back before its successors are listed (what findPath
   * finds first in them), and the issues right after `s` before any is listed: a hub's 2-cycle
   * costs a look, not a search.
   */
  private cycleFrom(s: number): number[] {
    if (this.hasLive(s, s)) return [s];
    let back = -1;
    this.each(s, true, (x) => this.hasLive(x, s) && ((back = x), true));
    if (back >= 0) return [s, back];
    const parent = new Map<number, number>([[s, -1]]);
    for (let frontier = [s]; frontier.length; ) {
      const following: number[] = [];
      for (const id of frontier) {
        if (this.hasLive(id, s)) {
          const path: number[] = [];
          for (let p = id; p !== -1; p = parent.get(p)!) path.push(p);
          return path.reverse();
        }
        this.each(id, true, (n) => {
          if (parent.has(n)) return;
          parent.set(n, id);
          following.push(n);
        });
      }
      frontier = following;
    }
    throw new Error('a cyclic component without a cycle through its smallest issue');
  }

  /** One cycle of component `c` listed, its first edge cut, and the components that leaves. */
  private breakOne(c: number): void {
    const s = this.smallest(c);
    const cycle = this.cycleFrom(s);
    this.found.push(cycle.map((i) => this.ids[i]));
    const t = cycle[1 % cycle.length];
    this.cut.add(s * this.ids.length + t);
    if (s === t) return; // a self-loop holds no tree together
    const lost = [...(this.parOut[t] === s ? this.regrow(t, true) : []), ...(this.parIn[s] === t ? this.regrow(s, false) : [])];
    if (!lost.length) return;
    const gone = new Set(lost);
    for (const w of gone) this.uproot(w);
    this.size[c] -= gone.size;
    // What left is cut off from the root's component for good: labelled apart first (a label no
    // component is worked on under), so that its own components are found among it alone.
    this.label([...gone]);
    for (const sub of components(gone, (u) => this.successors(u))) {
      const d = this.label(sub);
      if (this.plant(d)) this.work.push(d);
    }
  }

  /**
   * Grows component `c`'s trees from its busiest issue; false, and nothing grown, if it is
   * acyclic (a single issue without a self-loop).
   */
  private plant(c: number): boolean {
    if (!this.isCyclic(c)) return false;
    let root = -1;
    for (const m of this.members[c]) if (root < 0 || this.succ[m].length + this.pred[m].length > this.succ[root].length + this.pred[root].length) root = m;
    for (const out of [true, false]) {
      const par = out ? this.parOut : this.parIn;
      const kids = out ? this.kidsOut : this.kidsIn;
      par[root] = -1;
      const seen = ++this.stamp;
      this.mark[root] = seen;
      for (const queue = [root]; queue.length; ) {
        const x = queue.pop()!;
        this.each(x, out, (y) => {
          if (this.mark[y] === seen) return;
          this.mark[y] = seen;
          par[y] = x;
          kids[x].push(y);
          queue.push(y);
        });
      }
    }
    return true;
  }

  /**
   * After the tree edge into `top` was cut (the out-tree's, or the in-tree's when !out), hangs
   * `top`'s subtree again where it can be: from any issue still reached (out-tree) or still
   * reaching the root (in-tree), then along the subtree's own edges. Returns the issues that
   * could not be: no longer in the root's component.
   */
  private regrow(top: number, out: boolean): number[] {
    const par = out ? this.parOut : this.parIn;
    const kids = out ? this.kidsOut : this.kidsIn;
    const hanging = ++this.stamp;
    this.mark[top] = hanging;
    const subtree = [top];
    for (let i = 0; i < subtree.length; i++) {
      const x = subtree[i];
      for (const y of kids[x]) {
        this.meter.steps++;
        if (par[y] !== x || this.mark[y] === hanging) continue;
        this.mark[y] = hanging;
        subtree.push(y);
      }
      kids[x].length = 0;
    }
    for (const x of subtree) par[x] = -1;
    const hung: number[] = [];
    const hang = (x: number, p: number) => {
      par[x] = p;
      kids[p].push(x);
      this.mark[x] = 0;
      hung.push(x);
    };
    for (const x of subtree) this.each(x, !out, (p) => this.mark[p] !== hanging && (hang(x, p), true));
    while (hung.length) {
      const x = hung.pop()!;
      this.each(x, out, (y) => void (this.mark[y] === hanging && hang(y, x)));
    }
    return subtree.filter((x) => this.mark[x] === hanging);
  }

  /** Takes an issue that left its component out of both trees (its children there left too). */
  private uproot(w: number): void {
    this.parOut[w] = this.parIn[w] = -1;
    this.kidsOut[w].length = this.kidsIn[w].length = 0;
  }
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
