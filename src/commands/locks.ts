/** `grit lock acquire|renew|release|status|gc` (SPEC §3, docs/locks.md). */
import {
  changeLock,
  MAX_TTL_MS,
  findConflicts,
  gcLocks,
  isLive,
  lastSeenOnRemote,
  localLock,
  type LockOp,
  normalizeResource,
  parseTtl,
  readLocks,
  type Lock,
  type LockEnv,
  type UnreadableLock,
} from '../git/locks.js';
import { remoteConfigured, resolveRemote } from '../git/transport.js';
import { GritError, invalidArgs } from '../core/errors.js';
import { redactUrls } from '../core/redact-url.js';
import { repoRelative } from '../context/paths.js';
import { bool, optInt, optText, text, type Args } from './args.js';
import { withLockWarnings, worktreeRoot, type ContextOptions, type RepoContext } from './context.js';
import { shellWord } from '../core/shell-word.js';

/**
 * The remote locks are taken against: `--remote`, else `origin` when it is configured, else
 * none (local-only locks). `--local` forces local-only; with `--remote` as well it is refused,
 * as neither can be meant more than the other.
 */
async function lockEnv(ctx: RepoContext, args: Args, options: ContextOptions): Promise<LockEnv> {
  const named = optText(args, 'remote');
  const local = bool(args, 'local');
  if (local && named !== undefined) {
    throw invalidArgs('give --local or --remote, not both', { field: 'local', remote: named }, 'drop --local to use the remote, or --remote to keep the lock in this clone');
  }
  return {
    gitDir: ctx.repo.commonDir,
    objects: ctx.wal.objects,
    isAncestor: (a, b) => ctx.wal.isAncestor(a, b),
    owner: ctx.actorId,
    remote: local ? null : await defaultRemote(ctx, named, options),
    vars: options.env,
  };
}

async function defaultRemote(ctx: RepoContext, named: string | undefined, options: ContextOptions): Promise<string | null> {
  if (named !== undefined) return resolveRemote(ctx.repo.commonDir, named, options.cwd ?? process.cwd());
  return (await remoteConfigured(ctx.repo.commonDir, 'origin')) ? 'origin' : null;
}

/**
 * Normalizes the resource; an `issue:` prefix is resolved to the full id of a known issue, and a
 * `path:` is taken relative to the caller's directory (as `context index --path` and `context
 * show` take theirs) and made relative to the worktree root, which is what locks are keyed by.
 */
async function resource(ctx: RepoContext, args: Args, options: ContextOptions): Promise<string> {
  const raw = text(args, 'resource', { nonEmpty: true }).trim();
  const m = /^issue:([0-9a-fA-F]{4,31})$/.exec(raw);
  if (m) return `issue:${(await ctx.resolveIssue(m[1], 'resource')).issue_id}`;
  const path = /^path:(.+)$/s.exec(raw);
  if (path) return normalizeResource(`path:${repoRelative(worktreeRoot(options), path[1].replace(/\\/g, '/'), options.cwd ?? process.cwd())}`);
  return normalizeResource(raw);
}

/**
 * The lock's time to live in ms, from `ttl` (a duration such as `15m`, or seconds) or `ttl_ms` (SPEC
 * §7's IPC argument: a whole number of milliseconds, nothing else). Both at once is refused rather
 * than one silently winning.
 */
function ttl(args: Args): number {
  const ms = optInt(args, 'ttl_ms', { min: 1000, max: MAX_TTL_MS });
  if (ms === undefined) return parseTtl(args.ttl);
  if (args.ttl !== undefined && args.ttl !== null) throw invalidArgs('give ttl or ttl_ms, not both', { field: 'ttl' }, 'drop one of them: ttl_ms takes milliseconds, ttl a duration such as 15m');
  return ms;
}

export interface LockReply {
  lock: Lock;
  remote: string | null;
  /** A `--local` change of a lock the default remote holds live (docs/locks.md). */
  lock_warnings?: string[];
}

/**
 * `op` on the resource, where `args` say. A `--local` change leaves the default remote's lock as
 * it is, and this clone's view then hides it (the local change is newer, and sync keeps it), so
 * the reply warns while the remote, as last fetched, holds that lock live.
 */
async function change(ctx: RepoContext, args: Args, options: ContextOptions, op: LockOp): Promise<LockReply> {
  const env = await lockEnv(ctx, args, options);
  const res = await resource(ctx, args, options);
  const ttlMs = op === 'release' ? undefined : ttl(args);
  const warnings: string[] = [];
  let reply: LockReply;
  try {
    reply = { lock: await changeLock(env, op, res, ttlMs), remote: shown(env.remote) };
  } catch (err) {
    reply = await changeLocalOnly(env, op, res, ttlMs, err, warnings);
  }
  const shadowed = bool(args, 'local') ? await defaultRemote(ctx, undefined, options) : null;
  const held = shadowed === null ? null : await lastSeenOnRemote(env, shadowed, res);
  if (shadowed !== null && held !== null) {
    const by = held.owner === ctx.actorId ? 'you' : held.owner;
    const until = new Date(held.expires_unix_ms).toISOString();
    const what =
      op === 'release'
        ? `a --local release leaves it there and others stay blocked: \`grit lock release --resource ${shellWord(res)}\` releases it on ${shadowed}`
        : `this --local lock is not pushed, and every clone that uses ${shadowed} sees that one`;
    warnings.push(`${res} is locked on ${shadowed} by ${by} until ${until} (as last fetched): ${what}`);
  }
  return withLockWarnings(reply, warnings);
}

/** The remote as a reply or warning shows it: a URL's credentials left out (src/core/redact-url.ts). */
const shown = (remote: string | null): string | null => (remote === null ? null : redactUrls(remote));

/**
 * After `err` from a release or renew against a remote: when the remote has no lock on the
 * resource but this clone holds one of its own there, local-only (taken with `--local`, or before
 * the remote existed: docs/locks.md), it is released or renewed here, as `--local` would, and the
 * reply says so; `not_found` for a lock `lock status` shows would send the user to take it anew.
 */
async function changeLocalOnly(env: LockEnv, op: LockOp, res: string, ttlMs: number | undefined, err: unknown, warnings: string[]): Promise<LockReply> {
  const remote = shown(env.remote);
  const localOnly = remote !== null && err instanceof GritError && err.code === 'not_found' ? await localLock(env, res) : null;
  if (localOnly?.owner !== env.owner) throw err;
  const lock = await changeLock({ ...env, remote: null }, op, res, ttlMs);
  const done = op === 'release' ? 'released here' : `renewed here (\`grit lock acquire --resource ${shellWord(res)}\` takes it on ${remote})`;
  warnings.push(`${res} is a lock of this clone only (taken with --local, or before ${remote} was there), which ${remote} has none of: ${done}`);
  return { lock, remote: null };
}

export const lockAcquire = (ctx: RepoContext, args: Args, options: ContextOptions = {}) => change(ctx, args, options, 'acquire');
export const lockRenew = (ctx: RepoContext, args: Args, options: ContextOptions = {}) => change(ctx, args, options, 'renew');
export const lockRelease = (ctx: RepoContext, args: Args, options: ContextOptions = {}) => change(ctx, args, options, 'release');

export interface LockStatusReply {
  locks: (Lock & { mine: boolean })[];
  conflicts: { resources: [string, string]; owners: [string, string] }[];
  expired: number;
  /** Lock refs that hold no lock grit honours (they block nobody; `lock gc` deletes them). */
  unreadable: UnreadableLock[];
}

/** The local view of the locks (refreshed by `grit sync` and every lock command that uses a remote). */
export async function lockStatus(ctx: RepoContext): Promise<LockStatusReply> {
  const now = Date.now();
  const { locks: all, unreadable } = await readLocks(ctx.repo.commonDir, ctx.wal.objects);
  const live = all.filter((l) => isLive(l, now)).sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
  return {
    locks: live.map((l) => ({ resource: l.resource, owner: l.owner, nonce: l.nonce, expires_unix_ms: l.expires_unix_ms, mine: l.owner === ctx.actorId })),
    conflicts: findConflicts(live, now),
    expired: all.length - live.length,
    unreadable,
  };
}

export async function lockGc(ctx: RepoContext, args: Args, options: ContextOptions = {}): Promise<{ deleted: string[]; kept: number; remote: string | null }> {
  const env = await lockEnv(ctx, args, options);
  return { ...(await gcLocks(env)), remote: shown(env.remote) };
}
