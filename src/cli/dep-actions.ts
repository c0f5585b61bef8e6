/** CLI actions (parsed input → command function → human output) of `issue dep …`. */
import type { DepListEntry, TopoItem } from '../commands/deps.js';
import type { DepEdge } from '../core/deps.js';
import { describeCycle } from '../core/dep-text.js';
import { cyan, dim, palette, short, table } from './format.js';
import { stateLabel } from './render.js';
import type { CliAction } from './output.js';

const edgeArgs = ({ args, flags }: { args: Record<string, unknown>; flags: Record<string, unknown> }) => ({
  issue_id: args.id,
  target: flags.target,
  dep_type: flags.type,
});

const words = (t: string): string => t.replace('_', ' ');
const edgeText = (e: DepEdge): string => `${cyan(short(e.issue_id))} ${words(e.dep_type)} ${cyan(short(e.target))}`;

function renderList(d: { issue_id: string; reverse: boolean; dependencies: DepListEntry[]; other_way_count?: number }): string {
  if (d.dependencies.length === 0) {
    const id = short(d.issue_id);
    const n = d.other_way_count ?? 0;
    const other = n === 0 ? '' : d.reverse ? ` (it records ${n} itself: \`grit issue dep list ${id}\`)` : ` (${n} recorded on it by other issues: \`grit issue dep list ${id} --reverse\`)`;
    return dim(d.reverse ? `no issue records a dependency on ${id}${other}` : `${id} records no dependencies${other}`);
  }
  const p = palette();
  const rows = d.dependencies.map((e) =>
    d.reverse
      ? [p.cyan(short(e.issue_id)), words(e.dep_type), 'this', stateLabel(e.state, p), e.title ?? '']
      : ['this', words(e.dep_type), p.cyan(short(e.target)), stateLabel(e.state, p), e.title ?? ''],
  );
  return table(rows, { shrink: [4], drop: [3] });
}

function renderTopo(d: { order: TopoItem[]; total: number; cycles: string[][] }): string {
  const p = palette();
  const lines: string[] = [];
  if (d.total === 0) lines.push(p.dim('no issues'));
  else {
    const rows = [['#', 'ID', 'STATE', 'LEVEL', 'TITLE', 'AFTER'].map((h) => p.bold(h))];
    d.order.forEach((i, k) =>
      rows.push([
        String(k + 1),
        p.cyan(short(i.issue_id)) + (i.in_cycle ? p.yellow('*') : ''),
        stateLabel(i.state, p),
        String(i.level),
        i.title,
        p.dim(i.after.map(short).join(',')),
      ]),
    );
    // On a terminal a long list of prerequisites, then a long title, is cut so that each issue
    // stays on one line; a narrow one loses the prerequisites, then the levels, before a title is
    // cut to nothing.
    lines.push(table(rows, { shrink: [5, 4], drop: [5, 3] }));
  }
  for (const c of d.cycles) lines.push(`${p.yellow('cycle')}: ${describeCycle(c)}`);
  if (d.cycles.length) lines.push(p.dim('* in a cycle (from concurrent edits): see `grit doctor`, break it with `grit issue dep remove`'));
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
