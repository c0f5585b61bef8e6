/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (never in pipes, logs,
 * tests or a daemon). Redraws at most every 80 ms; `done()` erases the line.
 */
export interface Progress {
  /** Sets the number of units done so far. */
  update(done: number): void;
  done(): void;
}

const NOOP: Progress = { update() {}, done() {} };

/** Whether progress may be drawn on `stream`: a terminal, and not turned off by GRIT_NO_PROGRESS. */
export function progressWanted(stream: NodeJS.WriteStream = process.stderr): boolean {
  return stream.isTTY === true && !process.env.GRIT_NO_PROGRESS;
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!progressWanted(stream) || total <= 0) return NOOP;
  const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 30));
  let last = 0;
  let drawn = false;
  const draw = (n: number) => {
    const frac = Math.min(1, n / total);
    const fill = Math.round(frac * width);
    stream.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${Math.floor(frac * 100)}% ${n}/${total}\x1b[K`);
    drawn = true;
  };
  return {
    update(n: number) {
      const now = Date.now();
      if (now - last < 80 && n < total) return;
      last = now;
      draw(n);
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
