/**
 * Which snapshots may stand in for the WAL (docs/operations.md, "Snapshots"; docs/decisions.md).
 * A snapshot is a claim: "these are the events of the WAL up to `wal_head`". One this clone wrote
 * itself (`createSnapshot`, from a trusted snapshot and the WAL) is trusted; one that came from
 * elsewhere (imported by sync, or fetched by plain git) is checked once against the WAL before it
 * is ever used, and the verdict is kept in `.git/grit/snapshot-verdicts`, one line a snapshot:
 *
 *     <commit> made [copies=<n>] [events=<n>]
 *     <commit> verified [events=<n>]
 *     <commit> refused <reason>
 *
 * `copies=<n>` (how many of its records are further copies of an event) lets the next snapshot
 * take this one's chunks without reading them (snapshot-reuse.ts); `events=<n>` (its
 * `event_count`, checked) orders the trusted snapshots by what they cover without reading each
 * one's snapshot.json (`newestFirst`). Older lines lack them.
 *
 * A commit id names a snapshot's whole content (its tree's SHA-1s), so a verdict never goes stale.
 * The file is appended to (one short write with O_APPEND, atomic among processes) and read whole.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plural } from '../core/plural.js';
import { appendShared, mkdirShared } from '../core/shared-files.js';
import { sharedPermOf } from './shared-perm.js';
import { copyKey, readSnapshotInto, readSnapshotMeta, type SnapshotMeta } from './snapshot.js';
import { decodeWalChunk, type Wal } from './wal.js';
import { readWal } from './wal-read-ahead.js';

export type Verdict = 'made' | 'verified' | 'refused';

export interface VerdictRecord {
  verdict: Verdict;
  /** Why it was refused. */
  reason?: string;
  /** Of a snapshot made here, its records that are further copies of an event, when recorded. */
  copies?: number;
  /** Of a trusted snapshot, its `event_count` (records, copies included), when recorded. */
  events?: number;
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
    out.set(m[1], m[2] === 'refused' ? { verdict: 'refused', reason: m[3] } : trustedRecord(m[2] as Verdict, m[3] ?? ''));
  }
  return out;
}

/** A `made` or `verified` line's record: its `copies=<n>` (made only) and `events=<n>`; anything else is ignored. */
function trustedRecord(verdict: Verdict, fields: string): VerdictRecord {
  const record: VerdictRecord = { verdict };
  for (const field of fields.split(' ')) {
    const f = /^(copies|events)=(\d+)$/.exec(field);
    if (f && (f[1] === 'events' || verdict === 'made')) record[f[1] as 'copies' | 'events'] = Number(f[2]);
  }
  return record;
}

/** The line of `record`: the reason of a refusal, the counts of a trusted snapshot (`readVerdicts`). */
function verdictLine(oid: string, record: VerdictRecord): string {
  const fields =
    record.verdict === 'refused'
      ? [record.reason?.replace(/\s+/g, ' ')]
      : [record.copies === undefined ? undefined : `copies=${record.copies}`, record.events === undefined ? undefined : `events=${record.events}`];
  return [oid, record.verdict, ...fields.filter((f) => f)].join(' ') + '\n';
}

export function recordVerdict(gitDir: string, oid: string, record: VerdictRecord): void {
  const perm = sharedPermOf(gitDir);
  mkdirShared(join(gitDir, 'grit'), perm);
  appendShared(verdictsPath(gitDir), verdictLine(oid, record), perm);
}

/** The `event_count` recorded for a snapshot (a trusted one's, when its line has it), for `newestFirst`. */
export const recordedCount =
  (verdicts: ReadonlyMap<string, VerdictRecord>) =>
  (oid: string): number | undefined =>
    verdicts.get(oid)?.events;

export const isTrusted = (v: VerdictRecord | undefined): boolean => v?.verdict === 'made' || v?.verdict === 'verified';

/**
 * The verdict on the snapshot `oid`: `verified` (with its count) when it is exactly the events of
 * the WAL up to its `wal_head` (each copy the WAL holds once, `copyKey`: an event the WAL holds
 * with two signatures is two), else `refused` with why. Reads the snapshot (checking its format,
 * hashes and counts, `readSnapshotInto`) and the WAL chain ending at its wal_head: a mismatch or
 * a damaged snapshot is a reason; a `wal_head` whose chain cannot be read (not fetched yet)
 * throws, as no verdict can be given yet. Closes `wal.objects`.
 */
export async function checkSnapshot(wal: Wal, oid: string): Promise<VerdictRecord> {
  const refused = (reason: string): VerdictRecord => ({ verdict: 'refused', reason });
  try {
    let meta: SnapshotMeta;
    try {
      meta = readSnapshotMeta(wal.objects, oid);
    } catch (err) {
      return refused((err as Error).message);
    }
    const walHead = meta.wal_head;
    // Not a hole in the local WAL: a head only the snapshot's writer had (a commit it never
    // pushed, or rebased away since), which no fetch brings.
    if (!wal.objects.has(walHead)) return refused(`its wal_head ${walHead} is in no WAL this repository has: a commit its writer had not pushed, or rebased away since`);
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
      return refused((err as Error).message);
    }
    const eventId = (key: string) => key.slice(0, key.indexOf(':'));
    if (extra !== null) {
      return refused(`it holds ${plural(extraCount, 'event')} that the WAL up to its wal_head ${walHead} lacks (or holds with another signature), e.g. ${eventId(extra)}`);
    }
    if (twice !== null) return refused(`it holds event ${eventId(twice)} more than once`);
    const missing = [...expected].filter(([, n]) => n === 0).map(([key]) => eventId(key));
    if (missing.length) {
      const held = new Set([...expected].filter(([, n]) => n > 0).map(([key]) => eventId(key)));
      const copies = missing.filter((id) => held.has(id)).length;
      const which = copies === 0 ? '' : `; ${copies} of them ${copies === 1 ? 'is a copy' : 'are copies'} of an event it holds, with another signature`;
      return refused(`it lacks ${plural(missing.length, 'event')} of the WAL up to its wal_head ${walHead}, e.g. ${missing[0]}${which}`);
    }
    // Its count is the one it holds: readSnapshotInto refuses one that says otherwise.
    return { verdict: 'verified', events: meta.event_count };
  } finally {
    wal.objects.close();
  }
}

/**
 * Whether the snapshot `oid` may stand in for the WAL up to its wal_head: by its recorded verdict,
 * or, with none yet, by checking it now (`checkSnapshot`) and recording the verdict. `verdicts`
 * is what `readVerdicts` gave (updated here). Throws when the check cannot be made yet.
 */
export async function judgeSnapshot(wal: Wal, oid: string, verdicts: Map<string, VerdictRecord>): Promise<VerdictRecord> {
  const known = verdicts.get(oid);
  if (known) return known;
  const record = await checkSnapshot(wal, oid);
  recordVerdict(wal.gitDir, oid, record);
  verdicts.set(oid, record);
  return record;
}
