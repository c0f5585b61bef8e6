/**
 * The dependency graph as text for other tools: Graphviz DOT and Mermaid (docs/deps.md). Arrows
 * go from prerequisite to dependent (the "blocks" direction); related_to is an undirected dashed
 * line; edges on a cycle are red; closed issues are grey. Output is byte-for-byte deterministic.
 */
import { findCycles, type DepGraph } from './deps.js';

export type GraphFormat = 'dot' | 'mermaid';
export const GRAPH_FORMATS: readonly GraphFormat[] = ['dot', 'mermaid'];

export interface NodeInfo {
  title: string;
  state: string;
}

export interface GraphText {
  text: string;
  nodes: number;
  edges: number;
}

interface Drawn {
  nodes: string[];
  ordering: { before: string; after: string; onCycle: boolean }[];
  related: [string, string][];
}

/** What gets drawn: issues with at least one edge, distinct edges, related_to pairs once. */
function layout(g: DepGraph): Drawn {
  const onCycle = new Set<string>();
  for (const c of findCycles(g)) c.forEach((id, i) => onCycle.add(`${id} ${c[(i + 1) % c.length]}`));
  const ordering = g.orderingEdges().map(([before, after]) => ({ before, after, onCycle: onCycle.has(`${before} ${after}`) }));
  const pairs = new Map<string, [string, string]>();
  for (const e of g.related) {
    const pair: [string, string] = e.issue_id < e.target ? [e.issue_id, e.target] : [e.target, e.issue_id];
    pairs.set(pair.join(' '), pair);
  }
  const related = [...pairs.values()].sort((a, b) => (a.join(' ') < b.join(' ') ? -1 : 1));
  const used = new Set<string>();
  for (const e of ordering) used.add(e.before).add(e.after);
  for (const [a, b] of related) used.add(a).add(b);
  return { nodes: [...used].sort(), ordering, related };
}

const label = (id: string, info: NodeInfo | undefined): string =>
  `${id.slice(0, 8)} ${info ? info.title : '(unknown issue)'}`;

const dotString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;

function toDot(d: Drawn, info: ReadonlyMap<string, NodeInfo>): string {
  const lines = ['digraph grit_deps {', '  rankdir=LR;', '  node [shape=box];'];
  for (const id of d.nodes) {
    const i = info.get(id);
    const style = !i ? ', style=dotted' : i.state === 'closed' ? ', color=gray, fontcolor=gray' : '';
    lines.push(`  ${dotString(id)} [label=${dotString(label(id, i))}${style}];`);
  }
  for (const e of d.ordering) lines.push(`  ${dotString(e.before)} -> ${dotString(e.after)}${e.onCycle ? ' [color=red]' : ''};`);
  for (const [a, b] of d.related) lines.push(`  ${dotString(a)} -> ${dotString(b)} [dir=none, style=dashed];`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

/**
 * Mermaid has no escape for quotes inside a label but accepts entity codes (`#quot;`, `#35;`),
 * and reads a label as HTML: a title `Vec<T> leaks` lost its `<T>` as an unknown tag, `<b>` made
 * bold and a `#lt;` typed in a title became `<`. So `" < > & #` are written as codes and the
 * title shows as typed.
 */
const MERMAID_CODES: Record<string, string> = { '"': '#quot;', '<': '#lt;', '>': '#gt;', '&': '#amp;', '#': '#35;' };
const mermaidLabel = (s: string): string => `"${s.replace(/["<>&#]/g, (c) => MERMAID_CODES[c]).replace(/\r?\n/g, ' ')}"`;

function toMermaid(d: Drawn, info: ReadonlyMap<string, NodeInfo>): string {
  const node = (id: string) => `i${id}`;
  const lines = ['flowchart LR'];
  for (const id of d.nodes) lines.push(`  ${node(id)}[${mermaidLabel(label(id, info.get(id)))}]`);
  const red: number[] = [];
  d.ordering.forEach((e, k) => {
    lines.push(`  ${node(e.before)} --> ${node(e.after)}`);
    if (e.onCycle) red.push(k);
  });
  for (const [a, b] of d.related) lines.push(`  ${node(a)} -.- ${node(b)}`);
  const closed = d.nodes.filter((id) => info.get(id)?.state === 'closed');
  if (closed.length) lines.push('  classDef closed color:#888,stroke:#888', `  class ${closed.map(node).join(',')} closed`);
  if (red.length) lines.push(`  linkStyle ${red.join(',')} stroke:red`);
  return lines.join('\n') + '\n';
}

export function renderGraph(g: DepGraph, info: ReadonlyMap<string, NodeInfo>, format: GraphFormat): GraphText {
  const d = layout(g);
  const text = format === 'dot' ? toDot(d, info) : toMermaid(d, info);
  return { text, nodes: d.nodes.length, edges: d.ordering.length + d.related.length };
}
