/**
 * Talking to a remote through the system `git` binary (spawned without a shell): fetch of
 * `refs/grit/*` into a private namespace, fast-forward / compare-and-swap pushes, remote lookup.
 * Used by sync (src/git/sync.ts) and locks (src/git/locks.ts).
 */
import { terminalProgress } from '../core/progress.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { GritError } from '../core/errors.js';
import { envSeconds } from '../core/env-seconds.js';
import { gitEnv } from './git-env.js';
import { gitWorkDir } from './repo.js';
import { NO_HOOKS, spawnGit, type GitCall, type GitRun } from './git-process.js';
import { autoMaintenanceIdle } from './auto-maintenance.js';
import { promisorRemote } from './partial-clone.js';
import { configMayMention, PUSH_URL_KEYS } from './config-mentions.js';
import { viaSpawnHelper } from './spawn-helper.js';
import { shellWord } from '../core/shell-word.js';

export type { GitRun } from './git-process.js';

/**
 * Runs `git --git-dir <gitDir> …args` in the repository; resolves with its exit code and output
 * (never throws on a non-zero exit). With `meter`, the lines of git's progress meter go there as
 * git writes them; `remote`: git talks to one (`GitCall.remote`).
 */
export function runGit(gitDir: string, args: string[], opts: { meter?: GitMeter; remote?: GitCall['remote']; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<GitRun> {
  return run({ args: ['--git-dir', gitDir, ...args], env: gitEnv(opts.env), cwd: gitWorkDir(gitDir), remote: opts.remote, input: opts.input }, opts.meter);
}

/** Takes git's progress meter a line at a time (ProgressSink.gitMeter). */
type GitMeter = (line: string) => void;

/** `GRIT_GIT_TIMEOUT` unset: a fetch or push may take five minutes (docs/sync.md, "When the remote does not answer"). */
const DEFAULT_REMOTE_TIMEOUT_S = 300;

/**
 * How long one git fetch or push may take, in seconds (0: no limit): `GRIT_GIT_TIMEOUT` of the
 * command's environment (in a daemon, the caller's: src/core/forwarded-env.ts).
 */
function remoteTimeoutS(env: NodeJS.ProcessEnv): number {
  return envSeconds('GRIT_GIT_TIMEOUT', DEFAULT_REMOTE_TIMEOUT_S, { code: 'git_error', zero: 'no limit' }, env);
}

/** git talking to a remote with the command's environment `env`, stopped after `remoteTimeoutS()`. */
function runRemoteGit(gitDir: string, args: string[], env: NodeJS.ProcessEnv, opts: { meter?: GitMeter; input?: string } = {}): Promise<GitRun> {
  return runGit(gitDir, args, { ...opts, env, remote: { timeoutMs: remoteTimeoutS(env) * 1000 } });
}

/** Through the daemon's spawn helper when there is one (never when git's meter is wanted: the helper passes on no stderr as it comes). */
function run(call: GitCall, meter?: GitMeter): Promise<GitRun> {
  return (!meter && viaSpawnHelper(call)) || spawnGit(call, meter ? progressOnly(meter) : undefined);
}

/** git's progress lines, its own and the remote's (`remote: Counting objects: 12% …`). */
const PROGRESS_LINE = /^(remote: )?(Enumerating|Counting|Compressing|Total|Receiving|Resolving|Unpacking)\b/;

/**
 * Passes on the progress lines of git's stderr as they come (each with its `\r` or `\n`) and drops
 * the rest: the ref updates, which name grit's private refs, and errors, which grit reports itself.
 */
function progressOnly(write: GitMeter): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk;
    for (let end = pending.search(/[\r\n]/); end !== -1; end = pending.search(/[\r\n]/)) {
      const line = pending.slice(0, end + 1);
      pending = pending.slice(end + 1);
      if (PROGRESS_LINE.test(line)) write(line);
    }
  };
}

/**
 * The most bytes one argument of a process may hold on Linux (MAX_ARG_STRLEN, 32 pages, less its
 * NUL). git gets the remote as one: a longer one (possible from MCP, the API or an IPC request,
 * never from a shell) failed the spawn with E2BIG, a raw error instead of the caller's mistake.
 */
const MAX_ARG_BYTES = 128 * 1024 - 1;

/** A remote name, URL or path as given by a user; refused when git could take it for an option, or cannot be given it. */
export function checkRemote(remote: string): void {
  const bytes = Buffer.byteLength(remote);
  if (bytes > MAX_ARG_BYTES) {
    throw new GritError('invalid_args', `the remote is ${bytes} bytes, more than one argument to git may hold (128 KiB)`, {
      details: { field: 'remote', bytes },
      suggestion: 'give a remote name (`git remote -v`), a URL or a path',
    });
  }
  if (remote === '' || remote.startsWith('-') || /[\0\n\r]/.test(remote)) {
    throw new GritError('invalid_args', `invalid remote ${JSON.stringify(remote)}`, {
      details: { remote },
      suggestion: 'give a remote name (`git remote -v`), a URL or a path',
    });
  }
}

/** A URL (`scheme://…`) or scp-like `[user@]host:path`: never a local path. */
const URL_LIKE = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/|[^/]*:)/;

/**
 * The remote a caller named, for git: a relative path is made absolute against `cwd`, the
 * caller's working directory (git runs elsewhere: in the repository, or in a daemon started from
 * anywhere). `./x` and `../x` are paths (no remote name starts with a dot); a bare word is a path
 * only when it is one under `cwd` and no remote of that name is configured, as git decides. Names,
 * URLs and absolute paths are kept as given.
 */
export async function resolveRemote(gitDir: string, remote: string, cwd: string): Promise<string> {
  checkRemote(remote);
  if (isAbsolute(remote) || URL_LIKE.test(remote)) return remote;
  const path = resolve(cwd, remote);
  if (remote === '.' || remote === '..' || remote.startsWith('./') || remote.startsWith('../')) return path;
  return existsSync(path) && !(await remoteConfigured(gitDir, remote)) ? path : remote;
}

const SIMPLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

/**
 * Where a remote's `refs/grit/*` are fetched to: `refs/grit-remote/<name>/`. A name that is not a
 * plain ref component (a URL, a path) is replaced by `url-<first 8 bytes of its SHA-256>`.
 */
export function trackingPrefix(remote: string): string {
  const ns =
    SIMPLE_NAME.test(remote) && !remote.endsWith('.lock') && remote.length <= 100
      ? remote
      : `url-${createHash('sha256').update(remote).digest('hex').slice(0, 16)}`;
  return `refs/grit-remote/${ns}/`;
}

/** Remote names as git takes them (`team/up`, `origin.bk`): ref name components. */
const REMOTE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*([./][A-Za-z0-9_-]+)*$/;

/** True when `git config remote.<name>.url` is set. */
export async function remoteConfigured(gitDir: string, name: string): Promise<boolean> {
  if (!REMOTE_NAME.test(name)) return false;
  const r = await runGit(gitDir, ['config', '--get', `remote.${name}.url`]);
  return r.code === 0 && r.stdout.trim() !== '';
}

/**
 * Where `refs/grit/*` of `remote` are read from (fetch, ls-remote): the repository grit's pushes
 * go to. For a configured remote whose push URL differs from its URL (`remote.<name>.pushurl`,
 * `url.<base>.pushInsteadOf`: a read mirror, say), that is the push URL; else `remote` itself.
 * Sync and locks compare what they read with what they push, so the two must be one repository:
 * a mirror behind the push side would refuse every push as not fast-forward (docs/sync.md).
 */
export async function readSide(gitDir: string, remote: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  // Most configurations name no push URL at all, which the files tell without a git process.
  if (!REMOTE_NAME.test(remote) || !(await configMayMention(gitDir, PUSH_URL_KEYS, (call) => run(call), env))) return remote;
  const name = remote.replace(/[.]/g, '\\.');
  const cfg = await runGit(gitDir, ['config', '--get-regexp', `^(remote\\.${name}\\.pushurl|url\\..*\\.pushinsteadof)$`], { env });
  if (cfg.stdout.trim() === '') return remote;
  const [fetchUrl, pushUrl] = await Promise.all([runGit(gitDir, ['remote', 'get-url', remote], { env }), runGit(gitDir, ['remote', 'get-url', '--push', remote], { env })]);
  if (fetchUrl.code !== 0 || pushUrl.code !== 0) return remote; // not a remote after all: git's own error comes with the fetch
  const push = pushUrl.stdout.split('\n')[0];
  return push === fetchUrl.stdout.split('\n')[0] ? remote : push;
}

/** What a failure of git talking to `target`, read for `remote`, is about: the remote, or its push URL. */
function readTarget(what: string, remote: string, target: string): [string, string] {
  return target === remote ? [what, remote] : [`${what} ${remote}'s push URL`, target];
}

function gitFailure(what: string, remote: string, r: GitRun, env: NodeJS.ProcessEnv): GritError {
  const stderr = r.stderr.trim();
  if (r.timedOut) return timedOut(what, remote, stderr, remoteTimeoutS(env));
  const lines = stderr.split('\n');
  const first = lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0] ?? '';
  // What the remote itself said (a hook declining, say), which git's own error line does not repeat.
  const said = lines.filter((l) => l.startsWith('remote: ') && !PROGRESS_LINE.test(l)).map((l) => l.slice(8).trim()).filter(Boolean);
  const refused = said.length > 0 || /\[remote rejected\]/.test(r.stdout);
  const missing = notThere(remote, stderr);
  const ended = r.signal ? `git was ended by ${r.signal} (something killed it)` : `git exited with ${r.code}`;
  const message = `${what} ${remote} failed: ${missing?.message ?? (first || ended)}${said.length ? `; the remote said: ${said.join(' / ')}` : ''}`;
  return new GritError('git_error', message, {
    // No repository where the remote points is missing config: the environment (SPEC §6, exit 5),
    // like no repository here; other arguments or a retry cannot help (docs/decisions.md).
    environment: missing !== null,
    details: { remote, git_exit_code: r.code, stderr },
    suggestion:
      missing?.suggestion ??
      (refused
        ? 'the remote refused the update (a hook or its permissions there): see what it said, or ask whoever runs it'
        : `check the remote (\`git remote -v\`, \`git ls-remote ${shellWord(remote)}\`) and your network or credentials`),
  });
}

/**
 * When git found no repository where `remote` points (its `'<where>' does not appear to be a git
 * repository`), what is wrong and what to do: no remote of that name (git names the bare name
 * when none is configured; the first sync of a repository without origin ends here), a path with
 * no repository, or a configured remote whose URL names none. Null for any other failure
 * (unreachable, refused, credentials), which another try may get past.
 */
function notThere(remote: string, stderr: string): { message: string; suggestion: string } | null {
  const where = /'(.*)' does not appear to be a git repository/.exec(stderr)?.[1];
  if (where === undefined) return null;
  if (where === remote && REMOTE_NAME.test(remote)) {
    return {
      message: `no remote is named ${remote}`,
      suggestion: `see the remotes there are (\`git remote -v\`); add this one (\`git remote add ${shellWord(remote)} <url>\`) or pass --remote <name, URL or path>`,
    };
  }
  const message = `no git repository is at ${where}${where === remote ? '' : `, where ${remote} points`}`;
  return REMOTE_NAME.test(remote)
    ? { message, suggestion: `check its URL (\`git remote -v\`) and correct it (\`git remote set-url ${shellWord(remote)} <url>\`)` }
    : { message, suggestion: 'check the path or URL, or pass --remote a remote name (`git remote -v`)' };
}

/**
 * A fetch or push stopped at its deadline. SPEC §6 has no code for a timeout: git_error, as for
 * any remote that cannot be reached, since it is git's talk with the remote that failed.
 */
function timedOut(what: string, remote: string, stderr: string, seconds: number): GritError {
  return new GritError('git_error', `${what} ${remote} failed: still running after ${seconds} s (GRIT_GIT_TIMEOUT), so grit stopped it`, {
    details: { remote, timed_out: true, timeout_s: seconds, git_exit_code: null, stderr },
    suggestion: `check that the remote answers (\`git ls-remote ${shellWord(remote)}\`); for a slow one, set GRIT_GIT_TIMEOUT to more seconds (0 = no limit)`,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `git fetch --prune <remote> +refs/grit/<sub>*:refs/grit-remote/<ns>/<sub>*`: everything under
 * `refs/grit/` (or only `refs/grit/locks/`) into the private namespace, force-updated and pruned
 * there. Local `refs/grit/*` are never touched. A ref lock held by a concurrent fetch in the same
 * repository is retried a few times; any other failure is a `git_error` carrying git's stderr.
 * git's progress meter, which shows a large fetch moving, goes to `meter` (default: a terminal's).
 */
export async function fetchGrit(gitDir: string, remote: string, sub: '' | 'locks/' = '', env: NodeJS.ProcessEnv = process.env, meter = terminalProgress().gitMeter): Promise<string> {
  checkRemote(remote);
  const prefix = trackingPrefix(remote);
  const [target, maintenanceIdle] = await Promise.all([readSide(gitDir, remote, env), autoMaintenanceIdle(gitDir, (call) => run(call), env)]);
  // --no-show-forced-updates: git would walk history to tell which updates were forced, for
  // output nobody reads here (the tracking refs are forced by design). git then warns about that
  // on every fetch, even with --quiet, and on a terminal its stderr is the user's: hence the -c.
  // --no-filter: in a partial clone (`git clone --filter=blob:none`) git would apply the clone's
  // filter to this fetch too, and the WAL's chunks, which are blobs, would stay on the remote.
  // --no-auto-maintenance: when git's own run of it would surely do nothing (auto-maintenance.ts).
  const args = [...NO_HOOKS, '-c', 'advice.fetchShowForcedUpdates=false', 'fetch', meter ? '--progress' : '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--no-show-forced-updates', '--no-filter', ...(maintenanceIdle ? ['--no-auto-maintenance'] : []), '--prune', target, `+refs/grit/${sub}*:${prefix}${sub}*`];
  for (let attempt = 0; ; attempt++) {
    const r = await runRemoteGit(gitDir, args, env, { meter: meter ?? undefined });
    if (r.code === 0) return prefix;
    if (attempt < 5 && /cannot lock ref|Unable to create .*\.lock|unable to update local ref/i.test(r.stderr)) {
      await sleep(20 * 2 ** attempt * (0.5 + Math.random()));
      continue;
    }
    throw gitFailure(...readTarget('git fetch', remote, target), r, env);
  }
}

/**
 * In a partial clone, fetches from `remote` the objects that `tip` reaches and this repository
 * lacks (down to `have`, whose objects are here), and returns how many were missing (0 in any
 * other repository, where a missing object is not git's to fetch). Commits and trees an earlier,
 * filtered fetch brought stay behind as promisor objects: fetching the ref again brings nothing,
 * so only the missing objects themselves, asked for by id, complete them.
 */
export async function fetchMissing(gitDir: string, remote: string, tip: string, have: string | null, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  checkRemote(remote);
  if (promisorRemote(gitDir, env) === null) return 0;
  const list = await runGit(gitDir, ['rev-list', '--objects', '--missing=print', tip, ...(have ? ['--not', have] : [])], { env });
  if (list.code !== 0) return 0; // what is missing is then the commits themselves: the caller's error says so
  const missing = list.stdout.split('\n').filter((l) => l.startsWith('?')).map((l) => l.slice(1));
  if (missing.length === 0) return 0;
  // noop negotiation: the wanted objects are named, so what this repository has need not be told.
  const target = await readSide(gitDir, remote, env);
  const args = ['-c', 'fetch.negotiationAlgorithm=noop', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--no-filter', '--stdin', target];
  const r = await runRemoteGit(gitDir, args, env, { input: missing.join('\n') + '\n' });
  if (r.code === 0) return missing.length;
  const err = gitFailure(...readTarget('git fetch of the objects this partial clone lacks from', remote, target), r, env);
  throw new GritError('git_error', err.message, {
    details: { ...err.details, missing: missing.length },
    suggestion: r.timedOut
      ? err.suggestion
      : `an earlier fetch under the clone's filter left them out; fetch them by hand (\`git fetch --no-filter ${shellWord(remote)} <id>…\`: the remote must serve objects by id, as protocol v2 or uploadpack.allowAnySHA1InWant do), or clone again without --filter`,
  });
}

export interface PushUpdate {
  /** The object to push, or '' to delete `dst`. */
  src: string;
  /** Full ref name on the remote. */
  dst: string;
  /** With a lease: the remote must hold exactly this (null: must not exist). Without: fast-forward only. */
  lease?: string | null;
  /**
   * What the remote held when this update was decided (null: nothing), when there is no lease:
   * a refusal that may be a race or may be lasting is told apart by whether the ref moved since.
   */
  seen?: string | null;
}

export interface PushOutcome {
  /** Every update was applied (or already up to date). */
  ok: boolean;
  /** Updates the remote refused because it moved (non-fast-forward, stale lease, ref lock race). */
  rejected: { dst: string; reason: string }[];
  /**
   * The refs this push moved or created (not those the remote had at `src` already, nor deletes),
   * with what the remote held before: an object id as git abbreviates it, or null for a new ref.
   */
  updated: { dst: string; from: string | null }[];
  /** git's stderr (the remote's own lines among it). */
  stderr: string;
}

/** A rejection by git itself, or by the server's compare-and-swap: the remote ref moved. */
const MOVED = /\[rejected\]|fetch first|non-fast-forward|stale info|reference already exists/i;
/**
 * What the server says for any ref update it could not make: a compare-and-swap it lost, but also
 * a lasting refusal (a lock file a crashed git left there, a ref in the way of this one).
 */
const FAILED_UPDATE = /cannot lock|failed to update ref|failed to lock|atomic push failed|atomic transaction failed/i;

/** The server's compare-and-swap of `dst` failed: someone moved it. */
const lostRace = (stderr: string, dst: string): boolean => stderr.includes(`cannot lock ref '${dst}': is at `) && /but expected/.test(stderr);

/** The refs' values on the remote now (`git ls-remote`), by name; a ref it lacks is absent. */
async function remoteRefs(gitDir: string, remote: string, refs: string[], env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const target = await readSide(gitDir, remote, env);
  const r = await runGit(gitDir, ['ls-remote', target, ...refs], { env });
  if (r.code !== 0) throw gitFailure(...readTarget('git ls-remote', remote, target), r, env);
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [oid, ref] = line.split('\t');
    if (ref) out.set(ref, oid);
  }
  return out;
}

/**
 * Of the updates git answered `failed to update ref` (or the like) for, whether any moved on the
 * remote since it was decided (`seen`, or the lease): none did, and the refusal is a lasting one.
 * An update decided without knowing the remote's value counts as moved (a race, as before).
 */
async function anyMoved(gitDir: string, remote: string, failed: PushUpdate[], env: NodeJS.ProcessEnv): Promise<boolean> {
  const decidedOn = (u: PushUpdate) => (u.seen !== undefined ? u.seen : u.lease);
  if (failed.some((u) => decidedOn(u) === undefined)) return true;
  const now = await remoteRefs(gitDir, remote, failed.map((u) => u.dst), env);
  return failed.some((u) => (now.get(u.dst) ?? null) !== decidedOn(u));
}

/** A lasting refusal: git's message, and what to do about the cause it names. */
function lastingRefusal(remote: string, r: GitRun, dsts: string[], env: NodeJS.ProcessEnv): GritError {
  const err = gitFailure('git push to', remote, r, env);
  const stale = /Unable to create '([^']+\.lock)': File exists/.exec(r.stderr);
  const inTheWay = /'([^']+)' exists; cannot create '([^']+)'/.exec(r.stderr);
  const suggestion = stale
    ? `a lock file on the remote (${stale[1]}) was left by a git process there that stopped: once nothing is pushing to it, delete that file on the remote`
    : inTheWay
      ? `the remote's ref ${inTheWay[1]} is in the way of ${inTheWay[2]} (not grit's): delete it there (\`git push ${shellWord(remote)} :${inTheWay[1]}\`) if nothing needs it`
      : `the remote did not update ${dsts.join(', ')}, which nobody moved meanwhile: see what it said (\`git push ${shellWord(remote)}\` shows the same)`;
  return new GritError('git_error', err.message, { details: { ...err.details, refs: dsts }, suggestion });
}

/**
 * Pushes the updates (never forced: fast-forward only, or compare-and-swap with a lease). A
 * rejection caused by the remote having moved is reported in `rejected`. The server's "failed to
 * update ref" is one only when the ref really moved since the update was decided (`seen`, the
 * lease; or the server said its compare-and-swap lost); else it is lasting (a stale lock file
 * there, a ref in the way), and retrying could never help. That, and anything else (remote
 * unreachable, a hook declining), is a `git_error` with git's stderr.
 */
export async function pushRefs(gitDir: string, remote: string, updates: PushUpdate[], opts: { atomic?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<PushOutcome> {
  const env = opts.env ?? process.env;
  checkRemote(remote);
  if (updates.length === 0) return { ok: true, rejected: [], updated: [], stderr: '' };
  const leases = updates.filter((u) => u.lease !== undefined).map((u) => `--force-with-lease=${u.dst}:${u.lease ?? ''}`);
  const specs = updates.map((u) => `${u.src}:${u.dst}`);
  // A remote added with `--mirror=push` pushes every ref when pushed to by name, and git refuses
  // refspecs for it ("--mirror can't be combined with refspecs"): grit pushes only its own refs.
  const noMirror = REMOTE_NAME.test(remote) ? ['-c', `remote.${remote}.mirror=false`] : [];
  const r = await runRemoteGit(gitDir, [...noMirror, 'push', '--porcelain', '--no-verify', ...(opts.atomic ? ['--atomic'] : []), ...leases, remote, ...specs], env);
  const rejected: { dst: string; reason: string }[] = [];
  const updated: { dst: string; from: string | null }[] = [];
  const failed: PushUpdate[] = [];
  let other = false;
  for (const line of r.stdout.split('\n')) {
    const m = /^([ *+!])\t[^\t]*:([^\t]+)\t(.*)$/.exec(line);
    if (!m) continue;
    const [, flag, dst, summary] = m;
    if (flag !== '!') {
      updated.push({ dst, from: flag === '*' ? null : (/^([0-9a-f]+)\.\./.exec(summary)?.[1] ?? null) });
      continue;
    }
    rejected.push({ dst, reason: summary });
    if (FAILED_UPDATE.test(summary) && !lostRace(r.stderr, dst)) failed.push(updates.find((u) => u.dst === dst) ?? { src: '', dst });
    else if (!MOVED.test(summary) && !FAILED_UPDATE.test(summary)) other = true;
  }
  if (r.code === 0) return { ok: true, rejected: [], updated, stderr: r.stderr };
  if (rejected.length === 0 || other) throw gitFailure('git push to', remote, r, env);
  if (failed.length > 0 && !(await anyMoved(gitDir, remote, failed, env))) throw lastingRefusal(remote, r, failed.map((u) => u.dst), env);
  return { ok: false, rejected, updated, stderr: r.stderr };
}

/** `git merge-base a b`, or null when the two have no common ancestor. */
export async function mergeBase(gitDir: string, a: string, b: string): Promise<string | null> {
  const r = await runGit(gitDir, ['merge-base', a, b]);
  if (r.code === 0) return r.stdout.trim();
  if (r.code === 1 && r.stderr.trim() === '') return null;
  throw new GritError('git_error', `git merge-base ${a} ${b} failed: ${r.stderr.trim()}`, { details: { stderr: r.stderr } });
}

/** Applies ref updates in one `git update-ref --stdin` transaction (null new value = delete). */
export async function updateRefs(gitDir: string, updates: { ref: string; newOid: string | null; oldOid?: string | null }[]): Promise<void> {
  if (updates.length === 0) return;
  const lines = updates.map((u) =>
    u.newOid === null
      ? `delete ${u.ref}${u.oldOid ? ` ${u.oldOid}` : ''}`
      : `update ${u.ref} ${u.newOid}${u.oldOid !== undefined ? ` ${u.oldOid ?? '0'.repeat(40)}` : ''}`,
  );
  const r = await run({ args: ['--git-dir', gitDir, ...NO_HOOKS, 'update-ref', '--stdin'], env: gitEnv(), cwd: gitWorkDir(gitDir), input: lines.join('\n') + '\n' });
  if (r.code !== 0) throw new GritError('git_error', `git update-ref failed: ${r.stderr.trim()}`, { details: { stderr: r.stderr } });
}
