/**
 * `context index` (SPEC §5): one ContextUpdated per changed file of the current worktree, written
 * in batches (one WAL commit per batch). Semantics and figures: docs/context.md.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cutText, GritError, refuseDirectoryPath } from '../core/errors.js';
import { MAX_RECORDS_BYTES, recordBytesBound } from '../core/chunk.js';
import { isRemoved, REMOVED_HASH } from '../core/context-store.js';
import { fromHex } from '../core/hex.js';
import { contextIssueId } from '../core/ids.js';
import type { EventKind } from '../core/kinds.js';
import { terminalProgress } from '../core/progress.js';
import type { ExtractWarning } from '../context/ast-extract.js';
import { globMatcher, isIgnored, lsFiles, readWorktreeFile } from '../context/files.js';
import { languageOf, type LanguageId } from '../context/languages.js';
import { repoRelative, typedPathCandidates } from '../context/paths.js';
import { summarize } from '../context/summary.js';
import { covers, lockOn, policyLocks, policyRefusal, type Lock } from '../git/locks.js';
import { bool, callerDir, optText, type Args } from './args.js';
import { withLockWarnings, worktreeRoot, type ContextOptions, type RepoContext } from './context.js';
import { shellWord } from '../core/shell-word.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A source file's text: UTF-8, or, where it is not, Latin-1 (each byte one character), the likely
 * encoding of an older source file. Decoded with U+FFFD for the bytes UTF-8 cannot read, a name
 * holding one was cut there by the parsers (`café` in Latin-1 became `caf`), a name no file has.
 */
function sourceText(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/**
 * Events per WAL commit: large enough that a cold index of a big tree is a few commits. A batch is
 * cut sooner when its events would not fit in one chunk (MAX_RECORDS_BYTES).
 */
export const INDEX_BATCH = 500;
/** Bigger files (bundles, generated tables) are skipped: their symbols are noise and slow to parse. */
export const MAX_FILE_BYTES = 1024 * 1024;

export interface IndexReply {
  /** Tracked files in scope that have a supported language. */
  files: number;
  indexed: number;
  unchanged: number;
  /**
   * Files indexed before that are no longer tracked, no longer exist, or are now skipped (too
   * large, unreadable): recorded as removed.
   */
  removed: number;
  skipped: { unsupported: number; too_large: number; unreadable: number };
  symbols: number;
  languages: Record<string, number>;
  /** Files whose symbols came from the regex fallback. */
  fallback_files: number;
  events_written: number;
  commits: number;
  wal_head: string | null;
  warnings: IndexWarning[];
  /**
   * Changed (or removed) files not written because another actor holds a lock on them under
   * `lock_policy = require` (docs/context.md); `resource` is the lock's.
   */
  skipped_locked: { path: string; owner: string; resource: string }[];
}

/** An extractor's warning (with its language), or one about the `--path` the user named (with it). */
export type IndexWarning = ExtractWarning | { path: string; message: string };

type Item = { issue_id: Uint8Array; kind: EventKind };

/** A file's event waiting for its batch. */
interface Pending {
  item: Item;
  /** The most its event takes in a chunk (recordBytesBound). */
  bytes: number;
  path: string;
  /** The event id of the file's context when this run read it (none: never indexed). */
  seen: string | undefined;
  content_hash: string;
  /** What the reply counts for it once written; a tombstone counts as removed. */
  indexed?: { language: LanguageId; symbols: number; regex: boolean };
}

/** Whether another run wrote this file's context, for the same content, since this run read it. */
function writtenMeanwhile(ctx: RepoContext, p: Pending): boolean {
  const now = ctx.store.context.file(p.path);
  return now !== undefined && now.event_id !== p.seen && now.content_hash === p.content_hash;
}

/** Counts a file once its batch is written; one another run wrote meanwhile is unchanged (a tombstone: nothing). */
function tally(reply: IndexReply, p: Pending, written: boolean): void {
  const f = p.indexed;
  if (f === undefined) {
    if (written) reply.removed++;
    return;
  }
  if (!written) {
    reply.unchanged++;
    return;
  }
  reply.indexed++;
  reply.symbols += f.symbols;
  reply.languages[f.language] = (reply.languages[f.language] ?? 0) + 1;
  if (f.regex) reply.fallback_files++;
}

/**
 * The directory or file `--path` names, read as `context show` reads its path (relative to the caller's
 * directory, then to the root: typedPathCandidates), and the `--pattern` filter. lstat: a symlink
 * (even a dangling one) is there, and gets a warning later rather than not_found.
 */
async function scope(root: string, args: Args): Promise<{ dir: string; match: (path: string) => boolean }> {
  const path = optText(args, 'path');
  const pattern = optText(args, 'pattern');
  const match = pattern === undefined ? () => true : globMatcher(pattern);
  if (path === undefined) return { dir: '', match };
  const cwd = callerDir(args);
  const candidates = typedPathCandidates(root, path, cwd);
  // `f.txt/` names a directory: a file there is refused, as every command taking a path refuses it
  // (its slash was dropped, and the file indexed); `src/` is a directory, and a link keeps its warning.
  const slash = path.endsWith('/');
  let file = false;
  for (const dir of candidates) {
    if (dir === '') return { dir, match };
    const st = await lstat(`${root}/${dir}`).catch(() => null);
    if (st && slash && !st.isDirectory() && !st.isSymbolicLink()) file = true;
    else if (st) return { dir, match };
  }
  if (file) refuseDirectoryPath(path);
  // A caller that sends no directory (an MCP tool, the API) has its path read against the root alone.
  const against = cwd === undefined ? 'relative to its root' : 'relative to this one or to its root';
  throw new GritError('not_found', `no such path in the worktree: ${candidates.map((c) => cutText(c)).join(' or ')}`, {
    details: { field: 'path', path: candidates[0] },
    suggestion: `give a directory inside the repository, ${against}`,
  });
}

const inDir = (dir: string) => (path: string) => dir === '' || path === dir || path.startsWith(`${dir}/`);

export async function contextIndex(ctx: RepoContext, args: Args, options: ContextOptions): Promise<IndexReply> {
  const force = bool(args, 'force');
  const root = worktreeRoot(options);
  const { dir, match } = await scope(root, args);
  const lockedBy = await policyGate(ctx, dir);
  const head = await ctx.refresh();
  const listed = await lsFiles(root, dir);
  const tracked = listed.filter((f) => match(f.path));
  const reply: IndexReply = {
    files: 0,
    indexed: 0,
    unchanged: 0,
    removed: 0,
    skipped: { unsupported: 0, too_large: 0, unreadable: 0 },
    symbols: 0,
    languages: {},
    fallback_files: 0,
    events_written: 0,
    commits: 0,
    wal_head: head,
    warnings: [],
    skipped_locked: [],
  };
  const files: { path: string; utf8: boolean; language: LanguageId }[] = [];
  for (const f of tracked) {
    const language = languageOf(f.path);
    if (language) files.push({ ...f, language });
    else reply.skipped.unsupported++;
  }
  reply.files = files.length;

  let pending: Pending[] = [];
  let pendingBytes = 0;
  const lockWarnings: string[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    // Another run (the daemon's and a --no-daemon one, two agents) may have written some of these
    // files since this one read the store: what it wrote for the same content need not be written again.
    await ctx.refresh();
    const fresh: Pending[] = [];
    for (const p of pending) {
      const write = !writtenMeanwhile(ctx, p);
      tally(reply, p, write);
      if (write) fresh.push(p);
    }
    pending = [];
    pendingBytes = 0;
    if (fresh.length === 0) return;
    const written = await ctx.write(fresh.map((p) => p.item));
    reply.events_written += fresh.length;
    reply.commits++;
    reply.wal_head = written.wal_head;
    lockWarnings.push(...written.warnings);
  };
  const push = async (p: Pending) => {
    if (pending.length >= INDEX_BATCH || pendingBytes + p.bytes > MAX_RECORDS_BYTES) await flush();
    pending.push(p);
    pendingBytes += p.bytes;
  };

  const { Extractor } = await import('../context/ast-extract.js');
  const extractor = new Extractor(options.env);
  const bar = (options.progress ?? terminalProgress()).bar('indexing', files.length);
  const present = new Set<string>();
  try {
    for (const [i, { path, utf8, language }] of files.entries()) {
      bar.update(i);
      // An event's path is UTF-8 text: a file whose name is not cannot be indexed (its name as
      // decoded names no file, so it must not count as deleted either).
      if (!utf8) {
        reply.skipped.unreadable++;
        continue;
      }
      // A file skipped here is left out of `present`: context it had no longer describes it, so
      // it gets a tombstone below, as a deleted file does. Tracked but deleted in the worktree
      // (null) counts as gone; a symlink or anything else not read is reported.
      const bytes = readWorktreeFile(root, path);
      if (bytes === null) continue;
      if (bytes === 'unreadable') {
        reply.skipped.unreadable++;
        continue;
      }
      if (bytes.length > MAX_FILE_BYTES) {
        reply.skipped.too_large++;
        continue;
      }
      // Binary content under a source extension has no symbols; parsed, it would be stored as a file without any.
      if (looksBinary(bytes)) {
        reply.skipped.unreadable++;
        continue;
      }
      present.add(path);
      const hash = createHash('sha256').update(bytes).digest();
      const stored = ctx.store.context.file(path);
      if (!force && stored && stored.content_hash === hash.toString('hex')) {
        reply.unchanged++;
        continue;
      }
      if (skipLocked(reply, path, lockedBy(path))) continue;
      const text = sourceText(bytes);
      const { symbols, engine } = await extractor.extract(language, text);
      const kind: EventKind = { type: 'ContextUpdated', path, language, symbols, summary: summarize(text, language), content_hash: hash };
      const size = recordBytesBound(kind);
      // Its event alone would not fit in a WAL chunk, so writing it would fail this run and every
      // one after: skipped as too large, its old context tombstoned like that of a file over MAX_FILE_BYTES.
      if (size > MAX_RECORDS_BYTES) {
        present.delete(path);
        reply.skipped.too_large++;
        continue;
      }
      await push({
        item: { issue_id: contextIssueId(path), kind },
        bytes: size,
        path,
        seen: stored?.event_id,
        content_hash: hash.toString('hex'),
        indexed: { language, symbols: symbols.length, regex: engine === 'regex' },
      });
    }
    bar.update(files.length);
    for (const gone of removedFiles(ctx, dir, match, present)) {
      if (skipLocked(reply, gone, lockedBy(gone))) continue;
      const kind: EventKind = { type: 'ContextUpdated', path: gone, language: '', symbols: [], summary: '', content_hash: fromHex(REMOVED_HASH, 32)! };
      await push({
        item: { issue_id: contextIssueId(gone), kind },
        bytes: recordBytesBound(kind),
        path: gone,
        seen: ctx.store.context.file(gone)?.event_id,
        content_hash: REMOVED_HASH,
      });
    }
    await flush();
  } finally {
    bar.done();
    await extractor.dispose();
  }
  // A path the user named that holds no indexable file would be dropped without a word.
  const named = dir !== '' && listed.length === 0 ? [await namedPathWarning(root, dir)] : [];
  reply.warnings = [...named, ...extractor.warnings];
  return withLockWarnings(reply, lockWarnings);
}

/** git's test for binary content: a NUL byte in the first 8,000 bytes. */
const looksBinary = (bytes: Buffer): boolean => bytes.subarray(0, 8000).includes(0);

/**
 * Under `lock_policy = require`: which file another actor's lock keeps this index from writing. A
 * scope that such a lock holds whole (`repo:`, or a `path:` at or above `--path`) is refused as
 * any write would be: nothing in it could be indexed. A lock on part of it only holds its files back.
 */
async function policyGate(ctx: RepoContext, dir: string): Promise<(path: string) => Lock | undefined> {
  const held = ctx.config.lock_policy === 'require' ? await policyLocks(ctx) : [];
  if (held.length === 0) return () => undefined;
  const scope = dir === '' ? 'repo:' : `path:${dir}`;
  const whole = held.find((l) => covers(l.resource, scope));
  if (whole) throw policyRefusal(scope, whole);
  return (path) => lockOn(held, [{ issue_id: contextIssueId(path), kind: { type: 'ContextUpdated', path } }]);
}

function skipLocked(reply: IndexReply, path: string, lock: Lock | undefined): boolean {
  if (lock) reply.skipped_locked.push({ path, owner: lock.owner, resource: lock.resource });
  return lock !== undefined;
}

/**
 * Why a `--path` holds no file to index: a symlink on the way (never followed), a repository of its
 * own (a submodule), or nothing git tracks there.
 */
async function namedPathWarning(root: string, dir: string): Promise<IndexWarning> {
  const linked = await symlinkMessage(root, dir);
  if (linked !== null) return { path: dir, message: linked };
  const nested = nestedRepository(root, dir);
  if (nested !== null) {
    const where = nested === dir ? `${dir} is a submodule` : `${dir} is inside the submodule ${nested}`;
    return { path: dir, message: `${where} (a repository of its own): run \`grit context index\` inside it to index its files` };
  }
  const isDir = (await stat(`${root}/${dir}`)).isDirectory();
  const what = isDir ? `${dir}/ holds no file tracked by git` : `${dir} is not tracked by git`;
  const fix = (await isIgnored(root, dir)) ? `it is ignored (.gitignore): \`git add -f\` it first if it should be indexed` : '`git add` it first';
  return { path: dir, message: `${what}: ${fix}` };
}

/**
 * The directory at or above `path` that is a git repository of its own (a submodule, or a clone
 * left inside the worktree): the superproject tracks it as one entry, never its files, so "`git
 * add` it" would not help. Null when there is none.
 */
function nestedRepository(root: string, path: string): string | null {
  const parts = path.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (existsSync(`${root}/${dir}/.git`)) return dir;
  }
  return null;
}

/**
 * When `path` is a symlink or lies under one: git lists no file through a symlink and grit
 * indexes none (src/context/files.ts), so "`git add` it" would change nothing. Null otherwise.
 */
async function symlinkMessage(root: string, path: string): Promise<string | null> {
  const realRoot = await realpath(root);
  const target = await realpath(`${root}/${path}`).catch(() => null);
  if (target === join(realRoot, path)) return null;
  const what = `${path} ${(await lstat(`${root}/${path}`)).isSymbolicLink() ? 'is' : 'goes through'} a symbolic link`;
  if (target === null) return `${what} to a path that does not exist: symlinks are not indexed`;
  const inTree = insideWorktree(realRoot, target);
  if (inTree === null) return `${what} to ${target}, outside the worktree: symlinks are not indexed`;
  const shown = inTree === '' ? '.' : inTree;
  return `${what} to ${shown}: symlinks are not indexed, their targets are (\`--path ${shellWord(shown)}\`)`;
}

function insideWorktree(root: string, path: string): string | null {
  try {
    return repoRelative(root, path);
  } catch {
    return null;
  }
}

/** Files with live context in scope that the worktree no longer has (or that this run skipped). */
function removedFiles(ctx: RepoContext, dir: string, match: (p: string) => boolean, present: Set<string>): string[] {
  const under = inDir(dir);
  const out: string[] = [];
  for (const f of ctx.store.context.filesUnder(dir)) {
    if (under(f.path) && match(f.path) && !present.has(f.path) && !isRemoved(f)) out.push(f.path);
  }
  return out;
}
