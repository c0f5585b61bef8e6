/**
 * Progress of a long command. In-process it is a one-line bar on stderr, drawn only when stderr is
 * a terminal (never in pipes, logs, tests or a daemon), and git's own fetch meter; through the
 * daemon the worker reports it to the CLI that asked (docs/daemon.md, "Progress"), which draws it
 * with the same line.
 */
export interface Progress {
  /** Sets the number of units done so far. */
  update(done: number): void;
  done(): void;
}

/** Where a command's progress goes. */
export interface ProgressSink {
  bar(label: string, total: number): Progress;
  /** What the command does where it counts nothing: a fetch whose meter git does not show here. */
  phase(label: string): void;
  /** Takes git's progress meter a line at a time (each with its `\r` or `\n`); null: git is to show none. */
  readonly gitMeter: ((line: string) => void) | null;
}

const NOOP: Progress = { update() {}, done() {} };

export const NO_PROGRESS: ProgressSink = { bar: () => NOOP, phase() {}, gitMeter: null };

/** Whether progress may be drawn on `stream`: a terminal, and not turned off by GRIT_NO_PROGRESS. */
export function progressWanted(stream: NodeJS.WriteStream = process.stderr): boolean {
  return stream.isTTY === true && !process.env.GRIT_NO_PROGRESS;
}

// No phase of its own: git's meter shows the fetch.
const TERMINAL: ProgressSink = { bar: (label, total) => progressBar(label, total), phase() {}, gitMeter: (line) => void process.stderr.write(line) };

/** This process's terminal, when progress is wanted there; else nothing. */
export function terminalProgress(): ProgressSink {
  return progressWanted() ? TERMINAL : NO_PROGRESS;
}

/** The one line progress is drawn on: each `show` replaces it; `clear` erases it, if anything was drawn. */
export class ProgressLine {
  /** What the line shows now ('' once cleared): drawn again only when it changes. */
  private shown = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** The terminal's width; a pseudo-terminal given none says 0. */
  get columns(): number {
    return this.stream.columns || 80;
  }

  show(text: string): void {
    if (text === this.shown) return;
    this.stream.write(`\r${text}\x1b[K`);
    this.shown = text;
  }

  /** A bar of `done` out of `total` units, fitted to the terminal's width. */
  showBar(label: string, done: number, total: number): void {
    const width = Math.max(10, Math.min(40, this.columns - label.length - 30));
    const frac = Math.min(1, done / total);
    const fill = Math.round(frac * width);
    this.show(`${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${Math.floor(frac * 100)}% ${done}/${total}`);
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = '';
  }
}

/** A bar on `stream` when progress is wanted there. Redraws at most every 80 ms; `done()` erases the line. */
export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!progressWanted(stream) || total <= 0) return NOOP;
  const line = new ProgressLine(stream);
  let last = 0;
  return {
    update(n: number) {
      const now = Date.now();
      if (now - last < 80 && n < total) return;
      last = now;
      line.showBar(label, n, total);
    },
    done: () => line.clear(),
  };
}
