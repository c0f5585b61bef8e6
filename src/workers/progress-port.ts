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
    // git ends a phase's line with `\n` ("Receiving objects: 100% …, done."): that one is always posted.
    gitMeter: (line) => post({ label: line.trim(), done: null, total: null }, line.endsWith('\n')),
  };
}
