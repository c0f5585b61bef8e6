/**
 * Which snapshots may stand in for the WAL (docs/operations.md, "Snapshots"; docs/decisions.md).
 * A snapshot is a claim: "these are the events of the WAL up to `wal_head`". One this clone wrote
 * itself (`createSnapshot`, from a trusted snapshot and the WAL) is trusted; one that came from
 * elsewhere (imported by sync, or fetched by plain git) is checked once against the WAL before it
 * is ever used, and the verdict is kept in `.git/grit/snapshot-verdicts`, one line a snapshot:
 *
 *     <commit> made [copies=<n>]
 *     <commit> verified
 *     <commit> refused <reason>
 *
 * `copies=<n>` (how many of its records are further copies of an event) lets the next snapshot
 * take this one's chunks without reading them (snapshot-reuse.ts); older lines lack it.
 *
 * A commit id names a snapshot's whole content (its tree's SHA-1s), so a verdict never goes stale.
 * The file is appended to (one short write with O_APPEND, atomic among processes) and read whole.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plural } from '../core/plural.js';
import { appendShared, mkdirShared } from '../core/shared-files.js';
import { sharedPermOf } from './shared-perm.js';
import { copyKey, readSnapshotInto, readSnapshotMeta } from './snapshot.js';
import { decodeWalChunk, type Wal } from './wal.js';
import { readWal } from './wal-read-ahead.js';

export type Verdict = 'made' | 'verified' | 'refused';

export interface VerdictRecord {
  verdict: Verdict;
  /** Why it was refused. */
  reason?: string;
  /** Of a snapshot made here, its records that are further copies of an event, when recorded. */
  copies?: number;
}

/** WAL commits read per step while checking a snapshot. */
const SEGMENT_COMMITS = 512;

const verdictsPath = (gitDir: string) => join(gitDir, 'grit', 'snapshot-verdicts');

/** Why each snapshot this repository refused was refused (null: not refused), from its recorded verdicts. */
export function refusedSnapshots(gitDir: string): (oid: string) => string | null {
  const verdicts = readVerdicts(gitDir);
  return (oid) => {
    const v = verdicts.get(oid);
    return v?.verdict === 'refused' ? (v.reason ?? 'refused') : null;
  };
}

/** The verdicts recorded in this repository, by snapshot commit (the last line for a commit wins). */
export function readVerdicts(gitDir: string): Map<string, VerdictRecord> {
  const out = new Map<string, VerdictRecord>();
  let text: string;
  try {
    text = readFileSync(verdictsPath(gitDir), 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{40}) (made|verified|refused)(?: (.*))?$/.exec(line);
    if (!m) continue;
    const copies = m[2] === 'made' ? /^copies=(\d+)$/.exec(m[3] ?? '') : null;
    out.set(m[1], copies ? { verdict: 'made', copies: Number(copies[1]) } : { verdict: m[2] as Verdict, reason: m[3] });
  }
  return out;
}

export function recordVerdict(gitDir: string, oid: string, verdict: Verdict, reason?: string): void {
  const perm = sharedPermOf(gitDir);
  mkdirShared(join(gitDir, 'grit'), perm);
  const why = reason ? ` ${reason.replace(/\s+/g, ' ')}` : '';
  appendShared(verdictsPath(gitDir), `${oid} ${verdict}${why}\n`, perm);
}

export const isTrusted = (v: VerdictRecord | undefined): boolean => v?.verdict === 'made' || v?.verdict === 'verified';

/**
 * Why the snapshot `oid` is not exactly the events of the WAL up to its `wal_head` (each copy the
 * WAL holds once, `copyKey`: an event the WAL holds with two signatures is two), or null when it
 * is. Reads the snapshot (checking its format, hashes and counts, `readSnapshotInto`) and the WAL
 * chain ending at its wal_head: a mismatch or a damaged snapshot is a reason; a `wal_head` whose
 * chain cannot be read (not fetched yet) throws, as no verdict can be given yet. Closes
 * `wal.objects`.
 */
export async function snapshotMismatch(wal: Wal, oid: string): Promise<string | null> {
  try {
    let walHead: string;
    try {
      walHead = readSnapshotMeta(wal.objects, oid).wal_head;
    } catch (err) {
      return (err as Error).message;
    }
    // Not a hole in the local WAL: a head only the snapshot's writer had (a commit it never
    // pushed, or rebased away since), which no fetch brings.
    if (!wal.objects.has(walHead)) return `its wal_head ${walHead} is in no WAL this repository has: a commit its writer had not pushed, or rebased away since`;
    const expected = new Map<string, number>(); // copyKey → times the snapshot holds it
    const stretch = await readWal(wal, null, walHead, SEGMENT_COMMITS);
    for await (const segment of stretch.segments) {
      for (const chunk of segment) for (const e of decodeWalChunk(chunk).events) expected.set(copyKey(e), 0);
    }
    let extra: string | null = null;
    let extraCount = 0;
    let twice: string | null = null;
    try {
      readSnapshotInto(wal.objects, oid, {
        take(events) {
          for (const e of events) {
            const key = copyKey(e);
            const seen = expected.get(key);
            if (seen === undefined) {
              extraCount++;
              extra ??= key;
            } else {
              if (seen > 0) twice ??= key;
              expected.set(key, seen + 1);
            }
          }
        },
      });
    } catch (err) {
      return (err as Error).message;
    }
    const eventId = (key: string) => key.slice(0, key.indexOf(':'));
    if (extra !== null) {
      return `it holds ${plural(extraCount, 'event')} that the WAL up to its wal_head ${walHead} lacks (or holds with another signature), e.g. ${eventId(extra)}`;
    }
    if (twice !== null) return `it holds event ${eventId(twice)} more than once`;
    const missing = [...expected].filter(([, n]) => n === 0).map(([key]) => eventId(key));
    if (missing.length) {
      const held = new Set([...expected].filter(([, n]) => n > 0).map(([key]) => eventId(key)));
      const copies = missing.filter((id) => held.has(id)).length;
      const which = copies === 0 ? '' : `; ${copies} of them ${copies === 1 ? 'is a copy' : 'are copies'} of an event it holds, with another signature`;
      return `it lacks ${plural(missing.length, 'event')} of the WAL up to its wal_head ${walHead}, e.g. ${missing[0]}${which}`;
    }
    return null;
  } finally {
    wal.objects.close();
  }
}

/**
 * Whether the snapshot `oid` may stand in for the WAL up to its wal_head: by its recorded verdict,
 * or, with none yet, by checking it now (`snapshotMismatch`) and recording the verdict. `verdicts`
 * is what `readVerdicts` gave (updated here). Throws when the check cannot be made yet.
 */
export async function judgeSnapshot(wal: Wal, oid: string, verdicts: Map<string, VerdictRecord>): Promise<VerdictRecord> {
  const known = verdicts.get(oid);
  if (known) return known;
  const reason = await snapshotMismatch(wal, oid);
  const record: VerdictRecord = reason === null ? { verdict: 'verified' } : { verdict: 'refused', reason };
  recordVerdict(wal.gitDir, oid, record.verdict, record.reason);
  verdicts.set(oid, record);
  return record;
}
