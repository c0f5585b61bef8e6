import { findCycles, firstEdge } from '../core/deps.js';
import { describeCycle, removeCommand } from '../core/dep-text.js';
import { plural } from '../core/plural.js';
import { ok, type Finding, type State } from './doctor-check.js';

/**
 * Cycles of blocks/depends_on edges can only arrive through sync (two clones each adding one
 * half, SPEC §2): commands refuse to close one. They are folded from the WAL, not read from the
 * store, so they are found whatever state the store is in; events the signature policy refuses
 * are left out, as the store leaves them out.
 */
export function checkDependencyCycles(s: State): Finding {
  if (!s.survey) return ok('dependency_cycles', 'not checked: the WAL cannot be read (see wal_ref)');
  const graph = s.survey.deps;
  const edgeCount = graph.orderingEdges().length;
  const cycles = findCycles(graph);
  if (cycles.length === 0) {
    return ok('dependency_cycles', `no cycles among ${plural(edgeCount, 'blocks/depends_on edge')}`);
  }
  // One recorded edge per cycle (`dep remove` takes its mirror too): together they leave none.
  const removals = cycles.map((c) => {
    const { before, after } = firstEdge(c);
    return graph.edgesBetween(before, after)[0];
  });
  return {
    id: 'dependency_cycles',
    status: 'warn',
    message:
      `${plural(cycles.length, 'dependency cycle')} (from concurrent edits merged by sync): ` +
      cycles.map((c) => describeCycle(c)).join('; '),
    plan:
      'these issues cannot be ordered until each cycle loses one edge; decide which dependencies are wrong and remove them, ' +
      `e.g. ${removals.map((e) => `\`${removeCommand(e)}\``).join(' and ')} ` +
      '(one edge per cycle, together leaving none; doctor --fix never does this: it would write to the WAL)',
  };
}
