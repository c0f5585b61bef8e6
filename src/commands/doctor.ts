/**
 * `doctor [--fix]` (SPEC §5, §6): `{checks:[{id, status, message, plan}], applied}`.
 *
 * Checks, in order: git_repo, wal_ref, actor_config, actor_dirs, store_integrity,
 * rebuild_threshold, snapshots, dependency_cycles, signatures, lock_refs, temp_files. Doctor never
 * opens the store in its own process before a child process has read it without dying (a
 * truncated LMDB file kills whoever maps it), and never creates an actor. `--fix` makes only safe
 * local repairs: rebuild the store (a cache) from the WAL, remove lock files left by dead
 * processes under `.git/refs/grit/` and the actor directory, append again to the WAL the events
 * of a store that plain git overwrote the WAL under (what the next command would do:
 * lost-events.ts), replace a WAL with a hole (a commit git lacks) by one holding the same events
 * when the store holds every one of them, and delete actor directories an interrupted init left
 * that hold nothing (actor-dirs.ts). Beyond that it never touches refs, the WAL, snapshots,
 * configs, keys or remotes; for those the `plan` says what a person should do. After fixing, the
 * checks run again and report the repaired state.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_REPO_CONFIG, type RepoConfig } from '../core/config.js';
import { findCycles, firstEdge } from '../core/deps.js';
import { describeCycle, removeCommand } from '../core/dep-text.js';
import { GritError } from '../core/errors.js';
import { loadKeyring, type Keyring } from '../core/integrity.js';
import { readOwnSigningKey, signingKeyPath } from '../core/signing.js';
import { isEmptyStore, Store, type StoreMeta } from '../core/store.js';
import { movedHere, repoIdentity, sameRepo, type RepoIdentity } from '../core/repo-identity.js';
import { storeFile, storeFiles } from '../core/store-file.js';
import { findRepo, type RepoDirs, type RepoPaths } from '../git/repo.js';
import { sharedPermAt } from '../git/shared-perm.js';
import { readLocks } from '../git/locks.js';
import { listRefs } from '../git/refs.js';
import { listSnapshots, SNAPSHOT_PREFIX, unusableSnapshots } from '../git/snapshot.js';
import { refusedSnapshots } from '../git/snapshot-trust.js';
import { isFilteredWal, isWalHole, Wal } from '../git/wal.js';
import { toHex } from '../core/hex.js';
import { surveyWal, type WalSurvey } from './doctor-wal.js';
import { checkSignatures } from './doctor-signatures.js';
import { keyFileTimes } from './key-added.js';
import { findLostEvents, replaceBrokenWal } from './lost-events.js';
import { orphanActorDirs, removeOrphanActorDirs, type OrphanContext } from './actor-dirs.js';
import { actorsDir, actorsHere, findActor, loadRepoConfig, missingDefaultActor, noDefaultActor, readActorDir, repoConfigPath, type ActorRef } from './actors.js';
import { bool, type Args } from './args.js';
import { dataDirOf, givenActor, refuseEmptySelection } from './data-dir.js';
import { actorConfigRepair, repoConfigRepair, type RepairPlan } from './config-repair.js';
import { RepoContext, type CommandEnv, type ContextOptions } from './context.js';
import { judgeLock, refuseIfDaemonHolds } from './lockfile.js';
import { rebuildAdvice, type DbCheck } from './db-commands.js';
import { rebuildStore } from './rebuild.js';
import { actorInRepo, judgeForeignStore } from './store-owner.js';
import { plural } from '../core/plural.js';
import { writeDenied } from '../core/write-access.js';
import { fullNow, noRoomForNewStore } from '../core/disk-full.js';
import { leftTempFiles, removeLeftTempFiles } from './temp-files.js';

export type CheckStatus = 'ok' | 'warn' | 'error';

export interface Check {
  id: string;
  status: CheckStatus;
  message: string;
  /** What `--fix` would do, or what a person should do; null when there is nothing to do. */
  plan: string | null;
}

interface Fix {
  /** Fixes with the same key run once (store_integrity and rebuild_threshold share "rebuild"). */
  key: string;
  run: () => Promise<string>;
}

interface Finding extends Check {
  fixes?: Fix[];
}

export const CHECK_IDS = [
  'git_repo',
  'wal_ref',
  'actor_config',
  'actor_dirs',
  'store_integrity',
  'rebuild_threshold',
  'snapshots',
  'dependency_cycles',
  'signatures',
  'lock_refs',
  'temp_files',
] as const;

const ok = (id: string, message: string): Finding => ({ id, status: 'ok', message, plan: null });

// --- lock files --------------------------------------------------------------------------------

/** `.lock` files under a directory (recursively), with whether each is stale and why. */
function findLocks(dir: string, recursive: boolean): { path: string; stale: boolean; why: string }[] {
  const out: { path: string; stale: boolean; why: string }[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory() && recursive) walk(p);
      else if (e.isFile() && e.name.endsWith('.lock')) out.push({ path: p, ...judgeLock(p) });
    }
  };
  walk(dir);
  return out;
}

function removeStaleLocks(paths: string[]): Fix {
  return {
    key: `locks:${paths.join(',')}`,
    run: async () => {
      const removed: string[] = [];
      for (const p of paths) {
        if (judgeLock(p).stale) {
          rmSync(p, { force: true });
          removed.push(p);
        }
      }
      return `removed stale lock file${removed.length === 1 ? '' : 's'} ${removed.join(', ') || '(none left)'}`;
    },
  };
}

// --- the store probe -----------------------------------------------------------------------------

interface ProbeResult {
  meta?: StoreMeta;
  check?: DbCheck;
  issue_count?: number;
  /** Why the store could not be read: a thrown error, or the probe dying by a signal. */
  failure?: string;
}

/**
 * Reads the store in a child process (store-probe.ts). Doctor's own process reads the WAL
 * meanwhile (`surveyWal`): the two share nothing, and on a second core they overlap.
 */
function probeStore(actorDir: string, sharedPerm: number): Promise<ProbeResult> {
  const script = fileURLToPath(new URL('./store-probe.js', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, actorDir, String(sharedPerm)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
      env: { ...process.env, GRIT_NO_DAEMON: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ failure: err.message }));
    child.on('close', (status, signal) => {
      if (signal) return resolve({ failure: `reading it killed the reader (${signal})` });
      try {
        const out = JSON.parse(stdout.trim().split('\n').pop() ?? '');
        resolve(out.error ? { failure: out.error } : out);
      } catch {
        resolve({ failure: `the reader exited with status ${status}: ${stderr.trim().split('\n')[0] ?? ''}` });
      }
    });
  });
}

// --- checks ------------------------------------------------------------------------------------

function selectExistingActor(repo: RepoPaths, config: RepoConfig | null, opts: ContextOptions): { actor: ActorRef | null; why: string; missing?: GritError } {
  const dataDir = dataDirOf(opts);
  if (dataDir) {
    const actor = readActorDir(dataDir);
    return { actor, why: actor ? `data dir ${dataDir}` : `no actor config in the data dir ${dataDir}` };
  }
  const selector = givenActor(opts);
  if (selector !== undefined) return { actor: findActor(repo, selector), why: '--actor' };
  if (!config?.default_actor) {
    const here = actorsHere(repo);
    if (here.length === 0) return { actor: null, why: 'no default actor yet' };
    const missing = noDefaultActor(repo, here);
    return { actor: null, why: missing.message, missing };
  }
  const actor = readActorDir(join(actorsDir(repo), config.default_actor));
  if (actor) return { actor, why: 'the repo default' };
  const missing = missingDefaultActor(repo, config.default_actor);
  return { actor, why: missing.message, missing };
}

function checkActorKeys(actor: ActorRef): string[] {
  const problems: string[] = [];
  const keyPath = signingKeyPath(actor.dir);
  const keyFile = keyFileState(keyPath);
  if (keyFile === 'unreadable') {
    // Another member's actor in a shared repository: its keys/ is its owner's alone (0700).
    problems.push(`${keyPath} cannot be read by this user (permission denied): only its owner can write as this actor (reads work)`);
    return problems;
  }
  const hasKeyFile = keyFile === 'present';
  if (actor.config.public_key && !hasKeyFile) {
    problems.push(`it has a public_key but no ${keyPath}: it cannot sign, so every write as it is refused (reads work)`);
  }
  if (hasKeyFile) {
    try {
      // The same check as every write's (src/core/signing.ts), so doctor and writes agree.
      readOwnSigningKey(actor.dir, actor.config.actor_id, actor.config.public_key);
      if (!actor.config.public_key) problems.push(`${keyPath} exists but config.toml has no public_key: nobody can verify its signatures`);
      if ((statSync(keyPath).mode & 0o077) !== 0) problems.push(`${keyPath} is readable by other users (chmod 600 it)`);
    } catch (err) {
      problems.push(err instanceof GritError ? err.message : `cannot read ${keyPath}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** Whether the key file is there, as this user sees it: a keys/ it may not search is not "missing". */
function keyFileState(path: string): 'present' | 'missing' | 'unreadable' {
  try {
    statSync(path);
    return 'present';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'unreadable' : 'missing';
  }
}

/**
 * The key problems of the other actors under `.git/grit/actors/` that hold a signing key (actors
 * this clone can write as with `--actor`); teammates' configs (a public key, no secret) have none
 * to check, and unreadable configs are reported by the keyring.
 */
function checkOtherActorKeys(repo: RepoPaths, acting: ActorRef): string[] {
  const base = actorsDir(repo);
  const problems: string[] = [];
  for (const name of existsSync(base) ? readdirSync(base).sort() : []) {
    const dir = join(base, name);
    if (resolve(dir) === resolve(acting.dir) || !existsSync(signingKeyPath(dir))) continue;
    let other: ActorRef | null;
    try {
      other = readActorDir(dir);
    } catch {
      continue;
    }
    if (other) for (const p of checkActorKeys(other)) problems.push(`actor ${other.config.actor_id}: ${p}`);
  }
  return problems;
}

interface State {
  repo?: RepoPaths;
  wal?: Wal;
  walHead?: string | null;
  /** The keys signatures are checked against (the acting actor's included). */
  keys?: Keyring;
  /** What the one pass over the WAL found (doctor-wal.ts); absent when the WAL cannot be read. */
  survey?: WalSurvey;
  config?: RepoConfig;
  actor?: ActorRef | null;
  probe?: ProbeResult;
  /** The store was built from another repository's WAL (store-owner.ts): nothing else of it is judged. */
  foreignStore?: boolean;
}

const signaturePolicy = (s: State) => s.config?.signature_policy ?? DEFAULT_REPO_CONFIG.signature_policy;

/**
 * Runs after actor_config: the WAL pass checks signatures with the keys and policy that found.
 * `probing` (`startStoreProbe`) is waited for only when the WAL has a hole: whether the store holds it.
 */
async function checkWal(s: State, probing: Promise<ProbeResult> | Finding): Promise<Finding> {
  const repo = s.repo!;
  s.wal = new Wal(repo.commonDir);
  s.keys = loadKeyring(repo.gritDir, s.actor ?? undefined);
  // Snapshot refs' locks block no write (their names are never reused): temp_files lists them.
  const snapshotRefs = resolve(repo.commonDir, SNAPSHOT_PREFIX);
  const locks = findLocks(join(repo.commonDir, 'refs', 'grit'), true).filter((l) => resolve(dirname(l.path)) !== snapshotRefs);
  const stale = locks.filter((l) => l.stale);
  const staleFixes = stale.length ? [removeStaleLocks(stale.map((l) => l.path))] : undefined;
  let base: Finding;
  try {
    s.walHead = await s.wal.head();
    const survey = await surveyWal(s.wal, s.walHead, signaturePolicy(s), s.keys);
    s.survey = survey;
    if (s.walHead === null) {
      base = ok('wal_ref', 'refs/grit/wal does not exist yet (no events)');
    } else {
      base = ok('wal_ref', `refs/grit/wal: ${plural(survey.commits.size, 'commit')}, ${plural(survey.eventCount, 'event')}, linear and valid`);
      const notes = walNotes(survey);
      if (notes.length > 0) {
        base = {
          id: 'wal_ref',
          status: 'warn',
          message: `${base.message}, but ${notes.map((n) => n.message).join('; and ')}`,
          plan: notes.map((n) => n.plan).join('; '),
        };
      }
    }
  } catch (err) {
    if (err instanceof GritError && (err.details.shallow_boundary || isFilteredWal(err))) {
      // Nothing is damaged: git was asked for part of the WAL only.
      return { id: 'wal_ref', status: 'error', message: err.message, plan: err.suggestion ?? null, fixes: staleFixes };
    }
    const copies = await validCopies(s.wal, repo.commonDir);
    const broken = { id: 'wal_ref', status: 'error' as const, message: (err as Error).message };
    if (!isWalHole(err)) return { ...broken, plan: `the WAL is canonical and doctor does not move it: ${restorePlan(copies)}`, fixes: staleFixes };
    const held = await storeHoldsWal(s, probing, s.walHead!);
    if (held !== true) {
      return {
        ...broken,
        plan:
          `this clone's store does not hold the events of the missing commit (${held}), so they are lost unless a remote has them. If that commit was pushed, ` +
          '`git fetch --refetch <remote> refs/grit/wal:refs/grit-remote/<remote>/wal` (git 2.36 or later) brings it back, and nothing is lost. ' +
          `Else ${restorePlan(copies)}`,
        fixes: staleFixes,
      };
    }
    const base = copies[0] ?? null;
    return {
      ...broken,
      plan:
        "this clone's store holds every event of the WAL, the missing commit's included, so nothing is lost: `grit doctor --fix` " +
        (base
          ? `points refs/grit/wal at ${base.ref} (${describeCopy(base)}: the remote's WAL as of the last sync) and appends to it again the events the store holds that it lacks`
          : 'starts refs/grit/wal anew with the events the store holds (there is no remote-tracking WAL to build on)') +
        ' (docs/troubleshooting.md, "the local WAL is not whole"); `grit sync` then publishes them',
      // Stale locks first: one on refs/grit/wal would stop the repair's compare-and-swap.
      fixes: [...(staleFixes ?? []), holeFix(s, s.walHead!, base)],
    };
  }
  if (stale.length) {
    return {
      id: 'wal_ref',
      status: 'warn',
      message: `${base.message}; stale lock file${stale.length === 1 ? '' : 's'}: ${stale.map((l) => `${l.path} (${l.why})`).join(', ')}`,
      plan: `remove ${stale.map((l) => l.path).join(', ')} (left by a process that died; it blocks writes to the ref)`,
      fixes: staleFixes,
    };
  }
  return base;
}

/** A WAL other than refs/grit/wal that reads and validates whole. */
interface WalCopy {
  ref: string;
  oid: string;
  events: number;
}

/** Remote-tracking WAL refs (`refs/grit-remote/<remote>/wal`) that read as a valid WAL, the one holding the most events first. */
/** What a valid WAL holds that is worth a warning: copies of events, file-context ids that issue events use too. */
function walNotes(survey: WalSurvey): Array<{ message: string; plan: string }> {
  const notes: Array<{ message: string; plan: string }> = [];
  const copies = survey.copies;
  if (copies > 0) {
    // Harmless (the store keeps each event once): say where copies come from.
    notes.push({
      message:
        `${copies === 1 ? '1 of them is a further copy' : `${copies} of them are further copies`} of an event before ` +
        '(an event written twice, each copy with its own signature, or a commit copied or re-parented by a tool other than grit)',
      plan: 'nothing to repair: each event counts once in the store and in sync; the WAL is append-only, so the copies stay',
    });
  }
  const shared = [...survey.sharedIds];
  if (shared.length > 0) {
    notes.push({
      message:
        `${plural(shared.length, 'file-context id')} also ${shared.length === 1 ? 'holds' : 'hold'} issue events (SPEC §1 keeps them apart; ` +
        `written by another tool): ${shared.map(([id, path]) => `${id} (context of ${JSON.stringify(path)})`).join(', ')}`,
      plan:
        'grit lists such an id as an issue and keeps the file context apart; the WAL is append-only, so the events stay: ' +
        'close the issue (`grit issue close <id>`) to take it off open lists, and fix the tool that wrote them',
    });
  }
  return notes;
}

async function validCopies(wal: Wal, gitDir: string): Promise<WalCopy[]> {
  const out: WalCopy[] = [];
  for (const { ref, oid } of await listRefs(gitDir, 'refs/grit-remote/')) {
    if (!ref.endsWith('/wal')) continue;
    const events = await wholeWalEvents(wal, oid);
    if (events !== null) out.push({ ref, oid, events });
  }
  return out.sort((a, b) => b.events - a.events);
}

const describeCopy = (c: { oid: string; events: number }) => `commit ${c.oid}, ${plural(c.events, 'event')}`;

/** What a person does about a WAL that does not read, with the valid copies there are. */
function restorePlan(copies: readonly WalCopy[]): string {
  return (
    'inspect it with `git log refs/grit/wal`. ' +
    (copies.length
      ? `Valid copies: ${copies.map((c) => `${c.ref} (${describeCopy(c)})`).join('; ')}; \`git update-ref refs/grit/wal <commit>\` restores one, ` +
        "and the next grit command appends to it again the events this clone's store holds that it lacks (docs/sync.md, \"Plain git and refs/grit/*\"); " +
        'events after it that neither the store nor a remote holds are lost. '
      : '') +
    'If a remote has a good copy, fetch it to another ref (`git fetch <remote> refs/grit/wal:refs/grit/wal-remote`) and compare'
  );
}

/** How many events the WAL ending at `oid` holds when it reads and validates, else null. */
async function wholeWalEvents(wal: Wal, oid: string): Promise<number | null> {
  try {
    return (await wal.readSince(null, oid)).reduce((n, c) => n + c.events.length, 0);
  } catch {
    return null;
  }
}

/** `commit <oid>, N events` when the WAL ending at `oid` reads and validates, else null. */
async function describeWal(wal: Wal, oid: string): Promise<string | null> {
  const events = await wholeWalEvents(wal, oid);
  return events === null ? null : describeCopy({ oid, events });
}

/**
 * Whether the acting actor's store holds every event of the WAL ending at `head`, which has a
 * hole: this repository built it up to a commit above the hole (`isAncestor` walks down from
 * `head` and fails at the hole), so the missing commit's events are in it. Otherwise why not.
 */
async function storeHoldsWal(s: State, probing: Promise<ProbeResult> | Finding, head: string): Promise<true | string> {
  if (!(probing instanceof Promise)) return 'there is no store to read';
  const probe = await probing;
  if (probe.failure || probe.check!.errors.length) return 'it does not read whole: see store_integrity';
  const meta = probe.meta!;
  if (meta.wal_head === null) return 'it is empty';
  if (meta.repo === null || !builtHere(s, meta.repo)) return 'another repository, or a grit that recorded none, built it';
  if (!(await s.wal!.isAncestor(meta.wal_head, head).catch(() => false))) return `it was built up to WAL commit ${meta.wal_head}, below the hole or off this WAL`;
  return true;
}

/** `replaceBrokenWal` of the WAL ending at `head` onto `base` (none: a new WAL), in the acting actor's store. */
function holeFix(s: State, head: string, base: WalCopy | null): Fix {
  return {
    key: 'wal-hole',
    run: async () => {
      const ctx = new RepoContext(s.repo!, s.actor!);
      try {
        const n = plural(await replaceBrokenWal(ctx, head, base?.oid ?? null), 'event');
        const done = base ? `pointed refs/grit/wal at ${base.ref} (commit ${base.oid}) and appended the ${n} the store held that it lacked` : `started refs/grit/wal anew with the ${n} the store held`;
        return `${done} (the old WAL had a hole; \`grit sync\` publishes them)`;
      } finally {
        await ctx.close();
      }
    },
  };
}

function checkActor(s: State, opts: ContextOptions): Finding {
  const repo = s.repo!;
  const problems: string[] = [];
  let status: CheckStatus = 'ok';
  const plans: string[] = [];
  try {
    s.config = loadRepoConfig(repo);
  } catch (err) {
    s.config = DEFAULT_REPO_CONFIG;
    const path = repoConfigPath(repo);
    return configFinding(err, configRepair(err, repo, path, repoConfigRepair), `fix ${path} by hand (deleting it would reset the policies and the default actor)`);
  }
  let why: string;
  let missing: GritError | undefined;
  try {
    ({ actor: s.actor, why, missing } = selectExistingActor(repo, s.config, opts));
  } catch (err) {
    s.actor = null;
    const path = err instanceof GritError && typeof err.details.path === 'string' ? err.details.path : null;
    const repair = path ? configRepair(err, repo, path, actorConfigRepair, true) : null;
    return configFinding(err, repair, path ? `fix ${path} by hand` : 'run `grit actor list` and pick an existing actor');
  }
  const actor = s.actor;
  // A default the repo config names but that is gone, or none beside actors that are there, stops
  // every command but `grit init`: an error.
  if (missing) return configFinding(missing, null, missing.suggestion!);
  if (!actor) {
    return { id: 'actor_config', status: 'warn', message: why, plan: 'run `grit init` to create the default actor' };
  }
  for (const p of [...checkActorKeys(actor), ...checkOtherActorKeys(repo, actor)]) problems.push(p);
  if (problems.length) {
    status = 'warn';
    plans.push('fix the key files by hand (doctor never changes keys)');
  }
  const ring = loadKeyring(repo.gritDir, actor);
  for (const u of ring.unusable) {
    problems.push(`${u.path}: ${u.reason}`);
    status = 'warn';
  }
  const fixes: Fix[] = [];
  const stale = findLocks(actor.dir, false).filter((l) => l.stale);
  if (stale.length) {
    problems.push(`stale lock file${stale.length === 1 ? '' : 's'}: ${stale.map((l) => `${l.path} (${l.why})`).join(', ')}`);
    plans.push(`remove ${stale.map((l) => l.path).join(', ')}`);
    fixes.push(removeStaleLocks(stale.map((l) => l.path)));
    status = 'warn';
  }
  const summary = `actor ${actor.config.actor_id} (${why}), ${actor.config.public_key ? 'with' : 'without'} a signing key; ` +
    `signature_policy = ${s.config.signature_policy}, ${plural(ring.size, 'known key')}`;
  return {
    id: 'actor_config',
    status,
    message: problems.length ? `${summary}; ${problems.join('; ')}` : summary,
    plan: plans.length ? plans.join('; ') : null,
    fixes: fixes.length ? fixes : undefined,
  };
}

/**
 * Actor directories an interrupted `init` left (actor-dirs.ts). Not judged while the repo config
 * or its default cannot be read: which actor is the default is what tells the rest apart.
 */
function checkActorDirs(s: State): Finding {
  const repo = s.repo!;
  let orphanCtx: OrphanContext;
  try {
    const named = loadRepoConfig(repo).default_actor;
    const defaultActor = named ? readActorDir(join(actorsDir(repo), named)) : null;
    if (named && !defaultActor) return ok('actor_dirs', 'not checked: the default actor cannot be read (see actor_config)');
    const authors = s.survey?.authors ?? null;
    orphanCtx = { defaultActor, actingDir: s.actor?.dir ?? null, authors };
  } catch {
    return ok('actor_dirs', 'not checked: the repo config or the default actor cannot be read (see actor_config)');
  }
  const orphans = orphanActorDirs(repo, orphanCtx);
  if (orphans.length === 0) return ok('actor_dirs', 'every actor directory holds an actor that was made whole');
  const removable = orphans.filter((o) => o.removable);
  return {
    id: 'actor_dirs',
    status: 'warn',
    message: `${plural(orphans.length, 'actor directory', 'actor directories')} left by an interrupted \`grit init\` or \`grit actor init\`: ${orphans.map((o) => o.message).join('; ')}`,
    plan: orphans.map((o) => o.plan).join('; '),
    fixes: removable.length
      ? [{ key: 'actor_dirs', run: async () => `deleted ${plural(removeOrphanActorDirs(repo, orphanCtx).length, 'actor directory', 'actor directories')} that held nothing` }]
      : undefined,
  };
}

/**
 * A config that is not valid TOML gets the conservative repair of config-repair.ts, and so does an
 * actor config with a value grit refuses (`anyValue`): what identifies an actor (its directory, its
 * key) is on disk beside it, while a repo config's policies are a person's to choose. Other
 * problems get only a plan.
 */
function configRepair(err: unknown, repo: RepoDirs, path: string, repair: (path: string, perm: number) => RepairPlan, anyValue = false): RepairPlan | null {
  if (!(err instanceof GritError) || (!anyValue && !/not valid TOML/.test(err.message))) return null;
  try {
    return repair(path, sharedPermAt(repo, path));
  } catch {
    return null; // unreadable: the message says why
  }
}

/**
 * `fallbackPlan` is for a config whose content is wrong; one that cannot be read as a file at all
 * (a directory, a file where `.git/grit` should be: config.ts) carries its own plan.
 */
function configFinding(err: unknown, repair: RepairPlan | null, fallbackPlan: string): Finding {
  const fix = repair?.fix;
  const unreadable = err instanceof GritError && err.details.unreadable === true;
  return {
    id: 'actor_config',
    status: 'error',
    message: (err as Error).message,
    plan: repair?.plan ?? (unreadable && err.suggestion ? err.suggestion : fallbackPlan),
    fixes: fix ? [{ key: `config:${(err as GritError).details.path}`, run: async () => fix() }] : undefined,
  };
}

function rebuildFix(s: State, deleteFiles: boolean): Fix {
  const repo = s.repo!;
  const actor = s.actor!;
  return {
    key: 'rebuild',
    run: async () => {
      // Rebuilding replays the WAL: with the WAL unreadable it would only empty the store.
      if (s.survey === undefined) throw new Error('the WAL cannot be read (see wal_ref): the store is not rebuilt from it');
      // Not even a daemon of this process: the one serving `--fix` runs it in a worker that holds no lease.
      refuseIfDaemonHolds(actor.dir, { line: 'grit doctor --fix', daemonDoes: 'repairs the store it serves' });
      if (deleteFiles) {
        Store.discard(actor.dir);
      }
      const ctx = new RepoContext(repo, actor);
      try {
        const snapshots = await listSnapshots(repo.commonDir);
        const r = await rebuildStore(ctx, snapshots.length > 0);
        return `rebuilt the store of actor ${actor.config.actor_id} (${plural(r.event_count, 'event')}${r.from_snapshot ? ` from ${r.snapshot_ref} and the WAL after it` : ' from the WAL'})`;
      } finally {
        await ctx.close();
      }
    },
  };
}

/**
 * Starts reading the acting actor's store (`probeStore`), or gives the store_integrity finding
 * when there is none to read.
 */
function startStoreProbe(s: State): Promise<ProbeResult> | Finding {
  const actor = s.actor;
  if (!actor) return ok('store_integrity', 'not checked: no actor');
  const path = storeFile(actor.dir);
  if (!existsSync(path)) {
    const noRoom = noRoomForNewStore(actor.dir, path);
    if (noRoom) {
      const message = `no store yet at ${path}, and none can be made: ${noRoom.message}; until there is room every command that uses the store fails`;
      return { id: 'store_integrity', status: 'warn', message, plan: noRoom.suggestion! };
    }
    const stuck = cannotCatchUp(s, actor, null);
    if (stuck) return { id: 'store_integrity', status: 'warn', message: `no store yet at ${path}; ${stuck.message}`, plan: stuck.plan };
    return ok('store_integrity', `no store yet at ${path}: the next command builds it from the WAL`);
  }
  // A store this user may not write is not a damaged one: rebuilding it would not help either.
  const denied = writeDenied(actor.dir, storeFiles(path));
  if (denied) return { id: 'store_integrity', status: 'error', message: denied.message, plan: denied.suggestion! };
  return probeStore(actor.dir, sharedPermAt(s.repo!, actor.dir));
}

async function checkStoreIntegrity(s: State, started: Promise<ProbeResult> | Finding): Promise<Finding> {
  if (!(started instanceof Promise)) return started;
  const actor = s.actor!;
  const path = storeFile(actor.dir);
  const probe = await started;
  s.probe = probe;
  const walOk = s.survey !== undefined;
  const plan = walOk
    ? `rebuild the store from the WAL (it is a cache: delete ${path} and replay)`
    : 'repair refs/grit/wal first (see wal_ref): the store can only be rebuilt from a readable WAL';
  const rebuild = walOk ? [rebuildFix(s, true)] : undefined;
  if (probe.failure) {
    const message = probe.failure.startsWith(`the store at ${path}`) ? probe.failure : `the store at ${path} cannot be read: ${probe.failure}`;
    return { id: 'store_integrity', status: 'error', message, plan, fixes: rebuild };
  }
  const check = probe.check!;
  const meta = probe.meta!;
  const foreign = foreignStoreFinding(s, actor, meta);
  if (foreign) return foreign;
  if (check.errors.length) {
    const first = check.errors.slice(0, 3).map((e) => e.message).join('; ');
    return {
      id: 'store_integrity',
      status: 'error',
      message: `${check.corrupt_count} corrupt of ${plural(check.events_checked, 'event')}, ${plural(check.errors.length, 'problem')}: ${first}`,
      plan,
      fixes: rebuild,
    };
  }
  const checked = `${plural(check.events_checked, 'event')} and ${plural(probe.issue_count ?? 0, 'issue')} checked, all valid`;
  let relation = 'up to date with the WAL';
  if (meta.wal_head !== s.walHead) {
    if (meta.wal_head === null) relation = 'empty; the next command catches up';
    else if (s.walHead === undefined || !walOk) {
      // The store may be the last readable copy of the events: never touched while the WAL is broken.
      const described = await describeWal(s.wal!, meta.wal_head);
      return {
        id: 'store_integrity',
        status: 'warn',
        message: `the store holds the events up to WAL commit ${meta.wal_head}, but refs/grit/wal is unreadable; doctor leaves the store alone`,
        plan: described
          ? `see wal_ref; that commit is a valid WAL (${described}): \`git update-ref refs/grit/wal ${meta.wal_head}\` brings back exactly what this store holds`
          : 'see wal_ref; the store is rebuilt once the WAL is back',
      };
    } else {
      // The WAL pass walked the head's whole chain: no second walk to ask. No WAL (refs/grit/wal
      // deleted) holds no commit.
      const onChain = s.survey!.commits.has(meta.wal_head);
      if (!onChain) return offChain(s, actor, meta, check.events_checked, probe.issue_count ?? 0);
      relation = 'behind the WAL; the next command catches up';
    }
    const stuck = cannotCatchUp(s, actor, meta.wal_head);
    if (stuck) return { id: 'store_integrity', status: 'warn', message: `${checked}; ${stuck.message}`, plan: stuck.plan };
  }
  return ok('store_integrity', `${checked}; ${relation}`);
}

/**
 * What doctor says of a store that lacks the WAL's events after `storeHead` on a disk too full to
 * take them (disk-full.ts fullNow), or null (room enough, or the WAL cannot be read). Judged by the
 * free space, not by trying: doctor does not write the store. Reads meanwhile answer with those
 * events applied in memory (RepoContext.read), and writes are refused.
 */
function cannotCatchUp(s: State, actor: ActorRef, storeHead: string | null): { message: string; plan: string } | null {
  if (!s.survey) return null;
  const full = fullNow(actor.dir, storeFile(actor.dir));
  if (!full) return null;
  const n = s.survey.eventCount - ((storeHead && s.survey.eventsThrough.get(storeHead)) || 0);
  return {
    message:
      `the store is ${plural(n, 'event')} behind the WAL and cannot catch up: ${full.message}; ` +
      `reads answer with ${n === 1 ? 'it' : 'them'} applied in memory only (saying so), and writes are refused until there is room`,
    plan: full.suggestion!,
  };
}

/**
 * The store was built from a WAL commit that refs/grit/wal no longer holds: sync rebased it (every
 * event is still in the WAL), or plain git overwrote or deleted the WAL (lost-events.ts).
 * Rebuilding would drop what only the store still has; catching it up (what the next command does
 * anyway) sets a deleted ref back or appends that to the WAL again first.
 */
async function offChain(s: State, actor: ActorRef, meta: StoreMeta, events: number, issues: number): Promise<Finding> {
  const storeHead = meta.wal_head!;
  const checked = `${plural(events, 'event')} and ${plural(issues, 'issue')} checked, all valid`;
  const gone = s.walHead === null ? `refs/grit/wal was deleted (\`git update-ref -d\`, or \`git fetch --prune\` with a refs/grit/* refspec)` : null;
  if (meta.repo === null) {
    // As RepoContext.refresh: which repository built it is unknown, so nothing of it enters this WAL.
    return {
      id: 'store_integrity',
      status: 'warn',
      message: `${checked}; built from WAL commit ${storeHead}, which ${gone ? 'is in no WAL (refs/grit/wal was deleted)' : 'refs/grit/wal does not hold'}, by a grit that recorded no repository: the next command rebuilds it from this WAL`,
      plan: 'rebuild the store from the WAL (the next command does it too)',
      fixes: [rebuildFix(s, false)],
    };
  }
  const described = gone && (await describeWal(s.wal!, storeHead));
  if (described) {
    return {
      id: 'store_integrity',
      status: 'warn',
      message: `${checked}; ${gone} while this store was built from WAL commit ${storeHead}, which git still has (${described})`,
      plan: `point refs/grit/wal at that commit again (the next grit command does it too; so does \`git update-ref refs/grit/wal ${storeHead}\`)`,
      fixes: [catchUpFix(s, actor, 'restore-wal-ref', `pointed refs/grit/wal at ${storeHead} again`)],
    };
  }
  let store: Store | null = null;
  let lost;
  try {
    lost = await findLostEvents(s.wal!, storeHead, s.survey!, () => (store = Store.open(actor.dir, { sharedPerm: sharedPermAt(s.repo!, actor.dir) })).allEvents());
  } finally {
    await (store as Store | null)?.close();
  }
  if (lost.count === 0) {
    return ok('store_integrity', `${checked}; built from WAL commit ${storeHead}, since ${gone ? 'deleted (it held no event)' : 'rewritten (every event of it is in the WAL)'}; the next command catches up`);
  }
  const ids = lost.sources.flatMap((x) => x.events).map((e) => toHex(e.event_id));
  const n = plural(lost.count, 'event');
  const why = gone
    ? `${gone} while this store was built from WAL commit ${storeHead}, and git no longer has all of that WAL (\`git gc\` pruned it)`
    : `built from WAL commit ${storeHead}, which refs/grit/wal no longer holds (plain git overwrote it, e.g. \`git fetch <remote> +refs/grit/*:refs/grit/*\`)`;
  return {
    id: 'store_integrity',
    status: 'warn',
    message: `${checked}; ${why}: ${n} (in ${lost.from}) ${lost.count === 1 ? 'is' : 'are'} not in the WAL: ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`,
    plan: `append the ${n} to the WAL again and catch the store up (the next grit command does it too, \`grit rebuild\` included), then \`grit sync\` to publish them`,
    fixes: [catchUpFix(s, actor, 'restore-lost-events', `appended ${n} that only the store still had to the WAL again (\`grit sync\` publishes them)`)],
  };
}

/** A fix that catches the actor's store up, which repairs the WAL first (lost-events.ts). */
function catchUpFix(s: State, actor: ActorRef, key: string, done: string): Fix {
  return {
    key,
    run: async () => {
      const ctx = new RepoContext(s.repo!, actor);
      try {
        await ctx.refresh();
      } finally {
        await ctx.close();
      }
      return done;
    },
  };
}

/**
 * A store built from another repository's WAL (store-owner.ts), judged as the next command judges
 * it: rebuilt (a warning; `--fix` rebuilds it now), or refused while that repository uses the data
 * dir (an error a person settles: `--fix` does not take the data dir over). Null for this repository's.
 */
function foreignStoreFinding(s: State, actor: ActorRef, meta: StoreMeta): Finding | null {
  // A store of this repository from before a move: the next command records the new path.
  if (meta.repo === null || isEmptyStore(meta) || builtHere(s, meta.repo)) return null;
  s.foreignStore = true;
  const found = judgeForeignStore(meta.repo, repoIdentity(s.repo!.commonDir, s.repo!.gritDir, { create: false }), actor, s.repo!);
  if ('refuse' in found) return { id: 'store_integrity', status: 'error', message: found.refuse.message, plan: found.refuse.suggestion! };
  return { id: 'store_integrity', status: 'warn', message: found.rebuild, plan: 'rebuild the store from the WAL (the next command does it too)', fixes: [rebuildFix(s, false)] };
}

/** Whether this repository built the store that records `built` (`StoreMeta.repo`), here or before it was moved here. */
function builtHere(s: State, built: RepoIdentity): boolean {
  const current = repoIdentity(s.repo!.commonDir, s.repo!.gritDir, { create: false });
  return sameRepo(built, current) || movedHere(built, current);
}

function checkRebuildThreshold(s: State): Finding {
  const meta = s.probe?.meta;
  if (s.foreignStore) return ok('rebuild_threshold', "not checked: the store is another repository's (see store_integrity)");
  if (!s.actor || !meta || s.probe?.failure || s.probe?.check?.errors.length) {
    return ok('rebuild_threshold', 'not checked: no readable store');
  }
  const advice = rebuildAdvice(meta, s.config ?? DEFAULT_REPO_CONFIG);
  if (!advice.rebuild_recommended) return ok('rebuild_threshold', advice.reason);
  return {
    id: 'rebuild_threshold',
    status: 'warn',
    message: `rebuild recommended: ${advice.reason}`,
    plan: 'rebuild the store (from the newest snapshot when there is one): `grit rebuild --from-snapshot`',
    fixes: s.survey !== undefined ? [rebuildFix(s, false)] : undefined,
  };
}

/**
 * Snapshots that can never be used: their snapshot.json cannot be read, their events tree or a
 * chunk blob is missing, or their wal_head is off the WAL's chain (sync rebased the commits they
 * were taken on). Judged against the commits wal_ref already read, so it costs a snapshot.json
 * and events tree read a snapshot (chunks are only looked up). Deleting them is left to
 * `snapshot gc` (doctor touches no refs).
 */
async function checkSnapshots(s: State): Promise<Finding> {
  const snapshots = await listSnapshots(s.repo!.commonDir);
  if (snapshots.length === 0) return ok('snapshots', 'no snapshots');
  const survey = s.survey;
  if (s.walHead === null || !survey) {
    const why = s.walHead === null ? 'refs/grit/wal does not exist' : 'the WAL cannot be read (see wal_ref)';
    return ok('snapshots', `${plural(snapshots.length, 'snapshot')}, not checked: ${why}`);
  }
  const off = await unusableSnapshots(s.wal!.objects, snapshots, (walHead) => survey.commits.has(walHead), refusedSnapshots(s.repo!.commonDir));
  if (off.length === 0) return ok('snapshots', `${plural(snapshots.length, 'snapshot')}, each taken on this WAL`);
  return {
    id: 'snapshots',
    status: 'warn',
    message:
      `${off.length} of ${plural(snapshots.length, 'snapshot')} can never be used: ` +
      off.map((x) => `${x.ref} (${x.reason})`).join('; '),
    plan: '`grit snapshot gc` deletes them first, whatever --keep says (only the refs); `grit snapshot` writes one of the current WAL',
  };
}

/**
 * Cycles of blocks/depends_on edges can only arrive through sync (two clones each adding one
 * half, SPEC §2): commands refuse to close one. They are folded from the WAL, not read from the
 * store, so they are found whatever state the store is in; events the signature policy refuses
 * are left out, as the store leaves them out.
 */
function checkDependencyCycles(s: State): Finding {
  if (!s.survey) return ok('dependency_cycles', 'not checked: the WAL cannot be read (see wal_ref)');
  const graph = s.survey.deps;
  const edgeCount = graph.orderingEdges().length;
  const cycles = findCycles(graph);
  if (cycles.length === 0) {
    return ok('dependency_cycles', `no cycles among ${plural(edgeCount, 'blocks/depends_on edge')}`);
  }
  // One recorded edge per cycle (`dep remove` takes its mirror too): together they leave none.
  const removals = cycles.map((c) => {
    const { before, after } = firstEdge(c);
    return graph.edgesBetween(before, after)[0];
  });
  return {
    id: 'dependency_cycles',
    status: 'warn',
    message:
      `${plural(cycles.length, 'dependency cycle')} (from concurrent edits merged by sync): ` +
      cycles.map((c) => describeCycle(c)).join('; '),
    plan:
      'these issues cannot be ordered until each cycle loses one edge; decide which dependencies are wrong and remove them, ' +
      `e.g. ${removals.map((e) => `\`${removeCommand(e)}\``).join(' and ')} ` +
      '(one edge per cycle, together leaving none; doctor --fix never does this: it would write to the WAL)',
  };
}

/** Lock refs that hold no lock grit honours: they block nobody, and only `lock status` lists them too (docs/locks.md). */
async function checkLockRefs(s: State): Promise<Finding> {
  const { locks, unreadable } = await readLocks(s.repo!.commonDir, s.wal!.objects);
  if (unreadable.length === 0) return ok('lock_refs', `${plural(locks.length, 'lock')}, none unreadable`);
  return {
    id: 'lock_refs',
    status: 'warn',
    message: `${plural(unreadable.length, 'lock ref')} holding no lock grit can read (ignored): ${unreadable.map((u) => `${u.ref} (${u.problem})`).join('; ')}`,
    plan:
      '`git cat-file -p <ref>` shows what they hold: one may be another tool\'s live lock (grit never writes over them); ' +
      'once whoever wrote them is done with them, `grit lock gc` deletes them (on the remote too, where they came from one)',
  };
}

/** Temporary files of killed writers (src/commands/temp-files.ts): only space, but nothing else removes them. */
function checkTempFiles(s: State): Finding {
  // An actor's directory outside the repository (--data-dir, GRIT_HOME) is only found through the actor using it.
  const dataDir = s.actor && !actorInRepo(s.actor, s.repo!) ? s.actor.dir : undefined;
  const files = leftTempFiles(s.repo!, dataDir);
  if (files.length === 0) return ok('temp_files', 'no temporary files left by killed writers');
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  const shown = files.slice(0, 5).map((f) => f.path).join(', ');
  return {
    id: 'temp_files',
    status: 'warn',
    message: `${plural(files.length, 'temporary file')} (${plural(bytes, 'byte')}) left by writers that were killed: ${shown}${files.length > 5 ? ', …' : ''}`,
    plan: 'delete them (`grit doctor --fix`): their writers are gone, so nothing can use them',
    fixes: [
      {
        key: 'temp_files',
        run: async () => `deleted ${plural(removeLeftTempFiles(s.repo!, dataDir).length, 'temporary file')} left by killed writers`,
      },
    ],
  };
}

async function diagnose(opts: ContextOptions): Promise<Finding[]> {
  const s: State = {};
  const out: Finding[] = [];
  const failed = (id: string, err: unknown): Finding => ({ id, status: 'error', message: `the check itself failed: ${(err as Error).message}`, plan: null });
  const check = async (id: string, fn: () => Finding | Promise<Finding>): Promise<Finding> => {
    try {
      return await fn();
    } catch (err) {
      return failed(id, err);
    }
  };
  const guard = async (id: string, fn: () => Finding | Promise<Finding>) => out.push(await check(id, fn));
  try {
    s.repo = findRepo(opts.cwd);
    if (!existsSync(join(s.repo.commonDir, 'objects')) || !existsSync(join(s.repo.commonDir, 'HEAD'))) {
      throw new Error(`${s.repo.commonDir} is not a complete git directory (no objects/ or HEAD)`);
    }
  } catch (err) {
    // A repository grit refuses (another user's, a SHA-256 one, a bare one: work in a clone) says itself what to do.
    const plan = (err instanceof GritError && err.suggestion) || 'run grit inside a git repository (`git init` creates one)';
    out.push({ id: 'git_repo', status: 'error', message: (err as Error).message, plan });
    for (const id of CHECK_IDS.slice(1)) out.push({ id, status: 'warn', message: 'not checked: no usable git repository', plan: null });
    return out;
  }
  const git = spawnSync('git', ['--version'], { encoding: 'utf8' });
  out.push(
    git.status === 0
      ? ok('git_repo', `${s.repo.root} (git dir ${s.repo.commonDir}); ${git.stdout.trim()}`)
      : { id: 'git_repo', status: 'warn', message: `${s.repo.root}: git is not on PATH (sync and snapshot gc need it)`, plan: 'install git' },
  );
  // Reported in CHECK_IDS order, but actor_config runs first: the WAL pass needs its keys and
  // policy. The store is read in a child process while this one reads the WAL.
  const actor = await check('actor_config', () => checkActor(s, opts));
  let store: Promise<ProbeResult> | Finding;
  try {
    store = startStoreProbe(s);
  } catch (err) {
    store = failed('store_integrity', err);
  }
  out.push(await check('wal_ref', () => checkWal(s, store)), actor);
  await guard('actor_dirs', () => checkActorDirs(s));
  await guard('store_integrity', () => checkStoreIntegrity(s, store));
  await guard('rebuild_threshold', () => checkRebuildThreshold(s));
  await guard('snapshots', () => checkSnapshots(s));
  await guard('dependency_cycles', () => checkDependencyCycles(s));
  await guard('signatures', () => checkSignatures(signaturePolicy(s), s.survey, s.keys!, () => keyFileTimes(actorsDir(s.repo!), s.keys!, s.actor)));
  await guard('lock_refs', () => checkLockRefs(s));
  await guard('temp_files', () => checkTempFiles(s));
  s.wal?.objects.close();
  return out;
}

export interface DoctorResult {
  checks: Check[];
  applied: string[];
  /** Fixes that were attempted and failed (empty unless --fix). */
  failed: string[];
}

export async function doctor(env: CommandEnv, args: Args): Promise<DoctorResult> {
  refuseEmptySelection(env.options);
  let findings = await diagnose(env.options);
  const applied: string[] = [];
  const failed: string[] = [];
  if (bool(args, 'fix')) {
    const done = new Set<string>();
    for (const f of findings) {
      for (const fix of f.fixes ?? []) {
        if (done.has(fix.key)) continue;
        done.add(fix.key);
        try {
          applied.push(await fix.run());
        } catch (err) {
          const plan = err instanceof GritError && err.suggestion ? `: ${err.suggestion}` : '';
          failed.push(`${f.id}: ${(err as Error).message}${plan}`);
        }
      }
    }
    if (done.size) findings = await diagnose(env.options);
  }
  const checks = findings.map(({ id, status, message, plan }) => ({ id, status, message, plan }));
  return { checks, applied, failed };
}

