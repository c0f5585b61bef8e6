/**
 * Doctor's wal_ref check: refs/grit/wal read and validated whole (the survey of doctor-wal.ts),
 * stale lock files under refs/grit/, and what to do about a WAL that does not read: a copy to
 * restore, or a WAL with a hole replaced from the acting actor's store when it holds every event.
 */
import { dirname, join, resolve } from 'node:path';
import { GritError } from '../core/errors.js';
import { loadKeyring } from '../core/integrity.js';
import { plural } from '../core/plural.js';
import { SNAPSHOT_PREFIX } from '../git/snapshot.js';
import { isFilteredWal, isWalHole, Wal } from '../git/wal.js';
import { RepoContext } from './context.js';
import { ok, signaturePolicy, type Finding, type Fix, type ProbeResult, type State } from './doctor-check.js';
import { findLocks, removeStaleLocks } from './doctor-leftover-files.js';
import { storeHoldsWal } from './doctor-store.js';
import { surveyWal, type WalSurvey } from './doctor-wal.js';
import { describeCopy, restorePlan, validCopies, type WalCopy } from './doctor-wal-copies.js';
import { replaceBrokenWal } from './lost-events.js';

/**
 * Runs after actor_config: the WAL pass checks signatures with the keys and policy that found.
 * `probing` (`startStoreProbe`) is waited for only when the WAL has a hole: whether the store holds it.
 */
export async function checkWal(s: State, probing: Promise<ProbeResult> | Finding): Promise<Finding> {
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
