import type { EventKind } from '../../src/core/kinds.js';
import { pick } from './random.js';

/**
 * A random issue event kind for fold property tests: few labels, users and targets, so adds and
 * removes of the same member meet often. `creates` mixes in (second) IssueCreated events.
 */
export function randomKind(rand: () => number, { targets, creates = false }: { targets: Uint8Array[]; creates?: boolean }): EventKind {
  const labels = ['bug', 'p0', 'ui'];
  const users = ['ann', 'bob'];
  const target = pick(targets, rand);
  const depType = () => pick(['blocks', 'related_to'] as const, rand);
  const kinds: (() => EventKind)[] = [
    () => ({ type: 'IssueUpdated', title: rand() < 0.7 ? `t${Math.floor(rand() * 100)}` : null, body: rand() < 0.5 ? 'b' : null }),
    () => ({ type: 'CommentAdded', body: `c${Math.floor(rand() * 1000)}` }),
    () => ({ type: 'LabelAdded', label: pick(labels, rand) }),
    () => ({ type: 'LabelRemoved', label: pick(labels, rand) }),
    () => ({ type: 'StateChanged', state: rand() < 0.5 ? 'open' : 'closed' }),
    () => ({ type: 'AssigneeAdded', user: pick(users, rand) }),
    () => ({ type: 'AssigneeRemoved', user: pick(users, rand) }),
    () => ({ type: 'LinkAdded', url: `https://x/${Math.floor(rand() * 10)}`, note: null }),
    () => ({ type: 'DependencyAdded', target, dep_type: depType() }),
    () => ({ type: 'DependencyRemoved', target, dep_type: depType() }),
  ];
  if (creates) {
    kinds.push(() => ({ type: 'IssueCreated', title: `created${Math.floor(rand() * 10)}`, body: 'b', labels: rand() < 0.5 ? ['bug'] : [] }));
  }
  return pick(kinds, rand)();
}
