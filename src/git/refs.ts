/**
 * Refs read and moved with plain file I/O, following git's own lockfile convention
 * (`<ref>.lock`, created exclusively, renamed over the ref) so that grit and native git never
 * overwrite each other's updates.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { GritError } from '../core/errors.js';

const OID = /^[0-9a-f]{40}$/;
/** A lock this old was left by a dead process: holding one takes microseconds. */
export const STALE_LOCK_MS = 10_000;
const LOCK_WAIT_MS = 3_000;

async function readLoose(gitDir: string, ref: string): Promise<string | null | undefined> {
  try {
    const text = (await readFile(join(gitDir, ref), 'utf8')).trim();
    if (text.startsWith('ref: ')) return readRef(gitDir, text.slice(5));
    if (!OID.test(text)) throw new GritError('git_error', `ref ${ref} does not hold an object id`, { details: { ref } });
    return text;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
}

async function readPacked(gitDir: string): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  let text: string;
  try {
    text = await readFile(join(gitDir, 'packed-refs'), 'utf8');
  } catch {
    return refs;
  }
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.startsWith('^') || line.length < 42) continue;
    refs.set(line.slice(41).trim(), line.slice(0, 40));
  }
  return refs;
}

/** The object id a full ref name points at, or null when the ref does not exist. */
export async function readRef(gitDir: string, ref: string): Promise<string | null> {
  const loose = await readLoose(gitDir, ref);
  if (loose !== undefined) return loose;
  return (await readPacked(gitDir)).get(ref) ?? null;
}

export async function listRefs(gitDir: string, prefix: string): Promise<{ ref: string; oid: string }[]> {
  const found = await readPacked(gitDir);
  for (const key of [...found.keys()]) if (!key.startsWith(prefix)) found.delete(key);
  const { readdir } = await import('node:fs/promises');
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(gitDir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(child);
      else if (!e.name.endsWith('.lock')) {
        const oid = await readLoose(gitDir, child);
        if (oid) found.set(child, oid);
      }
    }
  };
  await walk(prefix.replace(/\/$/, ''));
  return [...found.entries()].map(([ref, oid]) => ({ ref, oid })).sort((a, b) => (a.ref < b.ref ? -1 : 1));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tryLock(lockPath: string): number | null {
  try {
    return openSync(lockPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    try {
      if (Date.now() - statSync(lockPath).mtimeMs > STALE_LOCK_MS) rmSync(lockPath, { force: true });
    } catch {
      /* the holder released it meanwhile */
    }
    return null;
  }
}

/**
 * Compare-and-swap: moves `ref` from `expectedOld` (null: must not exist) to `newOid`.
 * Returns false, changing nothing, when the ref holds something else.
 */
export async function casRef(gitDir: string, ref: string, expectedOld: string | null, newOid: string): Promise<boolean> {
  const refPath = join(gitDir, ref);
  const lockPath = `${refPath}.lock`;
  mkdirSync(dirname(refPath), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let fd: number | null;
  for (let wait = 1; (fd = tryLock(lockPath)) === null; wait = Math.min(wait * 2, 50)) {
    if (Date.now() > deadline) {
      throw new GritError('db_busy', `${ref} is locked by another writer (${lockPath})`, {
        details: { lock: lockPath },
        suggestion: `if no git or grit process is running, remove ${lockPath}`,
      });
    }
    await sleep(wait + Math.random() * wait);
  }
  let renamed = false;
  try {
    if ((await readRef(gitDir, ref)) !== expectedOld) return false;
    writeSync(fd, `${newOid}\n`);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(lockPath, refPath);
    renamed = true;
    return true;
  } finally {
    if (fd !== null) closeSync(fd);
    if (!renamed) rmSync(lockPath, { force: true });
  }
}

/** Deletes a ref (loose and packed) through git itself, which knows how to rewrite packed-refs. */
export function deleteRef(gitDir: string, ref: string, expectedOld?: string): void {
  const args = ['--git-dir', gitDir, 'update-ref', '-d', ref, ...(expectedOld ? [expectedOld] : [])];
  const r = spawnSync('git', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new GritError('git_error', `git update-ref -d ${ref} failed: ${r.stderr.trim()}`);
}
