/**
 * Advisory locks (SPEC §3, docs/locks.md): `refs/grit/locks/<first 8 bytes of SHA-256(resource), hex>`,
 * each a commit whose tree holds `lock.json` `{resource, owner, nonce, expires_unix_ms}` and whose
 * parent is the lock's previous state, so every change is a fast-forward. With a remote, the
 * remote's ref is the point of serialization: a lock is taken by a fast-forward-only push, and a
 * rejected push means somebody else changed it first.
 */
import { randomBytes } from 'node:crypto';
import { opendirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LockPolicy } from '../core/config.js';
import { cutText, GritError, invalidArgs, quoted } from '../core/errors.js';
import { DAY_MS, durationMs, DURATION_FORMS } from '../core/duration.js';
import { toHex } from '../core/hex.js';
import { LOCK_PREFIX, lockRefName, lockResources, mayHoldLock } from './lock-resources.js';
import { encodeCommit, encodeTree } from './object-encoding.js';
import type { ObjectSink, ObjectStore } from './objects.js';
import { publishPack } from './pack-publish.js';
import { PackBuilder } from './pack-write.js';
import { casRef, deleteRefs, listRefNames, listRefs, readRef, readRefs } from './refs.js';
import { fetchGrit, pushRefs, trackingPrefix, updateRefs } from './transport.js';

export { LOCK_PREFIX, lockRefName } from './lock-resources.js';
export const DEFAULT_TTL_MS = 5 * 60_000;
export const MAX_TTL_MS = 30 * DAY_MS;

export interface Lock {
  resource: string;
  owner: string;
  nonce: string;
  expires_unix_ms: number;
}

export interface LockRef extends Lock {
  ref: string;
  oid: string;
}

// --- resources and TTLs ---

const TTL_HINT = `give --ttl a duration from 1s to 30d: ${DURATION_FORMS}; for example --ttl 30s, 15m or 2h`;
const RESOURCE_HINT = 'for example --resource path:src/git, issue:3f2a or repo:';

/**
 * `30s`, `15m`, `1.5h`, `1d` (`1500ms` too: src/core/duration.ts); a bare number is seconds, as
 * text (`--ttl 3600`) or as a JSON number (MCP, the API): one unit for every caller, so `3600` is
 * never 3.6 s. Undefined is the default (5m). A bare number of milliseconds comes only as the
 * IPC's `ttl_ms`, which names its unit. At least a second: a shorter lock could lapse before its
 * commit reaches anyone (committer times are whole seconds, and clocks only roughly agree).
 */
export function parseTtl(input: unknown): number {
  if (input === undefined || input === null) return DEFAULT_TTL_MS;
  const given = durationMs(input);
  if (given === null) throw invalidArgs(`--ttl must be a duration such as 15m, or a number of seconds, not ${quoted(input)}`, { field: 'ttl', value: input }, TTL_HINT);
  const ms = Math.round(given);
  if (ms < 1000 || ms > MAX_TTL_MS) {
    throw invalidArgs('--ttl must be between 1s and 30d', { field: 'ttl', value: input }, TTL_HINT);
  }
  return ms;
}

/** Linux's PATH_MAX less its NUL: the longest path a system call takes. */
const MAX_PATH_BYTES = 4095;

/**
 * The canonical form of a resource: `repo:`, `path:<relative/path>` (no `.`/`..`/empty
 * segments, no leading or trailing slash), or `issue:<32 lowercase hex>`.
 */
export function normalizeResource(input: string): string {
  const raw = input.trim();
  if (/[\0-\x1f\x7f]/.test(raw)) throw invalidArgs('a lock resource must not contain control characters', { resource: input }, RESOURCE_HINT);
  const colon = raw.indexOf(':');
  const ns = colon < 0 ? raw : raw.slice(0, colon);
  const rest = colon < 0 ? '' : raw.slice(colon + 1);
  if (ns === 'repo') {
    // Anything after `repo:` (a branch, a module) would still lock everything, unsaid: refused.
    if (rest.trim() !== '') throw invalidArgs(`repo: takes nothing after the colon, and locks the whole repository: ${JSON.stringify(input)}`, { resource: input }, 'lock part of the repository with path:<path> or issue:<id>, or all of it with repo:');
    return 'repo:';
  }
  if (ns === 'path') {
    const parts = rest.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
    if (parts.some((p) => p === '..')) throw invalidArgs('a path: lock must not contain `..`', { resource: input }, 'name the path inside the repository without `..`, such as path:src/git');
    if (parts.length === 0) throw invalidArgs('path: needs a path (lock the whole repository with repo:)', { resource: input }, 'give a path, such as --resource path:src/git, or --resource repo:');
    const path = parts.join('/');
    // Longer, it names no file the system can open, and its lock.json could pass what lock reads
    // take (LOCK_OBJECT_MAX_BYTES): the lock was written, acknowledged, and then "unreadable".
    const bytes = Buffer.byteLength(path);
    if (bytes > MAX_PATH_BYTES) {
      throw invalidArgs(`a path: lock's path is ${bytes} bytes, longer than any path the system opens (${MAX_PATH_BYTES})`, { field: 'resource', bytes }, 'name the file or directory to lock, such as path:src/git');
    }
    return `path:${path}`;
  }
  if (ns === 'issue') {
    const id = rest.toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(id)) {
      // `issue:#12` is a forge's issue number: grit's ids are hex, and a number is not read as one.
      const numbered = /^#\d+$/.test(rest.trim()) ? `: grit issue ids are hex, not numbers like ${rest.trim()}` : '';
      const given = rest.trim() === '' ? 'issue: needs an issue id' : `${JSON.stringify(raw)} does not name an issue${numbered}`;
      throw invalidArgs(`${given} (give issue:<id>, the id 32 hex characters or a unique prefix of 4 or more)`, { resource: input }, 'give an id `grit issue list` shows, such as --resource issue:3f2a');
    }
    return `issue:${id}`;
  }
  throw invalidArgs(`unknown lock resource ${quoted(input)}: use repo:, path:<path> or issue:<id>`, { resource: input }, RESOURCE_HINT);
}

/** Whether a lock on `outer` holds all of `inner`: `repo:` everything, a path itself and what is below it. */
export function covers(outer: string, inner: string): boolean {
  if (outer === 'repo:' || outer === inner) return true;
  return outer.startsWith('path:') && inner.startsWith(`${outer}/`);
}

/** Two resources conflict: `repo:` with anything, paths by segment prefix, issues when equal. */
export const overlaps = (a: string, b: string): boolean => covers(a, b) || covers(b, a);

export const isLive = (l: Lock, now = Date.now()): boolean => l.expires_unix_ms > now;

// --- lock objects ---

const utf8 = new TextEncoder();

export function encodeLock(l: Lock): Uint8Array {
  const ordered: Lock = { resource: l.resource, owner: l.owner, nonce: l.nonce, expires_unix_ms: l.expires_unix_ms };
  return utf8.encode(`${JSON.stringify(ordered)}\n`);
}

/** A lock commit as parsed: its lock as written, and when its committer says it was written. */
interface ParsedLock {
  lock: Lock;
  written_ms: number;
}

/**
 * Lock commits already parsed, by id: a commit's id fixes its content, so an entry can never be
 * stale, and a process (a daemon worker above all) reads each lock commit once however often it
 * looks at the locks. Only well-formed commits are kept: a missing object may arrive later.
 */
const parsedLocks = new Map<string, ParsedLock>();
const PARSED_LOCKS_MAX = 16_384;
/** A lock's commit, tree and `lock.json` are a few hundred bytes; a larger object is no lock grit wrote. */
const LOCK_OBJECT_MAX_BYTES = 64 * 1024;

/** The lock a commit holds, or a string saying why it holds none (read from the object store once: parsedLocks). */
function parseLockCommit(objects: ObjectStore, oid: string): ParsedLock | string {
  const known = parsedLocks.get(oid);
  if (known) return known;
  const opts = { maxBytes: LOCK_OBJECT_MAX_BYTES };
  let commit;
  let v;
  try {
    commit = objects.readCommit(oid, opts);
    const entry = objects.readTree(commit.tree, opts).find((e) => e.name === 'lock.json' && e.mode === '100644');
    if (!entry) return 'its tree has no lock.json';
    v = JSON.parse(objects.readBlob(entry.oid, opts).toString('utf8'));
  } catch (err) {
    return err instanceof SyntaxError ? 'lock.json is not JSON' : (err as Error).message;
  }
  if (
    !v ||
    typeof v.resource !== 'string' ||
    typeof v.owner !== 'string' ||
    !/^[0-9a-f]{32}$/.test(v.owner) ||
    typeof v.nonce !== 'string' ||
    !Number.isSafeInteger(v.expires_unix_ms)
  ) {
    return 'lock.json lacks resource, owner (32 hex), nonce or expires_unix_ms (an integer), or has one of the wrong type';
  }
  const written = / (\d+) [+-]\d{4}$/.exec(commit.committer);
  if (!written) return 'its commit has no committer time';
  const parsed = { lock: { resource: v.resource, owner: v.owner, nonce: v.nonce, expires_unix_ms: v.expires_unix_ms }, written_ms: Number(written[1]) * 1000 };
  if (parsedLocks.size >= PARSED_LOCKS_MAX) parsedLocks.delete(parsedLocks.keys().next().value!);
  parsedLocks.set(oid, parsed);
  return parsed;
}

/**
 * The lock a commit holds as grit honours it, or why it is unreadable. A lock claims at most
 * MAX_TTL_MS past the time its commit was written (grit never writes more), and a commit is
 * not taken as written later than now: so a forged `expires_unix_ms` far in the future holds
 * for 30 days at most, not for ever. A commit dated more than MAX_TTL_MS ahead is unreadable
 * (`lock gc` deletes it), so that no date keeps a lock alive longer (docs/locks.md).
 */
function judgeLockCommit(objects: ObjectStore, oid: string, now: number): Lock | string {
  const parsed = parseLockCommit(objects, oid);
  if (typeof parsed === 'string') return parsed;
  if (parsed.written_ms > now + MAX_TTL_MS) return 'its commit is dated more than 30 days ahead (a forged date, or a clock far off)';
  // grit's committer time is whole seconds, floored: a second of slack.
  const cap = Math.min(parsed.written_ms + 1000, now) + MAX_TTL_MS;
  return parsed.lock.expires_unix_ms <= cap ? parsed.lock : { ...parsed.lock, expires_unix_ms: cap };
}

/** The lock a commit holds, or null when it is not a well-formed lock commit. */
export function readLockCommit(objects: ObjectStore, oid: string, now = Date.now()): Lock | null {
  const lock = judgeLockCommit(objects, oid, now);
  return typeof lock === 'string' ? null : lock;
}

export function writeLockCommit(sink: ObjectSink, lock: Lock, parent: string | null): string {
  const blob = sink.write('blob', encodeLock(lock));
  const tree = sink.write('tree', encodeTree([{ mode: '100644', name: 'lock.json', oid: blob }]));
  const who = { name: 'grit', email: `${lock.owner}@grit.invalid`, timestamp: Math.floor(Date.now() / 1000), tzOffsetMinutes: 0 };
  const verb = lock.expires_unix_ms === 0 ? 'release' : 'lock';
  return sink.write('commit', encodeCommit({ tree, parents: parent ? [parent] : [], author: who, committer: who, message: `grit ${verb}: ${lock.resource}\n` }));
}

/** A lock ref that holds no lock grit can honour, and why (`lock status`, doctor; `lock gc` deletes it). */
export interface UnreadableLock {
  ref: string;
  oid: string;
  problem: string;
}

/**
 * The lock at `ref` (under `prefix`), or why it is unreadable. A lock whose resource does not hash
 * to its ref name is unreadable too: nothing that looks for that resource by name would find it.
 */
function judgeLockRef(objects: ObjectStore, ref: string, oid: string, now: number): LockRef | UnreadableLock {
  const lock = judgeLockCommit(objects, oid, now);
  if (typeof lock === 'string') return { ref, oid, problem: lock };
  if (lockRefName(lock.resource) !== ref) {
    return { ref, oid, problem: `its resource ${JSON.stringify(lock.resource)} belongs under ${lockRefName(lock.resource)}` };
  }
  return { ...lock, ref, oid };
}

export interface LockScan {
  /** The well-formed locks, live or not, by ref name. */
  locks: LockRef[];
  unreadable: UnreadableLock[];
}

/** Every local lock ref, read or judged unreadable. */
export async function readLocks(gitDir: string, objects: ObjectStore): Promise<LockScan> {
  const now = Date.now();
  const scan: LockScan = { locks: [], unreadable: [] };
  for (const { ref, oid } of await listRefs(gitDir, LOCK_PREFIX)) {
    const read = judgeLockRef(objects, ref, oid, now);
    if ('problem' in read) scan.unreadable.push(read);
    else scan.locks.push(read);
  }
  lockResources(gitDir).learn(scan.locks.map((l) => l.resource));
  return scan;
}

/**
 * The locks (live or not) that may overlap one of `resources`, reading only the refs that can.
 * Only `repo:` and the same issue overlap an `issue:`, and those are found by name, so a write to
 * issues or an issue lock reads two or three refs however many locks there are. A `path:` or
 * `repo:` may overlap locks below it, which no name gives: the lock refs are listed (names only)
 * and each one's resource told by its name (lock-resources.ts), so only the overlapping ones and
 * those never met before are read (each lock commit parsed once a process: parsedLocks).
 */
export async function locksOverlapping(gitDir: string, objects: ObjectStore, resources: readonly string[]): Promise<LockRef[]> {
  const known = lockResources(gitDir);
  let refs: Iterable<string>;
  if (resources.every((r) => r.startsWith('issue:'))) refs = new Set(['repo:', ...resources].map(lockRefName));
  else {
    const names = listRefNames(gitDir, LOCK_PREFIX);
    known.compact(names);
    refs = [...names].filter((ref) => {
      const resource = known.resourceOf(ref);
      return mayHoldLock(ref) && (resource === undefined || resources.some((r) => overlaps(resource, r)));
    });
  }
  const now = Date.now();
  const found: LockRef[] = [];
  for (const [ref, oid] of readRefs(gitDir, refs)) {
    const read = judgeLockRef(objects, ref, oid, now);
    if (!('problem' in read)) found.push(read);
  }
  known.learn(found.filter((l) => known.resourceOf(l.ref) === undefined).map((l) => l.resource));
  return found.filter((l) => resources.some((r) => overlaps(l.resource, r))).sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/**
 * Cheap test for "are there any lock refs at all": the first entry of their directory (not all of
 * them: a write that reads two lock refs by name should not list hundreds), plus a scan of
 * packed-refs if there is one.
 */
export function hasLockRefs(gitDir: string): boolean {
  try {
    const dir = opendirSync(join(gitDir, LOCK_PREFIX), { bufferSize: 1 });
    try {
      if (dir.readSync() !== null) return true;
    } finally {
      dir.closeSync();
    }
  } catch {
    /* no directory: no loose lock refs */
  }
  const packed = join(gitDir, 'packed-refs');
  try {
    if (statSync(packed).size === 0) return false;
    return readFileSync(packed, 'utf8').includes(` ${LOCK_PREFIX}`);
  } catch {
    return false;
  }
}

/**
 * The resources that cover `resource` other than itself (`covers`): `repo:`, and for a path each
 * enclosing `path:` (every prefix that ends before a `/`), nearest last.
 */
function coveringResources(resource: string): string[] {
  const out = resource === 'repo:' ? [] : ['repo:'];
  for (let k = resource.indexOf('/'); k !== -1; k = resource.indexOf('/', k + 1)) {
    const outer = resource.slice(0, k);
    if (outer.startsWith('path:')) out.push(outer);
  }
  return out;
}

/**
 * Pairs of live locks held by different owners whose resources overlap, in the order of `locks`
 * (by the first of the pair, then the second). Each lock looks up only the locks on its own
 * resource and on those that cover it (`coveringResources`), not every other lock: with thousands
 * of locks a test of every pair took seconds (`lock status`; docs/performance.md, "Locks").
 */
export function findConflicts(locks: readonly Lock[], now = Date.now()): { resources: [string, string]; owners: [string, string] }[] {
  const live = locks.filter((l) => isLive(l, now));
  const at = new Map<string, number[]>();
  live.forEach((l, i) => {
    const same = at.get(l.resource);
    if (same) same.push(i);
    else at.set(l.resource, [i]);
  });
  const pairs: [number, number][] = [];
  live.forEach((l, i) => {
    // The same resource: each pair once, from its first lock.
    for (const j of at.get(l.resource)!) if (j > i && live[j].owner !== l.owner) pairs.push([i, j]);
    // A covering resource never lists `l` among its own coverers, so these pairs are met only here.
    for (const outer of coveringResources(l.resource)) {
      for (const j of at.get(outer) ?? []) if (live[j].owner !== l.owner) pairs.push(i < j ? [i, j] : [j, i]);
    }
  });
  pairs.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  return pairs.map(([i, j]) => ({ resources: [live[i].resource, live[j].resource], owners: [live[i].owner, live[j].owner] }));
}

/**
 * The lock at `resource`'s ref as far as it is `resource`'s. A lock there on another resource is
 * either a true clash (both hash to the ref: SPEC §3 names a ref by 8 bytes of the hash) or one
 * filed there by another tool; while it is live it is never written over, so that no operation
 * drops another resource's lock (docs/locks.md, "Two resources, one ref"). Expired, it is no lock.
 */
function lockOf(resource: string, found: Lock | null, now: number): Lock | null {
  if (!found || found.resource === resource) return found;
  if (!isLive(found, now)) return null;
  const ref = lockRefName(resource);
  const clash = lockRefName(found.resource) === ref;
  const until = new Date(found.expires_unix_ms).toISOString();
  throw new GritError(
    'conflict',
    clash
      ? `${resource} and ${found.resource} share the lock ref ${ref} (the first 8 bytes of their SHA-256 agree), where ${found.owner} holds ${found.resource} until ${until}: grit cannot lock both at once`
      : `${resource}'s lock ref ${ref} holds a lock on ${found.resource} by ${found.owner} until ${until}, filed there by another tool: grit does not write over it`,
    {
      details: { resource, ref, lock: found, clash },
      suggestion: clash
        ? `lock an enclosing resource instead (a parent path: or repo:), or wait for ${found.resource} to be released`
        : '`grit lock gc` deletes it (it holds no lock grit honours), or wait until it expires',
    },
  );
}

/**
 * What `resource`'s ref at `oid` holds for a lock change (null: nothing). A ref grit cannot read
 * (another implementation's lock under another file name, say) may hold a live lock: a change
 * never writes over it, it is refused like a held lock until `lock gc` deletes it.
 */
function lockAt(objects: ObjectStore, resource: string, oid: string | null, now: number): Lock | null {
  if (oid === null) return null;
  const found = judgeLockCommit(objects, oid, now);
  if (typeof found !== 'string') return lockOf(resource, found, now);
  const ref = lockRefName(resource);
  throw new GritError('conflict', `${resource}'s lock ref ${ref} holds nothing grit can read as a lock (${found}): grit does not write over it, it may be another tool's live lock`, {
    details: { resource, ref, oid, problem: found, unreadable: true },
    suggestion: `\`git cat-file -p ${oid}\` shows what it holds; once whoever wrote it is done with it, \`grit lock gc\` deletes it (on the remote too)`,
  });
}

function heldError(resource: string, holder: Lock): GritError {
  return new GritError('conflict', `${resource} is locked by ${holder.owner} (${holder.resource}) until ${new Date(holder.expires_unix_ms).toISOString()}`, {
    details: { resource, lock: { resource: holder.resource, owner: holder.owner, nonce: holder.nonce, expires_unix_ms: holder.expires_unix_ms } },
    suggestion: 'wait for the lock to expire or be released (`grit lock status`)',
  });
}

// --- merging the remote's locks into the local view ---

/**
 * After a fetch into `trackingPrefix(remote)`: makes the local lock refs follow the remote's.
 * The remote is the authority: a remote lock replaces the local one unless the local one is
 * strictly ahead (a descendant: a change made here and not pushed yet). A lock the remote
 * deleted since the previous fetch (`before`) is deleted here too if it is unchanged locally.
 * A lock missing locally is imported unless it is expired and unchanged since the previous fetch
 * (so a local `lock gc` is not undone). Returns how many local refs changed.
 */
export async function mergeRemoteLocks(
  gitDir: string,
  objects: ObjectStore,
  isAncestor: (a: string, b: string) => Promise<boolean>,
  tracking: string,
  before: ReadonlyMap<string, string>,
): Promise<number> {
  const remotePrefix = `${tracking}locks/`;
  const now = Date.now();
  const local = new Map((await listRefs(gitDir, LOCK_PREFIX)).map((r) => [r.ref.slice(LOCK_PREFIX.length), r.oid]));
  const remote = new Map((await listRefs(gitDir, remotePrefix)).map((r) => [r.ref.slice(remotePrefix.length), r.oid]));
  let changed = 0;
  for (const [name, oid] of remote) {
    const mine = local.get(name);
    if (mine === oid) continue;
    const ref = LOCK_PREFIX + name;
    if (mine === undefined) {
      const lock = readLockCommit(objects, oid);
      if (before.get(remotePrefix + name) === oid && !(lock && isLive(lock, now))) continue;
      if (await casRef(gitDir, ref, null, oid)) changed++;
      continue;
    }
    if (await isAncestor(oid, mine)) continue; // local is ahead
    if (await casRef(gitDir, ref, mine, oid)) changed++;
  }
  // Gone from the remote (its `lock gc`): deleted here too if unchanged here, all with one git.
  const gone: { ref: string; oid: string }[] = [];
  for (const [trackRef, oid] of before) {
    if (!trackRef.startsWith(remotePrefix)) continue;
    const name = trackRef.slice(remotePrefix.length);
    if (!remote.has(name) && local.get(name) === oid) gone.push({ ref: LOCK_PREFIX + name, oid });
  }
  return changed + (await deleteRefs(gitDir, gone)).size;
}

// --- operations ---

export interface LockEnv {
  gitDir: string;
  objects: ObjectStore;
  isAncestor: (a: string, b: string) => Promise<boolean>;
  /** The acting owner (actor id). */
  owner: string;
  /** The remote to acquire against, or null for local-only locks. */
  remote: string | null;
  /** The environment git talks to the remote with (ContextOptions.env); default this process's. */
  vars?: NodeJS.ProcessEnv;
}

export type LockOp = 'acquire' | 'renew' | 'release';

/** Fetches the remote's locks into the tracking namespace and merges them into the local view. */
export async function refreshRemoteLocks(env: LockEnv): Promise<string> {
  const remote = env.remote!;
  const prefix = trackingPrefix(remote);
  const before = new Map((await listRefs(env.gitDir, `${prefix}locks/`)).map((r) => [r.ref, r.oid]));
  await fetchGrit(env.gitDir, remote, 'locks/', env.vars);
  await mergeRemoteLocks(env.gitDir, env.objects, env.isAncestor, prefix, before);
  return prefix;
}

/** Where a fetch from the remote of `prefix` (`trackingPrefix`) keeps its copy of the lock ref `ref`. */
const trackedRef = (prefix: string, ref: string): string => `${prefix}${ref.slice('refs/grit/'.length)}`;

/** The live lock on `resource` that `remote` had when its locks were last fetched (no network), or null. */
export async function lastSeenOnRemote(env: Pick<LockEnv, 'gitDir' | 'objects'>, remote: string, resource: string): Promise<Lock | null> {
  const oid = await readRef(env.gitDir, trackedRef(trackingPrefix(remote), lockRefName(resource)));
  const lock = oid ? readLockCommit(env.objects, oid) : null;
  return lock && lock.resource === resource && isLive(lock) ? lock : null;
}

/** The lock on `resource` in this clone's own refs, live or not, or null. */
export async function localLock(env: Pick<LockEnv, 'gitDir' | 'objects'>, resource: string): Promise<Lock | null> {
  const oid = await readRef(env.gitDir, lockRefName(resource));
  const lock = oid ? readLockCommit(env.objects, oid) : null;
  return lock?.resource === resource ? lock : null;
}

/** A live lock of another owner on a resource overlapping `resource` (its own ref aside). */
function rivalOf(resource: string, all: readonly LockRef[], owner: string, now: number): LockRef | undefined {
  const ref = lockRefName(resource);
  return all.find((o) => o.ref !== ref && o.owner !== owner && isLive(o, now) && overlaps(o.resource, resource));
}

/**
 * Whether `op` takes the resource anew: an acquire, or a renew of a lock that has expired (another
 * owner may have taken an overlapping resource since, which must refuse it as it refuses an acquire).
 */
function takesAnew(op: LockOp, current: Lock | null, now: number): boolean {
  return op === 'acquire' || (op === 'renew' && current !== null && !isLive(current, now));
}

/**
 * Why a renew or release by `owner` finds no lock of theirs to act on: none at all, or one nobody
 * holds any more (expired, or released) that is another owner's. Both are `not_found`, as after
 * `lock gc` deleted the ref: what gc tidies away changes no answer (docs/locks.md).
 */
function noLockError(objects: ObjectStore, resource: string, dead: { lock: Lock; oid: string } | null, now: number): GritError {
  const suggestion = `nobody holds it: take it with \`grit lock acquire --resource ${resource}\``;
  if (!dead) return new GritError('not_found', `no lock on ${cutText(resource)}`, { details: { resource }, suggestion });
  const { lock, oid } = dead;
  const released = lock.expires_unix_ms === 0;
  const parsed = parseLockCommit(objects, oid);
  // A release writes expiry 0, so when it ended is when its commit was written.
  const endedAt = released && typeof parsed !== 'string' ? Math.min(parsed.written_ms, now) : lock.expires_unix_ms;
  const ended = `${released ? `${lock.owner} released it` : `${lock.owner}'s lock expired`} at ${new Date(endedAt).toISOString()}`;
  return new GritError('not_found', `no live lock on ${cutText(resource)}: ${ended}`, {
    details: { resource, lock, ended_unix_ms: endedAt },
    suggestion,
  });
}

/** What `op` writes on top of the current lock (at `oid`), or throws the error that refuses it. */
function nextLock(op: LockOp, resource: string, current: Lock | null, oid: string | null, all: readonly LockRef[], env: LockEnv, ttlMs: number, now: number): Lock {
  if (op !== 'acquire' && (!current || (current.owner !== env.owner && !isLive(current, now)))) {
    throw noLockError(env.objects, resource, current && oid ? { lock: current, oid } : null, now);
  }
  if (takesAnew(op, current, now)) {
    if (current && isLive(current, now) && current.owner !== env.owner) throw heldError(resource, current);
    const rival = rivalOf(resource, all, env.owner, now);
    if (rival) throw heldError(resource, rival);
  }
  if (op === 'acquire') {
    const keep = current && current.owner === env.owner && isLive(current, now);
    return { resource, owner: env.owner, nonce: keep ? current.nonce : randomBytes(16).toString('hex'), expires_unix_ms: now + ttlMs };
  }
  if (current!.owner !== env.owner) {
    throw new GritError('conflict', `${resource} is held by ${current!.owner} until ${new Date(current!.expires_unix_ms).toISOString()}, not by ${env.owner}: only the owner may ${op} it`, {
      details: { resource, lock: current },
      suggestion: 'run `grit lock status` to see who holds it',
    });
  }
  if (op === 'renew') return { ...current!, resource, expires_unix_ms: now + ttlMs };
  return { ...current!, resource, expires_unix_ms: 0 };
}

async function setLocalRef(gitDir: string, ref: string, oid: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const cur = await readRef(gitDir, ref);
    if (cur === oid || (await casRef(gitDir, ref, cur, oid))) return;
  }
  throw new GritError('db_busy', `${ref} keeps moving`, { suggestion: 'retry the command' });
}

/**
 * Just after taking `resource`: if a live overlapping lock of another owner is there now (taken
 * while we decided), releases ours and throws `conflict`. Each of two racing takers writes its own
 * ref before it looks, so at least the later one sees the other: both may back off, never both hold.
 */
async function backOffFromRival(env: LockEnv, resource: string): Promise<void> {
  const rival = rivalOf(resource, await locksOverlapping(env.gitDir, env.objects, [resource]), env.owner, Date.now());
  if (!rival) return;
  // Best effort: the lock expires anyway.
  await changeLock(env, 'release', resource).catch(() => undefined);
  throw heldError(resource, rival);
}

const MAX_LOCK_ATTEMPTS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * acquire / renew / release of one resource (already normalized). Against a remote: fetch the
 * locks, decide, push the new lock commit fast-forward only; a rejected push means the lock
 * moved under us, so the decision is made again on the new state (a few times at most). An
 * acquire (or the renew of an expired lock) then fetches once more and backs off (releases,
 * `conflict`) if an overlapping lock of another owner appeared meanwhile, so two overlapping
 * acquires never both win.
 */
export async function changeLock(env: LockEnv, op: LockOp, resource: string, ttlMs = DEFAULT_TTL_MS): Promise<Lock> {
  const ref = lockRefName(resource);
  // So that no later look at the locks reads this one's ref just to learn what it is for.
  lockResources(env.gitDir).learn([resource]);
  for (let attempt = 0; attempt < MAX_LOCK_ATTEMPTS; attempt++) {
    if (env.remote === null) {
      const oid = await readRef(env.gitDir, ref);
      const decidedAt = Date.now();
      const current = lockAt(env.objects, resource, oid, decidedAt);
      const next = nextLock(op, resource, current, oid, await locksOverlapping(env.gitDir, env.objects, [resource]), env, ttlMs, decidedAt);
      const pack = new PackBuilder();
      const commit = writeLockCommit(pack.sink(), next, oid);
      if (!(await publishPack(env.objects, pack, () => casRef(env.gitDir, ref, oid, commit)))) continue;
      // Overlapping resources are other refs, which the compare-and-swap does not serialize.
      if (takesAnew(op, current, decidedAt)) await backOffFromRival(env, resource);
      return next;
    }
    const prefix = await refreshRemoteLocks(env);
    const trackRef = trackedRef(prefix, ref);
    const remoteOid = await readRef(env.gitDir, trackRef);
    const all = await locksOverlapping(env.gitDir, env.objects, [resource]);
    const decidedAt = Date.now();
    const current = lockAt(env.objects, resource, remoteOid, decidedAt);
    const next = nextLock(op, resource, current, remoteOid, all, env, ttlMs, decidedAt);
    const pack = new PackBuilder();
    const commit = writeLockCommit(pack.sink(), next, remoteOid);
    // Kept until the local refs name the commit too: the push reads it from here (pack-publish.ts).
    const pushed = await publishPack(env.objects, pack, async () => {
      if (!(await pushRefs(env.gitDir, env.remote!, [{ src: commit, dst: ref, seen: remoteOid }], { env: env.vars })).ok) return false;
      await updateRefs(env.gitDir, [{ ref: trackRef, newOid: commit }]);
      await setLocalRef(env.gitDir, ref, commit);
      return true;
    });
    if (!pushed) {
      await sleep(10 * 2 ** attempt * (0.5 + Math.random()));
      continue;
    }
    // As decided: a renewal of a lock that was live then is no taking anew, however long the push took.
    if (takesAnew(op, current, decidedAt)) {
      await refreshRemoteLocks(env);
      await backOffFromRival(env, resource);
    }
    return next;
  }
  throw new GritError('conflict', `${resource}: the lock kept changing on the remote; gave up`, {
    details: { resource, remote: env.remote },
    suggestion: 'retry; run `grit lock status` to see who holds it',
  });
}

/**
 * Deletes expired (and malformed) lock refs; with a remote, on the remote too (each delete a
 * compare-and-swap: a lock re-taken meanwhile is left alone). Returns the resources deleted.
 */
export async function gcLocks(env: LockEnv): Promise<{ deleted: string[]; kept: number }> {
  const prefix = env.remote === null ? null : await refreshRemoteLocks(env);
  const now = Date.now();
  const { locks, unreadable } = await readLocks(env.gitDir, env.objects);
  const dead: { ref: string; oid: string; resource?: string }[] = [...unreadable, ...locks.filter((l) => !isLive(l, now))];
  const deleted: string[] = [];
  let gone = new Set(dead.map((d) => d.ref));
  if (prefix !== null && dead.length > 0) {
    const remoteRefs = new Map((await listRefs(env.gitDir, `${prefix}locks/`)).map((r) => [LOCK_PREFIX + r.ref.slice(`${prefix}locks/`.length), r.oid]));
    const onRemote = dead.filter((d) => remoteRefs.get(d.ref) === d.oid);
    const out = await pushRefs(env.gitDir, env.remote!, onRemote.map((d) => ({ src: '', dst: d.ref, lease: d.oid })), { env: env.vars });
    const refused = new Set(out.rejected.map((r) => r.dst));
    gone = new Set(dead.filter((d) => !refused.has(d.ref)).map((d) => d.ref));
    const tracking = onRemote.filter((d) => !refused.has(d.ref)).map((d) => ({ ref: trackedRef(prefix, d.ref), newOid: null }));
    await updateRefs(env.gitDir, tracking);
  }
  const removed = await deleteRefs(env.gitDir, dead.filter((d) => gone.has(d.ref)));
  for (const d of dead) if (removed.has(d.ref)) deleted.push(d.resource ?? d.ref);
  return { deleted: deleted.sort(), kept: locks.length + unreadable.length - deleted.length };
}

// --- the write-time policy ---

export interface LockCheckContext {
  repo: { commonDir: string };
  actorId: string;
  config: { lock_policy: LockPolicy };
  wal: { objects: ObjectStore };
}

export type LockedItem = { issue_id: Uint8Array; kind: { type: string; path?: unknown } };

/**
 * The live locks of other owners the lock policy acts on (none when it is `off`): all of them, or
 * those that overlap `resources` (locksOverlapping: for issues, a few refs read by name). Costs one
 * readdir when there are no lock refs.
 */
export async function policyLocks(ctx: LockCheckContext, resources?: readonly string[]): Promise<LockRef[]> {
  if (ctx.config.lock_policy === 'off' || !hasLockRefs(ctx.repo.commonDir)) return [];
  const { commonDir } = ctx.repo;
  const locks = resources ? await locksOverlapping(commonDir, ctx.wal.objects, resources) : (await readLocks(commonDir, ctx.wal.objects)).locks;
  const now = Date.now();
  return locks.filter((l) => l.owner !== ctx.actorId && isLive(l, now));
}

/** The resources a write of these items touches: their issues and, for file context, their paths. */
function touched(items: readonly LockedItem[]): string[] {
  const resources = new Set<string>();
  for (const item of items) {
    resources.add(`issue:${toHex(item.issue_id)}`);
    if (item.kind.type === 'ContextUpdated' && typeof item.kind.path === 'string') {
      try {
        resources.add(normalizeResource(`path:${item.kind.path}`));
      } catch {
        /* a path that cannot be a lock resource cannot be locked either */
      }
    }
  }
  return [...resources];
}

/** The first of `held` that a write of `items` touches. */
export function lockOn(held: readonly Lock[], items: readonly LockedItem[]): Lock | undefined {
  const resources = touched(items);
  return held.find((lock) => resources.some((r) => overlaps(lock.resource, r)));
}

/** The `conflict` of a write that `lock_policy = require` refuses because `holder` holds `resource`. */
export function policyRefusal(resource: string, holder: Lock): GritError {
  const err = heldError(resource, holder);
  return new GritError('conflict', `${err.message} (lock_policy = require)`, { details: err.details, suggestion: err.suggestion });
}

/**
 * The lock policy for a write touching these issues (and, for file context, paths): a live lock
 * of another owner on `repo:`, on `issue:<id>` or on an overlapping `path:` is a warning
 * (`warn`: returned, for the write's reply) or a `conflict` (`require`).
 */
export async function checkLocks(ctx: LockCheckContext, items: readonly LockedItem[]): Promise<string[]> {
  const resources = touched(items);
  const held = await policyLocks(ctx, resources);
  if (held.length === 0) return [];
  const warnings: string[] = [];
  for (const lock of held) {
    const hit = resources.find((r) => overlaps(lock.resource, r));
    if (!hit) continue;
    if (ctx.config.lock_policy === 'require') throw policyRefusal(hit, lock);
    warnings.push(`${hit} is locked by ${lock.owner} (${lock.resource}) until ${new Date(lock.expires_unix_ms).toISOString()}; writing anyway (lock_policy = warn)`);
  }
  return warnings;
}
