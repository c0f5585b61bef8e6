/**
 * A daemon worker's progress sink for a request that asked for its progress: each step goes to
 * the supervisor over the request's port, which publishes it for the CLI (supervisor/progress-relay.ts).
 * Steps come at most every 50 ms (the last of a bar always): a bar updated per file of a large
 * index would otherwise post thousands of messages the supervisor drops, as it publishes 10 a
 * second at most.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ProgressSink } from '../core/progress.js';
import type { ProgressStep } from '../protocol/progress.js';

const EVERY_MS = 50;

export function portProgress(port: MessagePort): ProgressSink {
  let last = 0;
  const post = (step: ProgressStep, final: boolean) => {
    const now = Date.now();
    if (!final && now - last < EVERY_MS) return;
    last = now;
    port.postMessage(step);
  };
  return {
    // As on a terminal, a bar of nothing is not drawn.
    bar: (label, total) => ({
      update: (done) => total > 0 && post({ label, done, total }, done >= total),
      done() {},
    }),
    phase: (label) => post({ label, done: null, total: null }, true),
    // git's meter would need git spawned here, outside the spawn helper, which stops the daemon's
    // gits when the daemon dies (docs/daemon.md, "A request that does not end"): a phase says it fetches.
    gitMeter: null,
  };
}
