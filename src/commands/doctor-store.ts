/**
 * Doctor's store_integrity and rebuild_threshold checks. The acting actor's store is read in a
 * child process (store-probe.ts) first: a truncated LMDB file kills whoever maps it, and doctor
 * must live to say so.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_REPO_CONFIG } from '../core/config.js';
import { fullNow, noRoomForNewStore } from '../core/disk-full.js';
import { toHex } from '../core/hex.js';
import { plural } from '../core/plural.js';
import { movedHere, repoIdentity, sameRepo, type RepoIdentity } from '../core/repo-identity.js';
import { storeFile, storeFileInTheWay, storeFiles } from '../core/store-file.js';
import { isEmptyStore, Store, type StoreMeta } from '../core/store.js';
import { writeDenied } from '../core/write-access.js';
import { sharedPermAt } from '../git/shared-perm.js';
import { listSnapshots } from '../git/snapshot.js';
import type { ActorRef } from './actors.js';
import { RepoContext } from './context.js';
import { ok, type Finding, type Fix, type ProbeResult, type State } from './doctor-check.js';
import { describeWal } from './doctor-wal-copies.js';
import { refuseIfDaemonHolds } from './lockfile.js';
import { findLostEvents } from './lost-events.js';
import { rebuildAdvice } from './db-commands.js';
import { rebuildStore } from './rebuild.js';
import { judgeForeignStore } from './store-owner.js';

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
export function startStoreProbe(s: State): Promise<ProbeResult> | Finding {
  const actor = s.actor;
  if (!actor) return ok('store_integrity', 'not checked: no actor');
  const path = storeFile(actor.dir);
  // Not the store's own damage, and a rebuild cannot delete what is in the way: a person moves it.
  const inTheWay = storeFileInTheWay(path);
  if (inTheWay) return { id: 'store_integrity', status: 'error', message: inTheWay.message, plan: inTheWay.suggestion! };
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

export async function checkStoreIntegrity(s: State, started: Promise<ProbeResult> | Finding): Promise<Finding> {
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

/**
 * Whether the acting actor's store holds every event of the WAL ending at `head`, which has a
 * hole: this repository built it up to a commit above the hole (`isAncestor` walks down from
 * `head` and fails at the hole), so the missing commit's events are in it. Otherwise why not.
 */
export async function storeHoldsWal(s: State, probing: Promise<ProbeResult> | Finding, head: string): Promise<true | string> {
  if (!(probing instanceof Promise)) return 'there is no store to read';
  const probe = await probing;
  if (probe.failure || probe.check!.errors.length) return 'it does not read whole: see store_integrity';
  const meta = probe.meta!;
  if (meta.wal_head === null) return 'it is empty';
  if (meta.repo === null || !builtHere(s, meta.repo)) return 'another repository, or a grit that recorded none, built it';
  if (!(await s.wal!.isAncestor(meta.wal_head, head).catch(() => false))) return `it was built up to WAL commit ${meta.wal_head}, below the hole or off this WAL`;
  return true;
}

export function checkRebuildThreshold(s: State): Finding {
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
