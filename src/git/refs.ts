/**
 * Refs read and moved with plain file I/O, following git's own lockfile convention
 * (`<ref>.lock`, created exclusively, renamed over the ref) so that grit and native git never
 * overwrite each other's updates.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { GritError } from '../core/errors.js';
import { diskFullError } from '../core/disk-full.js';
import { crashPoint } from '../core/fault.js';
import { NO_HOOKS, spawnGit } from './git-process.js';
import { isOid } from '../core/hex.js';
import { writeFully } from '../core/write-fully.js';
import { adjustSharedPerm, mkdirShared } from '../core/shared-files.js';
import { sharedPermOf } from './shared-perm.js';
import { replaceIfJudged } from '../core/replace-if-judged.js';
import { readTextOrNull } from '../core/read-text-or-null.js';

/** A lock this old was left by a dead process: holding one takes microseconds to milliseconds. */
export const STALE_LOCK_MS = 5_000;
/**
 * How long casRef waits for a lock held by someone else before giving up with db_busy: longer
 * than STALE_LOCK_MS, so that a writer killed while holding the lock delays the next one instead
 * of failing it.
 */
export const LOCK_WAIT_MS = STALE_LOCK_MS + 3_000;

export interface RefEntry {
  ref: string;
  oid: string;
}

/** Full ref names only (`refs/…` or a root ref like `HEAD`), never a path out of the git dir. */
function checkRefName(ref: string): void {
  const ok =
    (ref.startsWith('refs/') || /^[A-Z][A-Z_]*$/.test(ref)) &&
    !ref.split('/').some((part) => part === '' || part.startsWith('.') || part.endsWith('.lock')) &&
    !/[\0\\\s~^:?*[]|\.\.|@\{/.test(ref);
  if (!ok) throw new GritError('internal_error', `invalid ref name ${JSON.stringify(ref)}`, { details: { ref } });
}

function checkOid(oid: string): void {
  if (!isOid(oid)) throw new GritError('internal_error', `invalid object id ${JSON.stringify(oid)}`, { details: { oid } });
}

const refBytes = Buffer.allocUnsafe(256);

/**
 * A loose ref file's text: open, one read, close. `readFileSync` adds a stat and its options
 * handling, about a third more (~10 µs against ~7.5 µs), on every command a daemon serves.
 */
function readRefFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const n = readSync(fd, refBytes, 0, refBytes.length, 0);
    if (n < refBytes.length) return refBytes.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
  return readFileSync(path, 'utf8'); // longer than any ref git writes: read all of it
}

/**
 * The loose ref's oid; undefined when there is no loose file. Follows symbolic refs.
 * Synchronous on purpose: a 41-byte read costs microseconds, a thread-pool round trip far more.
 */
function readLoose(gitDir: string, ref: string, depth = 0): string | null | undefined {
  let text: string;
  try {
    text = readRefFile(join(gitDir, ref)).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
  if (text.startsWith('ref: ')) {
    if (depth >= 5) throw new GritError('git_error', `symbolic ref ${ref} nests too deeply`, { details: { ref } });
    const target = text.slice(5).trim();
    const loose = readLoose(gitDir, target, depth + 1);
    return loose !== undefined ? loose : (readPacked(gitDir).get(target) ?? null);
  }
  if (!isOid(text)) throw new GritError('git_error', `ref ${ref} does not hold an object id`, { details: { ref } });
  return text;
}

function readPacked(gitDir: string): Map<string, string> {
  const refs = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(join(gitDir, 'packed-refs'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return refs;
    throw err;
  }
  for (const line of text.split('\n')) {
    // `<oid> <ref>`; `# pack-refs with: …` header and `^<oid>` peeled-tag lines are skipped.
    if (line.length > 41 && line[40] === ' ' && isOid(line.slice(0, 40))) refs.set(line.slice(41).trimEnd(), line.slice(0, 40));
  }
  return refs;
}

/** The object id a full ref name (e.g. `refs/grit/wal`) points at, or null when it does not exist. */
export async function readRef(gitDir: string, ref: string): Promise<string | null> {
  checkRefName(ref);
  const loose = readLoose(gitDir, ref);
  if (loose !== undefined) return loose;
  return readPacked(gitDir).get(ref) ?? null;
}

/** The loose ref files under `prefix`, by full name (lock files aside), without reading them. */
function looseRefNames(gitDir: string, prefix: string): string[] {
  const names: string[] = [];
  // Walk the directory that holds the prefix, then filter by the full prefix.
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : dirname(prefix);
  const walk = (rel: string): void => {
    let entries;
    try {
      entries = readdirSync(join(gitDir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      else if (e.isFile() && !e.name.endsWith('.lock') && child.startsWith(prefix)) names.push(child);
    }
  };
  if (base && base !== '.') walk(base);
  return names;
}

/**
 * The object ids of `refs`, packed-refs read at most once for them all (readRef reads it for each
 * ref that is not loose, and after `git gc` packs them that is every one). A ref that does not
 * exist, or whose loose file holds no object id (as listRefs skips it), is left out.
 */
export function readRefs(gitDir: string, refs: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  let packed: Map<string, string> | undefined;
  for (const ref of refs) {
    checkRefName(ref);
    let oid: string | null | undefined;
    try {
      oid = readLoose(gitDir, ref);
    } catch {
      continue; // a broken loose ref: git ignores it too (with a warning)
    }
    if (oid === undefined) oid = (packed ??= readPacked(gitDir)).get(ref);
    if (oid) out.set(ref, oid);
  }
  return out;
}

/**
 * Refs under `prefix` (e.g. `refs/grit/locks/`), loose and packed, a loose ref winning over a
 * packed one of the same name; sorted by name. Lock files and unreadable loose refs are skipped.
 */
export async function listRefs(gitDir: string, prefix: string): Promise<RefEntry[]> {
  const found = new Map<string, string>();
  for (const [ref, oid] of readPacked(gitDir)) if (ref.startsWith(prefix)) found.set(ref, oid);
  for (const ref of looseRefNames(gitDir, prefix)) {
    try {
      const oid = readLoose(gitDir, ref);
      if (oid) found.set(ref, oid);
    } catch {
      /* a broken loose ref: git ignores it too (with a warning) */
    }
  }
  return [...found.entries()].map(([ref, oid]) => ({ ref, oid })).sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/**
 * The names of the refs under `prefix`, loose and packed, unsorted, without reading a loose ref:
 * a readdir, plus packed-refs when there is one. A name may turn out to hold no object id.
 */
export function listRefNames(gitDir: string, prefix: string): Set<string> {
  const names = new Set(looseRefNames(gitDir, prefix));
  for (const ref of readPacked(gitDir).keys()) if (ref.startsWith(prefix)) names.add(ref);
  return names;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

const sameFile = (a: Stats, b: Stats) => a.ino === b.ino && a.dev === b.dev;

/**
 * Removes `lockPath` if it is older than STALE_LOCK_MS. It is first renamed aside and checked to
 * be the very file that was judged stale, so two processes breaking the same stale lock at once
 * never delete a fresh lock that one of them has just taken.
 */
function breakStaleLock(lockPath: string): void {
  const st = statOrNull(lockPath);
  if (!st) return;
  // Neither git nor grit makes anything but a file there: what a person put there is theirs to remove.
  if (!st.isFile()) {
    throw new GritError('io_error', `${lockPath} is not a lock file (a ${st.isDirectory() ? 'directory' : 'special file'}): the ref cannot be moved while it is there`, {
      details: { lock: lockPath },
      suggestion: `remove ${lockPath} (it holds no lock that git or grit took)`,
    });
  }
  if (Date.now() - st.mtimeMs <= STALE_LOCK_MS) return;
  const aside = `${lockPath.slice(0, -'.lock'.length)}.stale-${process.pid}-${randomBytes(4).toString('hex')}.lock`;
  // A fresh lock that replaced the stale one in between is put back for its holder; if the path
  // was taken again meanwhile, that holder notices it lost the lock before renaming.
  const stillStale = (moved: Stats | null): boolean => !moved || (sameFile(moved, st) && moved.mtimeMs === st.mtimeMs);
  replaceIfJudged(lockPath, aside, (path) => stillStale(statOrNull(path)), { bestEffort: true });
}

function tryLock(lockPath: string): number | null {
  try {
    return openSync(lockPath, 'wx', 0o666);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    breakStaleLock(lockPath);
    return null;
  }
}

export interface CasOptions {
  /** How long to wait for someone else's lock (default LOCK_WAIT_MS). */
  timeoutMs?: number;
}

/**
 * Compare-and-swap: moves `ref` from `expectedOld` (null: the ref must not exist) to `newOid`,
 * under `<ref>.lock` exactly as git does. Returns false, changing nothing, when the ref holds
 * something else. Waits (with backoff) while another process holds the lock; throws db_busy when
 * it is still held after the timeout. A lock older than STALE_LOCK_MS is removed as abandoned.
 */
export async function casRef(
  gitDir: string,
  ref: string,
  expectedOld: string | null,
  newOid: string,
  opts: CasOptions = {},
): Promise<boolean> {
  checkRefName(ref);
  checkOid(newOid);
  if (expectedOld !== null) checkOid(expectedOld);
  const refPath = join(gitDir, ref);
  const lockPath = `${refPath}.lock`;
  const perm = sharedPermOf(gitDir);
  mkdirShared(dirname(refPath), perm);
  const timeoutMs = opts.timeoutMs ?? LOCK_WAIT_MS;
  let deadline = Date.now() + timeoutMs;
  let outlasted = false;
  let fd: number | null;
  for (let wait = 1; (fd = tryLock(lockPath)) === null; wait = Math.min(wait * 2, 50)) {
    if (Date.now() > deadline && !outlasted && timeoutMs > STALE_LOCK_MS) {
      // A wait meant to outlast an abandoned lock outlasts the one it ends on too, once: a writer
      // killed holding the lock late in our wait (behind live writers) would fail us otherwise.
      outlasted = true;
      const held = statOrNull(lockPath);
      // An mtime ahead of our clock (skew, a touched file) never stretches the wait past 6 s more.
      if (held?.isFile()) deadline = Math.max(deadline, Math.min(held.mtimeMs, Date.now()) + STALE_LOCK_MS + 1_000);
    }
    if (Date.now() > deadline) {
      throw new GritError('db_busy', `${ref} is locked by another writer (${lockPath})`, {
        details: { ref, lock: lockPath },
        suggestion: `wait and retry; if no git or grit process is running, remove ${lockPath}`,
      });
    }
    await sleep(wait / 2 + Math.random() * wait);
  }
  crashPoint('ref:locked');
  const mine = fstatSync(fd);
  // The file's inode alone does not tell: one that broke our lock deleted it, and the lock it
  // made next may have the freed inode. What we wrote into it does (a commit's id).
  let written = '';
  const stillMine = () => {
    const now = statOrNull(lockPath);
    return now !== null && sameFile(now, mine) && readTextOrNull(lockPath) === written;
  };
  let renamed = false;
  try {
    if ((await readRef(gitDir, ref)) !== expectedOld) return false;
    const text = `${newOid}\n`;
    try {
      writeFully(fd, Buffer.from(text));
      fsyncSync(fd);
    } catch (err) {
      // A full disk refuses the lock's one line: said as the other full-disk failures are, not as
      // a bare errno. `written` is still empty, as the lock is, so it is removed below rather than
      // left for every writer to wait STALE_LOCK_MS on.
      throw diskFullError(dirname(lockPath), lockPath, err, `free space on that disk and run the command again: ${ref} is as it was`) ?? err;
    }
    written = text;
    adjustSharedPerm(lockPath, perm);
    closeSync(fd);
    fd = null;
    // Only a lock held past STALE_LOCK_MS (a stopped process) can have been taken from us.
    if (!stillMine()) return false;
    crashPoint('ref:checked');
    try {
      renameSync(lockPath, refPath);
      renamed = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Stopped between the check and the rename (past STALE_LOCK_MS), this writer may have moved
    // the lock of one that broke its own onto the ref, or that one may have moved ours: the
    // rename alone does not say whose commit landed. Ours did if the ref holds it, or a commit
    // written on top of it since.
    return await landed(gitDir, ref, newOid);
  } finally {
    if (fd !== null) closeSync(fd);
    if (!renamed && stillMine()) rmSync(lockPath, { force: true });
  }
}

/** Whether `ref` holds `oid`, or a commit that has it as an ancestor. */
async function landed(gitDir: string, ref: string, oid: string): Promise<boolean> {
  const now = await readRef(gitDir, ref);
  if (now === oid) return true;
  if (now === null) return false;
  const { code } = await spawnGit({ args: ['--git-dir', gitDir, ...NO_HOOKS, 'merge-base', '--is-ancestor', oid, now], env: process.env });
  return code === 0;
}

/**
 * Deletes each of `refs` that still holds its `oid` (`deleteRef` with `expectedOld`), and returns
 * those that are gone. All in one `git update-ref --stdin` transaction first: one git for the lot,
 * and packed-refs rewritten once, not once a ref (2,000 expired locks were 2,000 gits, each
 * rewriting a packed-refs file of 2,000 lines). A transaction is all or nothing, so if one ref
 * moved meanwhile, or anything else failed, each is deleted on its own as before.
 */
export async function deleteRefs(gitDir: string, refs: readonly { ref: string; oid: string }[]): Promise<Set<string>> {
  for (const { ref, oid } of refs) {
    checkRefName(ref);
    checkOid(oid);
  }
  if (refs.length > 1) {
    const input = refs.map(({ ref, oid }) => `delete ${ref} ${oid}\n`).join('');
    const { code } = await spawnGit({ args: ['--git-dir', gitDir, ...NO_HOOKS, 'update-ref', '--stdin'], env: process.env, input });
    if (code === 0) return new Set(refs.map((r) => r.ref));
  }
  const gone = new Set<string>();
  for (const { ref, oid } of refs) if (await deleteRef(gitDir, ref, oid)) gone.add(ref);
  return gone;
}

/**
 * Deletes a ref, loose and packed, through `git update-ref -d` (git knows how to rewrite
 * packed-refs under its lock). With `expectedOld`, deletes only if the ref still holds it and
 * returns false otherwise. True when the ref is gone.
 */
export async function deleteRef(gitDir: string, ref: string, expectedOld?: string): Promise<boolean> {
  checkRefName(ref);
  if (expectedOld !== undefined) checkOid(expectedOld);
  const args = ['--git-dir', gitDir, ...NO_HOOKS, 'update-ref', '-d', ref, ...(expectedOld ? [expectedOld] : [])];
  const { code, stderr } = await spawnGit({ args, env: process.env });
  if (code === 0) return true;
  if (expectedOld !== undefined && (await readRef(gitDir, ref)) !== expectedOld) return false;
  throw new GritError('git_error', `git update-ref -d ${ref} failed: ${stderr.trim()}`, { details: { ref } });
}
