/**
 * Publishes the progress of the requests that asked for it (their `progress` token), each under
 * its own token (src/protocol/progress.ts): the latest step only, at most 10 times a second (the
 * first at once), and the same step again each second while nothing new comes, so that a client whose subscription
 * became live after a step was published (PUB/SUB is best effort) still gets it.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { encodeProgress, type ProgressStep } from '../protocol/progress.js';

const EVERY_MS = 100;
const AGAIN_MS = 1_000;

export interface ProgressChannel {
  /** Sets the request's latest step (one of the supervisor's own, such as a wait). */
  report(step: ProgressStep): void;
  /** A port for the worker thread to report steps on (actor-worker.ts `progress`). */
  port(): MessagePort;
  close(): void;
}

export class ProgressRelay {
  constructor(private readonly publish: (body: Buffer) => void) {}

  open(token: string): ProgressChannel {
    let latest: ProgressStep | null = null;
    let fresh = false;
    let sentAt = 0;
    let channel: MessageChannel | null = null;
    const send = (step: ProgressStep, now: number) => {
      this.publish(encodeProgress(token, step));
      fresh = false;
      sentAt = now;
    };
    // What came in the last 100 ms, and the same again each second.
    const timer = setInterval(() => {
      const now = Date.now();
      if (latest && (fresh || now - sentAt >= AGAIN_MS)) send(latest, now);
    }, EVERY_MS);
    timer.unref();
    const report = (step: ProgressStep) => {
      latest = step;
      fresh = true;
      // At once when nothing went out in the last 100 ms: a command that ends sooner shows it too.
      const now = Date.now();
      if (now - sentAt >= EVERY_MS) send(step, now);
    };
    return {
      report,
      port() {
        if (!channel) {
          channel = new MessageChannel();
          channel.port1.on('message', report);
          // Listening must not keep the daemon up.
          channel.port1.unref();
        }
        return channel.port2;
      },
      close() {
        clearInterval(timer);
        channel?.port1.close();
      },
    };
  }
}
