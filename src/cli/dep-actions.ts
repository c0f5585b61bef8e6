/** CLI actions (parsed input → command function → human output) of `issue dep …`. */
import type { DepListEntry, TopoItem } from '../commands/deps.js';
import type { DepEdge } from '../core/deps.js';
import { describeCycle } from '../core/dep-text.js';
import { bold, cyan, dim, green, short, table, yellow } from './format.js';
import type { CliAction } from './output.js';

const edgeArgs = ({ args, flags }: { args: Record<string, unknown>; flags: Record<string, unknown> }) => ({
  issue_id: args.id,
  target: flags.target,
  dep_type: flags.type,
});

const words = (t: string): string => t.replace('_', ' ');
const edgeText = (e: DepEdge): string => `${cyan(short(e.issue_id))} ${words(e.dep_type)} ${cyan(short(e.target))}`;
const stateText = (s: string | null): string => (s === null ? dim('unknown') : s === 'open' ? green('open') : dim('closed'));

function renderList(d: { issue_id: string; reverse: boolean; dependencies: DepListEntry[] }): string {
  if (d.dependencies.length === 0) {
    return dim(d.reverse ? `no issue records a dependency on ${short(d.issue_id)}` : `${short(d.issue_id)} records no dependencies`);
  }
  const rows = d.dependencies.map((e) =>
    d.reverse
      ? [cyan(short(e.issue_id)), words(e.dep_type), 'this', stateText(e.state), e.title ?? '']
      : ['this', words(e.dep_type), cyan(short(e.target)), stateText(e.state), e.title ?? ''],
  );
  return table(rows, { shrink: [4], drop: [3] });
}

function renderTopo(d: { order: TopoItem[]; total: number; cycles: string[][] }): string {
  const lines: string[] = [];
  if (d.total === 0) lines.push(dim('no issues'));
  else {
    const rows = [['#', 'ID', 'STATE', 'LEVEL', 'TITLE', 'AFTER'].map((h) => bold(h))];
    d.order.forEach((i, k) =>
      rows.push([
        String(k + 1),
        cyan(short(i.issue_id)) + (i.in_cycle ? yellow('*') : ''),
        stateText(i.state),
        String(i.level),
        i.title,
        dim(i.after.map(short).join(',')),
      ]),
    );
    // On a terminal a long title (then the prerequisites) is cut so that each issue stays on one
    // line; a narrow one loses the prerequisites, then the levels, before a title is cut to nothing.
    lines.push(table(rows, { shrink: [4, 5], drop: [5, 3] }));
  }
  for (const c of d.cycles) lines.push(`${yellow('cycle')}: ${describeCycle(c)}`);
  if (d.cycles.length) lines.push(dim('* in a cycle (from concurrent edits): see `grit doctor`, break it with `grit issue dep remove`'));
  return lines.join('\n');
}

export const DEP_ACTIONS: Record<string, CliAction> = {
  'issue:dep:add': {
    ipc: 'IssueDepAdd',
    toArgs: edgeArgs,
    render: (d) => `added ${edgeText(d)}`,
  },
  'issue:dep:remove': {
    ipc: 'IssueDepRemove',
    toArgs: edgeArgs,
    render: (d: { removed: DepEdge[] }) => d.removed.map((e) => `removed ${edgeText(e)}`).join('\n'),
  },
  'issue:dep:list': {
    ipc: 'IssueDepList',
    toArgs: ({ args, flags }) => ({ issue_id: args.id, reverse: flags.reverse }),
    render: renderList,
    pages: true,
  },
  'issue:dep:topo': {
    ipc: 'IssueDepTopo',
    toArgs: ({ flags }) => ({ state: flags.state, label: flags.label }),
    render: renderTopo,
    pages: true,
  },
  'issue:dep:graph': {
    ipc: 'IssueDepGraph',
    toArgs: ({ flags }) => ({ format: flags.format }),
    render: (d) => d.graph,
    pages: true,
    payload: () => true,
  },
};
