/** `context query|show|project|set` (SPEC §5): reads of the context projection and project keys. */
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isWithin } from '../core/path-within.js';
import { cutText, GritError, invalidArgs, quoted, refuseDirectoryPath } from '../core/errors.js';
import { isRemoved, type FileContext, type MatchTier, type ProjectEntry } from '../core/context-store.js';
import { toHex } from '../core/hex.js';
import { PROJECT_CONTEXT_ID } from '../core/ids.js';
import { typedPathCandidates } from '../context/paths.js';
import { languageOf } from '../context/languages.js';
import { callerDir, oneLine, optInt, optText, text, type Args } from './args.js';
import { QUERY_LIMIT } from './ranges.js';
import { withLockWarnings, worktreeRoot, type ContextOptions, type RepoContext } from './context.js';

export interface QueryResult {
  path: string;
  symbol: string;
  kind: string;
  line_start: number;
  line_end: number;
  match: MatchTier;
}

export async function contextQuery(
  ctx: RepoContext,
  args: Args,
): Promise<{ query: string; results: QueryResult[]; truncated: boolean; indexed: boolean }> {
  // One line: a NUL would reach past the name in the symbol index's keys (name, NUL, path, …).
  const query = oneLine(text(args, 'query', { nonEmpty: true }).trim(), 'query');
  const limit = optInt(args, 'limit', QUERY_LIMIT) ?? QUERY_LIMIT.default;
  return ctx.read(() => {
    const { hits, truncated } = ctx.store.context.query(query, limit);
    const results = hits.map((h) => ({
      path: h.path,
      symbol: h.name,
      kind: h.kind,
      line_start: h.line_start,
      line_end: h.line_end,
      match: h.match,
    }));
    // `indexed`: whether anything is indexed at all, for telling "no match" from "nothing to match".
    return { query, results, truncated, indexed: results.length > 0 || ctx.store.context.hasFiles() };
  });
}

/**
 * `context show <path>`: the path as typed is tried relative to the caller's directory (`cwd`,
 * sent by the CLI) first, then relative to the worktree root.
 */
export async function contextShow(ctx: RepoContext, args: Args, options: ContextOptions): Promise<{ file: FileContext }> {
  const raw = text(args, 'path', { nonEmpty: true });
  const candidates = typedPathCandidates(worktreeRoot(options), raw, callerDir(args));
  // `f.txt/` is refused (its slash dropped, the file's context would be shown); a directory's
  // `src/` is answered below, saying context is kept per file.
  const isDir = (path: string) => lstatOrNothing(join(worktreeRoot(options), path))?.isDirectory();
  if (raw.endsWith('/') && !candidates.some(isDir)) refuseDirectoryPath(raw);
  const found = await ctx.read(() => {
    for (const path of candidates) {
      const file = ctx.store.context.file(path);
      if (file && !isRemoved(file)) return file;
    }
    return null;
  });
  if (found) return { file: found };
  const path = candidates[0] ?? raw;
  // The worktree's root is '' to the store: said as `.`.
  throw new GritError('not_found', `no context for ${cutText(path) || '.'}`, { details: { path }, suggestion: whyNoContext(worktreeRoot(options), path) });
}

/**
 * What to do about a path without context, by what is there: `context index` indexes none of a
 * directory, a symlink, a missing file or another language, so "run `grit context index`" was a
 * dead end for them (run again, it still gave nothing).
 */
function whyNoContext(root: string, path: string): string {
  const stat = lstatOrNothing(join(root, path));
  if (!stat) return 'check the path: nothing is there in the worktree (`git ls-files` lists the tracked files)';
  if (stat.isDirectory()) return `${path || '.'} is a directory: context is kept per file (\`grit context show ${path ? `${path}/` : ''}<file>\`, or find a symbol with \`grit context query <name>\`)`;
  if (stat.isSymbolicLink()) {
    const target = readlinkSync(join(root, path));
    return isWithin(root, resolve(dirname(join(root, path)), target))
      ? `${path} is a symbolic link, which \`grit context index\` skips: show the file it points to (${target})`
      : `${path} is a symbolic link to ${target}, outside the worktree: \`grit context index\` skips it`;
  }
  if (!languageOf(path)) return `${path} is not in a language \`grit context index\` reads (docs/context.md lists them)`;
  return 'run `grit context index` (it indexes tracked text files of a supported language, up to 1 MiB)';
}

/**
 * What is at `path`, or nothing. A path that cannot name anything (a file's name with more after
 * it, `a.py/x`: ENOTDIR; a name longer than the file system takes: ENAMETOOLONG) has nothing
 * there too: lstat throws for those, which turned the not_found this hint explains into io_error.
 */
function lstatOrNothing(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ENAMETOOLONG') return undefined;
    throw err;
  }
}

/** Keys are short identifiers (`build.command`, `owner`); values are free text. */
const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;

/**
 * Refuses a key outside the grammar, unless the store holds it: SPEC types keys as text, so
 * another writer may have stored one (an empty key, a newline), and it must still be found and
 * set by its exact text. Only a new key must fit.
 */
function checkKey(key: string, stored: boolean): void {
  if (stored || KEY.test(key)) return;
  throw invalidArgs(
    `invalid key ${quoted(key)}: use letters, digits and _ . : / - (at most 128, not starting with a symbol)`,
    { field: 'key', value: key },
    'for example build.command or owner (`grit context project` lists the keys there are)',
  );
}

export async function contextProject(
  ctx: RepoContext,
  args: Args,
): Promise<{ entries: ProjectEntry[]; total: number } | ProjectEntry> {
  const key = optText(args, 'key');
  if (key === undefined) {
    const entries = await ctx.read(() => ctx.store.context.projectEntries());
    return { entries, total: entries.length };
  }
  const entry = await ctx.read(() => ctx.store.context.projectEntry(key));
  checkKey(key, entry !== undefined);
  if (!entry) {
    throw new GritError('not_found', `no project context key ${cutText(key)}`, {
      details: { key },
      suggestion: 'run `grit context project` to list the keys, `grit context set <key> <value>` to add one',
    });
  }
  return entry;
}

export async function contextSet(
  ctx: RepoContext,
  args: Args,
): Promise<{ issue_id: string; event_id: string; wal_head: string; key: string; value: string }> {
  const key = text(args, 'key');
  const value = text(args, 'value');
  checkKey(key, (await ctx.read(() => ctx.store.context.projectEntry(key))) !== undefined);
  const written = await ctx.write([{ issue_id: PROJECT_CONTEXT_ID, kind: { type: 'ProjectContextUpdated', key, value } }]);
  return withLockWarnings({ issue_id: toHex(PROJECT_CONTEXT_ID), event_id: toHex(written.events[0].event_id), wal_head: written.wal_head, key, value }, written.warnings);
}
