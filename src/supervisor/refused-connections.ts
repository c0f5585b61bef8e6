/**
 * The connections a daemon closes as it accepts them (at its connection limit, or out of file
 * descriptors), logged at most once a minute with a count: a client that leaks connections
 * would otherwise fill the log with one line per attempt, or, unlogged, leave every later CLI
 * running in-process with no trace of why.
 */
import type { Logger } from 'pino';

const EVERY_MS = 60_000;

export class RefusedConnections {
  private held = 0;
  private lastLogged = -Infinity;

  constructor(
    private readonly logger: Logger,
    private readonly maxConnections: number,
  ) {}

  /** One refused (`why`: RepServer's 'rejected' reason, or the accept error's code). */
  count(why: string): void {
    this.held++;
    const now = Date.now();
    if (now - this.lastLogged < EVERY_MS) return;
    this.logger.warn(
      { refused: this.held, reason: why, max_connections: this.maxConnections },
      why === 'max_connections'
        ? `closing new connections: the daemon has ${this.maxConnections} open, its limit (a client that does not close its connections?)`
        : `closing new connections (${why}): the daemon cannot accept them`,
    );
    this.held = 0;
    this.lastLogged = now;
  }
}
