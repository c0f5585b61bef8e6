/**
 * A daemon worker's WAL reader thread, kept between its pulls: a pull of a thousand commits is too
 * short to pay for starting a thread (~0.1 s), but a thread already running reads half of it
 * while the worker reads the other half (`ReadWalOptions.reader`, docs/performance.md, "Sync").
 * Started by a pull long enough to share (its own reading goes on alone) and stopped a minute
 * after the last such pull, so that a worker whose pulls are short holds no second thread.
 */
import { availableParallelism } from 'node:os';
import { startKeptReader, type ReaderSource, type ReaderThread } from './wal-read-ahead.js';

/** How long a reader thread waits for the next long pull before it is stopped. */
const IDLE_MS = 60_000;

export class KeptWalReader implements ReaderSource {
  private reader: ReaderThread | null = null;
  private idle: NodeJS.Timeout | null = null;

  constructor(
    private readonly gitDir: string,
    private readonly idleMs = IDLE_MS,
  ) {}

  running(): ReaderThread | null {
    return this.reader?.alive ? this.reader : null;
  }

  /** On one core there is none: it could only slow a pull down. */
  start(warmUp: string): void {
    if (availableParallelism() < 2) return;
    if (!this.reader?.alive) this.reader = startKeptReader(this.gitDir, warmUp);
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stop(), this.idleMs);
    this.idle.unref();
  }

  stop(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    this.reader?.stop();
    this.reader = null;
  }
}
