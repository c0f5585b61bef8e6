/**
 * `start.lock` in the daemon's run directory: a daemon holds it while it decides whether it is the
 * one to serve and, if it is, clears what dead daemons left and binds its sockets. Two daemons
 * started at once (a burst of CLIs spawns one each) thus never both judge a socket file stale,
 * where one would unlink the socket the other had just bound (docs/daemon.md, Start-up).
 *
 * The lock is a directory holding an `owner` file, made beside it and renamed into place. A
 * rename onto a directory that is not empty fails, which makes taking the lock atomic, and
 * breaking a stale one too: it is renamed to a tombstone named after its inode, which a second
 * breaker of the same lock then cannot rename onto, so it never moves the lock taken after it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GritError } from '../core/errors.js';
import { pidAlive } from '../core/pid-alive.js';

const LOCK = 'start.lock';
/**
 * A start holds the lock for milliseconds (a second or so on a loaded machine): one held this long
 * is a stuck start's, or one whose pid now names another process, and is broken.
 */
export const START_LOCK_STALE_MS = 30_000;
/** Tombstones and a killed start's unrenamed lock are removed once this old: no breaker is still about to rename by then. */
const DEBRIS_MS = 2 * START_LOCK_STALE_MS;

/**
 * Runs `fn` holding the run directory's start lock, waiting while another live daemon's start holds
 * it. A start that must hold it longer than START_LOCK_STALE_MS (`grit-daemon --replace` waiting
 * for the daemon it replaces to drain) calls `keepFresh` as it waits, so that nobody breaks it:
 * only a wait bounded by a deadline of its own may, or a stuck start would hold it for ever.
 */
export async function withStartLock<T>(runDir: string, fn: (keepFresh: () => void) => Promise<T>): Promise<T> {
  const { ino, unlock } = await acquire(runDir);
  const path = join(runDir, LOCK);
  let freshAt = Date.now();
  const keepFresh = (): void => {
    if (Date.now() - freshAt < 1_000) return;
    freshAt = Date.now();
    try {
      // Its age is its directory's mtime (`holder`); the lock another took after it broke ours is left alone.
      if (statSync(path).ino === ino) utimesSync(path, new Date(), new Date());
    } catch {
      // broken and removed meanwhile
    }
  };
  try {
    return await fn(keepFresh);
  } finally {
    unlock();
  }
}

async function acquire(runDir: string): Promise<{ ino: number; unlock: () => void }> {
  const path = join(runDir, LOCK);
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    // Made afresh for each try: the lock's age is its directory's, from when its owner was written.
    const mine = join(runDir, `${LOCK}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      mkdirSync(mine, { mode: 0o700 });
      writeFileSync(join(mine, 'owner'), JSON.stringify({ pid: process.pid }));
      const { ino } = statSync(mine);
      renameSync(mine, path);
      clearDebris(runDir);
      return { ino, unlock: () => release(runDir, path, ino) };
    } catch (err) {
      rmSync(mine, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw lockError(path, err);
    }
    const held = holder(path);
    if (held?.stale) bury(runDir, path, held.ino);
    else if (held) await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * The lock there now: its inode and whether it is stale (its owner dead, or held too long); null
 * when it is gone already. One whose owner cannot be read is stale by age only: a daemon renames
 * its lock into place whole, so that is one released (or buried) between the two reads.
 */
function holder(path: string): { ino: number; stale: boolean } | null {
  let ino: number;
  let ageMs: number;
  try {
    const st = statSync(path);
    ino = st.ino;
    ageMs = Date.now() - st.mtimeMs;
  } catch {
    return null;
  }
  let pid: unknown = null;
  try {
    pid = JSON.parse(readFileSync(join(path, 'owner'), 'utf8')).pid;
  } catch {
    // gone meanwhile, or not a daemon's
  }
  const dead = typeof pid === 'number' && pid > 0 && !pidAlive(pid);
  return { ino, stale: dead || ageMs > START_LOCK_STALE_MS };
}

/**
 * Moves the lock with inode `ino` out of the way, to `start.lock.dead-<ino>`: of several daemons
 * doing so for one stale lock only the first can (the others find the tombstone there), so none
 * moves a lock taken since. The tombstone stays until clearDebris.
 */
function bury(runDir: string, path: string, ino: number): boolean {
  try {
    renameSync(path, join(runDir, `${LOCK}.dead-${ino}`));
    return true;
  } catch {
    return false; // buried by another daemon already
  }
}

/**
 * Releases the lock, the same way, unless it was broken (held past START_LOCK_STALE_MS). Its
 * tombstone goes at once: nobody judges a live daemon's lock stale, so nobody is about to bury it.
 */
function release(runDir: string, path: string, ino: number): void {
  try {
    if (statSync(path).ino !== ino) return;
  } catch {
    return;
  }
  if (bury(runDir, path, ino)) rmSync(join(runDir, `${LOCK}.dead-${ino}`), { recursive: true, force: true });
}

/** Tombstones, and the unrenamed lock of a start killed before it took it, once old enough. */
function clearDebris(runDir: string): void {
  for (const name of readdirSync(runDir)) {
    if (!name.startsWith(`${LOCK}.`)) continue;
    const path = join(runDir, name);
    try {
      // A rename sets the time of change (ctime): a tombstone's age counts from its burial.
      if (Date.now() - statSync(path).ctimeMs > DEBRIS_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // removed meanwhile
    }
  }
}

function lockError(path: string, err: unknown): GritError {
  const code = (err as NodeJS.ErrnoException).code;
  return new GritError('io_error', `cannot take the daemon's start lock ${path} (${code ?? (err as Error).message})`, {
    details: { path, errno: code ?? null },
    suggestion: `remove ${path} if it is not a directory grit made, or set GRIT_RUN_DIR to another directory`,
    environment: true,
  });
}
