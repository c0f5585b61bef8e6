/**
 * Which resource each lock ref is for, known without reading the ref (docs/locks.md, "Cost"), so
 * that finding the locks a `path:` overlaps reads only those, not every lock ref.
 *
 * A lock ref's name is derived from its resource (`lockRefName`), so "the ref at <name> is for
 * <resource>" never goes stale: the ref may move, be deleted and come back, and it is still for
 * that resource (a ref holding a lock on anything else is unreadable: locks.ts). Known resources
 * are kept per process and in `.git/grit/lock-resources`, one JSON string a line, appended to
 * (one short O_APPEND write: atomic among processes) and read whole once a process. A line only
 * ever vouches for the name its resource hashes to, so a torn or foreign line can mislead
 * nothing, and a ref whose name is not known (another clone's lock after a sync or a plain git
 * fetch, a lock another process took) is read and its resource learnt: the file is a cache, safe
 * to delete, and needs nobody who changes lock refs to keep it up to date.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFile } from '../core/replace-file.js';
import { appendShared, mkdirShared } from '../core/shared-files.js';
import { sharedPermOf } from './shared-perm.js';

export const LOCK_PREFIX = 'refs/grit/locks/';

export function lockRefName(resource: string): string {
  return LOCK_PREFIX + createHash('sha256').update(resource, 'utf8').digest('hex').slice(0, 16);
}

/** Only such a name can hold a readable lock (`lockRefName`): any other under LOCK_PREFIX needs no reading. */
const LOCK_REF_RE = /^refs\/grit\/locks\/[0-9a-f]{16}$/;
export const mayHoldLock = (ref: string): boolean => LOCK_REF_RE.test(ref);

/** Resources kept in memory per repository; past that, the oldest are forgotten and read again when needed. */
const KNOWN_MAX = 16_384;
/** The file is rewritten with only the resources of existing refs once it has this many lines more than twice those. */
const COMPACT_SLACK = 1024;

const resourcesPath = (gitDir: string) => join(gitDir, 'grit', 'lock-resources');

export class LockResources {
  private readonly byRef = new Map<string, string>();
  /** Lines of the file as this process last knew it (those it read, and wrote since). */
  private lines = 0;

  constructor(private readonly gitDir: string) {
    let text: string;
    try {
      text = readFileSync(resourcesPath(gitDir), 'utf8');
    } catch {
      return; // no file yet (or unreadable): every name is learnt by reading its ref
    }
    for (const line of text.split('\n')) {
      if (line === '') continue;
      this.lines++;
      try {
        const resource: unknown = JSON.parse(line);
        if (typeof resource === 'string') this.remember(resource);
      } catch {
        /* a torn line: its resource is read from the ref when needed */
      }
    }
  }

  /** The resource the lock ref `ref` can hold, if known. */
  resourceOf(ref: string): string | undefined {
    return this.byRef.get(ref);
  }

  /** Records resources whose refs were read or are about to be written; the new ones go to the file. */
  learn(resources: Iterable<string>): void {
    const fresh = [...resources].filter((r) => this.remember(r));
    if (fresh.length === 0) return;
    try {
      const perm = sharedPermOf(this.gitDir);
      mkdirShared(join(this.gitDir, 'grit'), perm);
      appendShared(resourcesPath(this.gitDir), fresh.map((r) => `${JSON.stringify(r)}\n`).join(''), perm);
      this.lines += fresh.length;
    } catch {
      /* a cache: a full or read-only disk only means other processes read those refs again */
    }
  }

  /**
   * Rewrites the file with the resources of the lock refs in `refs` alone, once it mostly holds
   * resources whose locks are gone (each resource ever locked is appended once a process that
   * met it). A line another process appends meanwhile may be lost: it is read again when needed.
   */
  compact(refs: ReadonlySet<string>): void {
    if (this.lines <= 2 * refs.size + COMPACT_SLACK) return;
    const keep = [...refs].map((ref) => this.byRef.get(ref)).filter((r): r is string => r !== undefined);
    const text = keep.map((r) => `${JSON.stringify(r)}\n`).join('');
    try {
      // Its temporary file named as doctor's temp_files knows (replace-file.ts): one a killed
      // compaction left as `lock-resources.tmp-<pid>-<hex>` was never found, and stayed for good.
      if (replaceFile(resourcesPath(this.gitDir), text, { perm: sharedPermOf(this.gitDir), bestEffort: true })) this.lines = keep.length;
    } catch {
      // git's config unreadable (sharedPermOf): a cache, compacted another time
    }
  }

  /** Whether `resource` was new to this process. */
  private remember(resource: string): boolean {
    const ref = lockRefName(resource);
    if (this.byRef.has(ref)) return false;
    if (this.byRef.size >= KNOWN_MAX) this.byRef.delete(this.byRef.keys().next().value!);
    this.byRef.set(ref, resource);
    return true;
  }
}

const byGitDir = new Map<string, LockResources>();

/** This process's LockResources of the repository at `gitDir` (its common dir), read from the file the first time. */
export function lockResources(gitDir: string): LockResources {
  let known = byGitDir.get(gitDir);
  if (!known) byGitDir.set(gitDir, (known = new LockResources(gitDir)));
  return known;
}
