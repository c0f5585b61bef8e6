/**
 * A daemon worker's WAL reader thread, kept between its pulls: a pull of a thousand commits is too
 * short to pay for starting a thread (~0.1 s), but a thread already running reads half of it
 * while the worker reads the other half (`ReadWalOptions.reader`, docs/performance.md, "Sync").
 * Stopped after a while without a pull, so that an idle worker holds no second thread.
 */
import { availableParallelism } from 'node:os';
import { WalReader } from './wal-read-ahead.js';

/** How long a reader thread waits for the next pull before it is stopped. */
const IDLE_MS = 60_000;

export class KeptWalReader {
  private reader: WalReader | null = null;
  private idle: NodeJS.Timeout | null = null;

  constructor(
    private readonly gitDir: string,
    private readonly idleMs = IDLE_MS,
  ) {}

  /**
   * The thread, started now if none runs (`warmUp`: the local WAL head, whose pack index it
   * loads first); null on a machine with one core, where it could only slow the pull down.
   */
  get(warmUp: string | null): WalReader | null {
    if (availableParallelism() < 2) return null;
    if (!this.reader?.alive) this.reader = new WalReader(this.gitDir, warmUp);
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stop(), this.idleMs);
    this.idle.unref();
    return this.reader;
  }

  stop(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    this.reader?.stop();
    this.reader = null;
  }
}
