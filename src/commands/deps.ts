/**
 * `issue dep add|remove|list|topo|graph` (SPEC §5, docs/deps.md), shared by the CLI and the
 * daemon's workers. The graph logic is src/core/deps.ts; the store keeps the forward and reverse
 * indexes these commands read.
 */
import { GritError, invalidArgs } from '../core/errors.js';
import { GRAPH_FORMATS, renderGraph, type GraphFormat, type NodeInfo } from '../core/dep-formats.js';
import { cycleClosedBy, DepGraph, mirrorOf, orderingOf, topoOrder, type DepEdge, type TopoEntry } from '../core/deps.js';
import { describeCycle, removeCommand } from '../core/dep-text.js';
import { fromHex, toHex } from '../core/hex.js';
import { DEP_TYPES, type DepType, type IssueState } from '../core/kinds.js';
import type { IssueSummary } from '../core/projection.js';
import type { Store } from '../core/store.js';
import { bool, cliName, oneOf, optLabel, text, type Args } from './args.js';
import { withLockWarnings, type RepoContext, type WriteCheck, type WriteItem } from './context.js';
import type { WriteReply } from './issues.js';

export interface DepWriteReply extends WriteReply {
  target: string;
  dep_type: DepType;
  action: 'added' | 'removed';
}

/** The edge named by `{issue_id, target, dep_type}`, both ends resolved to known issues. */
async function edgeFrom(ctx: RepoContext, args: Args): Promise<DepEdge> {
  const dep_type = oneOf<DepType>(args, 'dep_type', DEP_TYPES);
  if (dep_type === undefined) {
    throw invalidArgs(`${cliName('dep_type')} is required (one of ${DEP_TYPES.join(', ')})`, { field: 'dep_type' }, `for example ${cliName('dep_type')} ${DEP_TYPES[0]}`);
  }
  const issue = await ctx.resolveIssue(text(args, 'issue_id', { nonEmpty: true }));
  const target = await ctx.resolveIssue(text(args, 'target', { nonEmpty: true }), 'target');
  return { issue_id: issue.issue_id, target: target.issue_id, dep_type };
}

const phrase = (e: DepEdge): string => `${e.issue_id.slice(0, 8)} ${e.dep_type} ${e.target.slice(0, 8)}`;

const edgeKey = (e: DepEdge): string => `${e.issue_id}:${e.target}:${e.dep_type}`;

/**
 * The recorded edges as they stand once the writes ahead of a new one in its WAL commit are
 * applied: the store's, with those writes' adds and removes over them.
 */
class EdgesAfter {
  /** Whether each edge the writes ahead touch is there after them (the last of them decides). */
  private readonly written = new Map<string, { edge: DepEdge; present: boolean }>();

  constructor(
    private readonly store: Store,
    ahead: readonly WriteItem[],
  ) {
    for (const { issue_id, kind } of ahead) {
      if (kind.type !== 'DependencyAdded' && kind.type !== 'DependencyRemoved') continue;
      const edge: DepEdge = { issue_id: toHex(issue_id), target: toHex(kind.target), dep_type: kind.dep_type };
      this.written.set(edgeKey(edge), { edge, present: kind.type === 'DependencyAdded' });
    }
  }

  has(e: DepEdge): boolean {
    return this.written.get(edgeKey(e))?.present ?? this.store.hasDependency(e);
  }

  /** The recorded edges (either way round) that make `before` come right before `after`. */
  ordering(before: string, after: string): DepEdge[] {
    const blocks: DepEdge = { issue_id: before, target: after, dep_type: 'blocks' };
    return [blocks, mirrorOf(blocks)].filter((e) => this.has(e));
  }

  /** Issues that must come right after `id`. */
  successors(id: string): string[] {
    const stored = this.store.orderingSuccessors(id);
    if (this.written.size === 0) return stored;
    const out = new Set(stored.filter((next) => this.ordering(id, next).length > 0));
    for (const { edge, present } of this.written.values()) {
      const o = orderingOf(edge);
      if (present && o?.before === id) out.add(o.after);
    }
    return [...out];
  }
}

/**
 * Refuses (conflict) a blocks/depends_on edge that would close a cycle, naming it and the recorded
 * edges on it, against the store and the writes ahead of it (a WriteCheck: run where the edge is
 * written, so that two concurrent writes cannot each close half of one).
 */
function refuseCycle(store: Store, edge: DepEdge, ahead: readonly WriteItem[]): void {
  const edges = new EdgesAfter(store, ahead);
  // Adding an ordering already recorded (this edge, or its mirror) refreshes it and orders
  // nothing new: never refused, even on a cycle that merged clones made (docs/deps.md).
  const ordering = orderingOf(edge);
  const cycle = ordering && edges.ordering(ordering.before, ordering.after).length > 0 ? null : cycleClosedBy(edge, (id) => edges.successors(id));
  if (!cycle) return;
  const existing = cycle.slice(1).flatMap((id, i) => edges.ordering(id, cycle[(i + 2) % cycle.length]));
  throw new GritError('conflict', `${phrase(edge)} would close the dependency cycle ${describeCycle(cycle)}`, {
    details: { ...edge, cycle, cycle_edges: existing },
    suggestion: `remove an edge of the cycle first (e.g. \`${removeCommand(existing[0])}\`), or use --type related_to`,
  });
}

async function writeEdges(ctx: RepoContext, edges: DepEdge[], type: 'DependencyAdded' | 'DependencyRemoved', check?: WriteCheck) {
  return ctx.write(
    edges.map((e) => ({ issue_id: fromHex(e.issue_id, 16)!, kind: { type, target: fromHex(e.target, 16)!, dep_type: e.dep_type } })),
    check,
  );
}

/**
 * Records a dependency. An edge from an issue to itself is refused (invalid_args), and a
 * blocks/depends_on edge that would close a cycle (conflict), naming the cycle and the recorded
 * edges on it; related_to orders nothing and is never refused otherwise.
 */
export async function issueDepAdd(ctx: RepoContext, args: Args): Promise<DepWriteReply> {
  const edge = await edgeFrom(ctx, args);
  // The same mistake whatever the type: for blocks/depends_on it is also the shortest cycle.
  if (edge.target === edge.issue_id) {
    throw invalidArgs(`${phrase(edge)}: an issue cannot be its own dependency`, { field: 'target', ...edge }, `give another issue as ${cliName('target')}`);
  }
  const written = await writeEdges(ctx, [edge], 'DependencyAdded', (ahead) => refuseCycle(ctx.store, edge, ahead));
  const reply = { issue_id: edge.issue_id, event_id: toHex(written.events[0].event_id), wal_head: written.wal_head, target: edge.target, dep_type: edge.dep_type };
  return withLockWarnings({ ...reply, action: 'added' as const }, written.warnings);
}

/**
 * Removes a dependency. "A depends_on B" and "B blocks A" are the same ordering, so removing
 * either removes whichever of the two is recorded (both when both are), and related_to likewise
 * in both directions. Removing an edge that is not there is not_found.
 */
export async function issueDepRemove(ctx: RepoContext, args: Args): Promise<DepWriteReply & { removed: DepEdge[] }> {
  const edge = await edgeFrom(ctx, args);
  const mirror = mirrorOf(edge);
  const candidates = phrase(mirror) === phrase(edge) ? [edge] : [edge, mirror];
  const present = candidates.filter((e) => ctx.store.hasDependency(e));
  if (present.length === 0) {
    throw new GritError('not_found', `no dependency ${phrase(edge)} (nor ${phrase(mirror)})`, {
      details: { ...edge },
      suggestion: `run \`grit issue dep list ${edge.issue_id.slice(0, 8)}\` to see its dependencies`,
    });
  }
  const written = await writeEdges(ctx, present, 'DependencyRemoved');
  const reply = { issue_id: edge.issue_id, event_id: toHex(written.events[0].event_id), wal_head: written.wal_head, target: edge.target, dep_type: edge.dep_type };
  return withLockWarnings({ ...reply, action: 'removed' as const, removed: present }, written.warnings);
}

export interface DepListEntry extends DepEdge {
  /** Title and state of the issue at the other end; null when it is not known here (yet). */
  title: string | null;
  state: IssueState | null;
}

/** What an issue records (or, with `reverse`, what other issues record pointing at it). */
export async function issueDepList(
  ctx: RepoContext,
  args: Args,
): Promise<{ issue_id: string; reverse: boolean; dependencies: DepListEntry[]; other_way_count: number }> {
  const reverse = bool(args, 'reverse');
  const input = text(args, 'issue_id', { nonEmpty: true });
  return ctx.read(() => {
    const issue = ctx.findIssue(input);
    const store = ctx.store;
    const edges = reverse ? store.dependentsOf(issue.issue_id) : store.dependenciesOf(issue.issue_id);
    const dependencies = edges.map((e) => {
      const other = store.getSummary(reverse ? e.issue_id : e.target);
      return { ...e, title: other?.title ?? null, state: other?.state ?? null };
    });
    // The edges the other direction lists: an empty list where those are the ones meant (A blocks
    // B, asked of B without --reverse) then says where they are.
    const other_way_count = (reverse ? store.dependenciesOf(issue.issue_id) : store.dependentsOf(issue.issue_id)).length;
    return { issue_id: issue.issue_id, reverse, dependencies, other_way_count };
  });
}

/** Every known issue, and the whole dependency graph over them. */
function wholeGraph(ctx: RepoContext): Promise<{ graph: DepGraph; issues: Map<string, IssueSummary> }> {
  return ctx.read(() => {
    const issues = new Map(ctx.store.listIssues().map((i) => [i.issue_id, i]));
    return { graph: DepGraph.from(ctx.store.allDependencies(), issues.keys()), issues };
  });
}

export interface TopoItem extends TopoEntry {
  title: string;
  state: IssueState;
  labels: string[];
}

/**
 * Issues in dependency order. The order is computed over every issue and edge and then filtered,
 * so a hidden issue between two listed ones still keeps them in order.
 */
export async function issueDepTopo(
  ctx: RepoContext,
  args: Args,
): Promise<{ order: TopoItem[]; total: number; cycles: string[][] }> {
  const state = oneOf<IssueState>(args, 'state', ['open', 'closed']);
  const label = optLabel(args);
  const { graph, issues } = await wholeGraph(ctx);
  const { order, cycles } = topoOrder(graph);
  const items: TopoItem[] = [];
  for (const entry of order) {
    const i = issues.get(entry.issue_id);
    if (!i || (state && i.state !== state) || (label && !i.labels.includes(label))) continue;
    // Written out, not `{ ...entry, … }`: a spread in a loop gave each of 20k items a hidden
    // class of its own, which made reading them (the JSON, the table) several times slower.
    items.push({ issue_id: entry.issue_id, level: entry.level, after: entry.after, in_cycle: entry.in_cycle, title: i.title, state: i.state, labels: i.labels });
  }
  return { order: items, total: items.length, cycles };
}

/** The graph as Graphviz DOT (default) or Mermaid text. */
export async function issueDepGraph(
  ctx: RepoContext,
  args: Args,
): Promise<{ format: GraphFormat; graph: string; nodes: number; edges: number }> {
  const format = oneOf<GraphFormat>(args, 'format', GRAPH_FORMATS) ?? 'dot';
  const { graph, issues } = await wholeGraph(ctx);
  const info = new Map<string, NodeInfo>([...issues].map(([id, i]) => [id, { title: i.title, state: i.state }]));
  const { text: out, nodes, edges } = renderGraph(graph, info, format);
  return { format, graph: out, nodes, edges };
}
