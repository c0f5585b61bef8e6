/**
 * Dependency cycles and edges as text, for messages and hints. Free of the graph code (and of
 * what it imports) so that the CLI can format without loading it.
 */
import type { DepEdge } from './deps.js';

/** "a1b2c3d4 → e5f6a7b8 → a1b2c3d4": a cycle with short ids, closed back to its start. */
export function describeCycle(cycle: readonly string[], idLength = 8): string {
  return [...cycle, cycle[0]].map((id) => id.slice(0, idLength)).join(' → ');
}

/** The command line that removes a recorded edge (for hints): whole ids, which no other issue shares as a prefix. */
export function removeCommand(e: DepEdge): string {
  return `grit issue dep remove ${e.issue_id} --target ${e.target} --type ${e.dep_type}`;
}
