/**
 * Doctor's checks of the refs beside the WAL: snapshots and lock refs that can never be used.
 * They block nothing; deleting them is `snapshot gc`'s and `lock gc`'s (doctor touches no refs).
 */
import { plural } from '../core/plural.js';
import { readLocks } from '../git/locks.js';
import { listSnapshots, unusableSnapshots } from '../git/snapshot.js';
import { refusedSnapshots } from '../git/snapshot-trust.js';
import { ok, type Finding, type State } from './doctor-check.js';

/**
 * Snapshots that can never be used: their snapshot.json cannot be read, their events tree or a
 * chunk blob is missing, or their wal_head is off the WAL's chain (sync rebased the commits they
 * were taken on). Judged against the commits wal_ref already read, so it costs a snapshot.json
 * and events tree read a snapshot (chunks are only looked up). Deleting them is left to
 * `snapshot gc` (doctor touches no refs).
 */
export async function checkSnapshots(s: State): Promise<Finding> {
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

/** Lock refs that hold no lock grit honours: they block nobody, and only `lock status` lists them too (docs/locks.md). */
export async function checkLockRefs(s: State): Promise<Finding> {
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
