/**
 * The progress of a command the daemon runs, drawn on this terminal's stderr as a run in this
 * process draws its own (core/progress.ts). The CLI subscribes to its request's progress, under a
 * token of its own, before it sends the request (docs/daemon.md, "Progress").
 */
import { ProgressLine } from '../core/progress.js';
import { visible } from '../core/terminal-safe.js';
import { newProgressToken, type ProgressStep } from '../protocol/progress.js';
import { watchProgress as watchSteps, type Watch } from '../protocol/watch.js';

export interface ProgressWatch {
  /** The request's `progress` token. */
  token: string;
  /** Stops drawing, and erases the line. */
  close(): void;
}

function draw(line: ProgressLine, { label, done, total }: ProgressStep): void {
  const text = visible(label);
  if (done !== null && total !== null && total > 0) line.showBar(text, done, total);
  // Not wider than the terminal: a line that wraps is not overwritten by the next.
  else line.show(text.slice(0, line.columns - 1));
}

/** Null when the daemon publishes nothing to subscribe to: the command then runs without progress, as before. */
export async function watchProgress(): Promise<ProgressWatch | null> {
  const token = newProgressToken();
  const line = new ProgressLine(process.stderr);
  let sub: Watch;
  try {
    sub = await watchSteps(token, (step) => draw(line, step), { connectTimeoutMs: 1_000 });
  } catch {
    return null;
  }
  // Ctrl-C stops the wait, not the command (docs/daemon.md): the line is erased, then the CLI
  // ends as an interrupt ends it (the handler is gone by then).
  const interrupted = () => {
    line.clear();
    process.kill(process.pid, 'SIGINT');
  };
  process.once('SIGINT', interrupted);
  return {
    token,
    close() {
      process.off('SIGINT', interrupted);
      sub.close();
      line.clear();
    },
  };
}
