/**
 * `db stats|check|verify` (SPEC §6), and `checkStore` and `rebuildAdvice` for doctor: the store
 * checked as it is, and the WAL's events verified against the known keys. See docs/operations.md.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { decodeStrict } from '../core/cbor.js';
import type { RepoConfig } from '../core/config.js';
import { DAY_MS } from '../core/duration.js';
import { CopyCounter, eventFromRecord, type Event } from '../core/event.js';
import { loadFastHash } from '../core/hash.js';
import { fromHex, toHex } from '../core/hex.js';
import { loadKeyring, Verifier, type VerifyReport } from '../core/integrity.js';
import { foldIssue, summarize, type Issue, type IssueSummary } from '../core/projection.js';
import { decodeStored } from '../core/chunk.js';
import { ISSUE_BYTES } from '../core/log-key.js';
import { eventIdOfKey, keyMatches, type StoreMeta } from '../core/store.js';
import { plural } from '../core/plural.js';
import { decodeWalChunk, type WalChunk } from '../git/wal.js';
import type { Args } from './args.js';
import type { ContextOptions, RepoContext } from './context.js';
import { walkWal } from './wal-replay.js';

export interface DbStats {
  path: string;
  size_bytes: number;
  event_count: number;
  issue_count: number;
  last_rebuild_ts: number | null;
  events_since_rebuild: number;
  days_since_rebuild: number | null;
  rebuild_recommended: boolean;
}

/**
 * A rebuild is recommended once the store has taken in more than `snapshot.max_events` events
 * since its last rebuild, or was last rebuilt more than `snapshot.max_age_days` ago and has
 * changed since (the same thresholds as snapshots, so a rebuild can start from a recent one).
 */
export function rebuildAdvice(
  meta: StoreMeta,
  config: RepoConfig,
  now = Date.now(),
): { days_since_rebuild: number | null; rebuild_recommended: boolean; reason: string } {
  const days = meta.last_rebuild_ts === null ? null : Math.max(0, Math.round(((now - meta.last_rebuild_ts) / DAY_MS) * 100) / 100);
  const { max_events, max_age_days } = config.snapshot;
  if (meta.events_since_rebuild > max_events) {
    return { days_since_rebuild: days, rebuild_recommended: true, reason: `${plural(meta.events_since_rebuild, 'event')} since the last rebuild (max ${max_events})` };
  }
  if (days !== null && days > max_age_days && meta.events_since_rebuild > 0) {
    return { days_since_rebuild: days, rebuild_recommended: true, reason: `last rebuilt ${days} days ago (max ${max_age_days})` };
  }
  return { days_since_rebuild: days, rebuild_recommended: false, reason: 'within the rebuild thresholds' };
}

export async function dbStats(ctx: RepoContext): Promise<DbStats> {
  const store = ctx.store;
  const { meta, issue_count } = await ctx.read(() => ({ meta: store.getMeta(), issue_count: store.issueCount() }));
  let size_bytes = 0;
  try {
    size_bytes = statSync(store.path).size;
  } catch {
    /* not on disk yet */
  }
  const advice = rebuildAdvice(meta, ctx.config);
  return {
    path: store.path,
    size_bytes,
    event_count: meta.event_count,
    issue_count,
    last_rebuild_ts: meta.last_rebuild_ts,
    events_since_rebuild: meta.events_since_rebuild,
    days_since_rebuild: advice.days_since_rebuild,
    rebuild_recommended: advice.rebuild_recommended,
  };
}

export interface CheckError {
  problem: 'corrupt' | 'key_mismatch' | 'count_mismatch' | 'projection_mismatch' | 'projection_missing' | 'index_mismatch';
  message: string;
  event_id?: string;
  issue_id?: string;
}

export interface DbCheck {
  events_checked: number;
  events_valid: number;
  corrupt_count: number;
  errors: CheckError[];
}

/**
 * Checks the store as it is (no refresh): every stored event decodes and its id is recomputed
 * from its content; the event count matches the store's meta; every issue's stored projection
 * equals the fold of its stored events; the dependency indexes and the summary table match those
 * projections.
 *
 * One read of each record: the issue rows first, then the log, whose keys start with the issue id
 * (log-key.ts), so each issue's events are one run of it, folded as the run ends. Only what the
 * checks need of each row (`RowFacts`) and one issue's events are held. Problems keep their order:
 * events, the count, issues in id order, missing projections, indexes.
 */
export function checkStore(store: RepoContext['store']): DbCheck {
  const rows = readIssueRows(store);
  const errors: CheckError[] = [];
  let checked = 0;
  let valid = 0;
  const created = new Set<string>();
  // The fold each row is compared with: of its events as `Store.issueEventsOf` reads them.
  const mismatched = new Set<string>();
  const folded = new Set<string>();
  let run = null as { issue: string; events: Event[]; whole: boolean } | null;
  const endRun = () => {
    if (!run) return;
    folded.add(run.issue);
    const ids = rows.byIssue.get(run.issue);
    // An event of the issue does not decode: reported as corrupt, its fold is not judged.
    if (ids && run.whole) {
      let fold: string | null = null;
      try {
        fold = JSON.stringify(foldIssue(run.events));
      } catch {
        /* not judged, as an event that does not decode */
      }
      if (fold !== null) {
        const digest = jsonDigest(fold);
        for (const id of ids) if (digest !== (rows.stored.get(id)?.json ?? NULL_DIGEST)) mismatched.add(id);
      }
    }
    run = null;
  };
  for (const { key, value } of store.rawEvents()) {
    checked++;
    const issue = key.length >= ISSUE_BYTES ? toHex(key.subarray(0, ISSUE_BYTES)) : null;
    if (run?.issue !== issue) {
      endRun();
      if (issue !== null) run = { issue, events: [], whole: true };
    }
    const keyId = eventIdOfKey(key);
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    let e: Event;
    try {
      e = eventFromRecord(decodeStrict(bytes));
    } catch (err) {
      errors.push({ problem: 'corrupt', event_id: keyId, message: (err as Error).message });
      // What the store reads for the fold: it does not check the id.
      try {
        run?.events.push(decodeStored(bytes));
      } catch {
        if (run) run.whole = false;
      }
      continue;
    }
    run?.events.push(e);
    if (!keyMatches(key, e)) {
      const message = `stored under ${Buffer.from(key).toString('hex')}, not under the key of event ${toHex(e.event_id)}`;
      errors.push({ problem: 'key_mismatch', event_id: keyId, message });
      continue;
    }
    valid++;
    if (e.kind.type === 'IssueCreated') created.add(toHex(e.issue_id));
  }
  endRun();
  const meta = store.getMeta();
  if (meta.event_count !== checked) {
    errors.push({ problem: 'count_mismatch', message: `the store's meta counts ${plural(meta.event_count, 'event')}, it holds ${checked}` });
  }
  for (const row of rows.order) {
    if (row.error) errors.push(row.error);
    else if (folded.has(row.issue) ? mismatched.has(row.id) : rows.stored.get(row.id) !== undefined) {
      errors.push({ problem: 'projection_mismatch', issue_id: row.id, message: `issue ${row.id} differs from the fold of its events` });
    }
  }
  for (const id of created) {
    if (!rows.known.has(id)) errors.push({ problem: 'projection_missing', issue_id: id, message: `issue ${id} has events but no projection` });
  }
  const facts = [...rows.stored.values()].filter((f): f is RowFacts => f !== undefined);
  const problems = [...store.depIndexProblems(facts), ...store.summaryProblems(facts.map((f) => f.summary))];
  for (const message of problems) errors.push({ problem: 'index_mismatch', message });
  return { events_checked: checked, events_valid: valid, corrupt_count: checked - valid + rows.corrupt, errors };
}

/**
 * What `checkStore` needs of a decoded issue row once it is read: the digest of its JSON (what the
 * fold of its events is compared with), its summary and its dependencies (what the indexes are).
 * Holding the rows themselves, bodies and comments and all, was most of what a check held.
 */
interface RowFacts extends Pick<Issue, 'issue_id' | 'dependencies'> {
  json: string;
  summary: IssueSummary;
}

/** A digest of a projection's JSON text: equal digests, equal texts. */
const jsonDigest = (json: string): string => createHash('sha256').update(json).digest('base64');

/** The digest of `JSON.stringify(null)`: a row that went missing while read. */
const NULL_DIGEST = jsonDigest('null');

/** The store's issue rows, in id order, each decoded once, for `checkStore`. */
function readIssueRows(store: RepoContext['store']) {
  const known = new Set<string>();
  const order: { id: string; issue: string; error?: CheckError }[] = [];
  /** What the checks need of each row, by id (undefined: the row went missing while read). */
  const stored = new Map<string, RowFacts | undefined>();
  /** Row ids by the issue (lowercase hex) whose log range `Store.issueEventsOf` reads for them. */
  const byIssue = new Map<string, string[]>();
  let corrupt = 0;
  for (const id of store.issueIds()) {
    known.add(id);
    // A projection under a key that is no issue id, or that does not decode, is a corrupt record
    // like an event that does not decode (damage inside the store file).
    const bytes = fromHex(id, ISSUE_BYTES);
    if (!bytes) {
      corrupt++;
      order.push({ id, issue: '', error: { problem: 'corrupt', message: `an issue row is stored under ${JSON.stringify(id)}, which is not an issue id` } });
      continue;
    }
    const issue = toHex(bytes);
    try {
      const row = store.getIssue(id);
      stored.set(id, row && { issue_id: row.issue_id, dependencies: row.dependencies, json: jsonDigest(JSON.stringify(row)), summary: summarize(row) });
    } catch (err) {
      corrupt++;
      order.push({ id, issue, error: { problem: 'corrupt', issue_id: id, message: (err as Error).message } });
      continue;
    }
    order.push({ id, issue });
    const ids = byIssue.get(issue);
    if (ids) ids.push(id);
    else byIssue.set(issue, [id]);
  }
  return { known, order, stored, byIssue, corrupt };
}

/**
 * `db check`: the store's check, and `behind_wal` (beyond SPEC §6): how many events the WAL has
 * past the commit the store was built up to, which the store does not hold (a full disk kept it
 * from catching up, or no command ran since the WAL moved); null when that cannot be told (the
 * store's head is off the WAL's chain, or the WAL cannot be read: `doctor` says which).
 */
export async function dbCheck(ctx: RepoContext): Promise<DbCheck & { behind_wal: number | null }> {
  await loadFastHash(); // every stored event id is recomputed
  const check = checkStore(ctx.store);
  return { ...check, behind_wal: await eventsBehindWal(ctx, ctx.store.getMeta().wal_head) };
}

async function eventsBehindWal(ctx: RepoContext, storeHead: string | null): Promise<number | null> {
  try {
    const head = await ctx.wal.head();
    if (head === null || head === storeHead) return 0;
    // walkWal would walk the whole chain from a head off it.
    if (storeHead !== null && !(await ctx.wal.isAncestor(storeHead, head))) return null;
    let n = 0;
    await walkWal(ctx, storeHead, head, 'reading WAL', (chunks) => {
      for (const c of chunks) n += decodeWalChunk(c).events.length;
      return true;
    });
    return n;
  } catch {
    return null;
  }
}

/**
 * Verifies every event of the WAL (not only the store: events refused under `reject` are not in
 * the store) against the known public keys, as it reads them (none held); a WAL that cannot be
 * read to its end adds a `wal_error` ahead of the rest. Extra fields beyond SPEC §6: `policy`,
 * `unverified` (events whose actor's key is unknown) and `known_keys`.
 */
export async function dbVerify(ctx: RepoContext, _args: Args, options: ContextOptions): Promise<VerifyReport & { policy: string; known_keys: number }> {
  const keys = loadKeyring(ctx.repo.gritDir, ctx.actor);
  const verifier = new Verifier(keys);
  const head = await ctx.wal.head();
  const report: VerifyReport & { copies?: number } = verifier.report;
  const copies = new CopyCounter();
  try {
    if (head !== null) {
      const read = (chunks: WalChunk[]) => {
        for (const c of chunks) {
          for (const e of decodeWalChunk(c).events) {
            verifier.check(e);
            copies.add(e);
          }
        }
        return true;
      };
      await walkWal(ctx, null, head, 'reading WAL', read, {}, options.progress);
    }
  } catch (err) {
    report.errors.unshift({ problem: 'wal_error', message: (err as Error).message });
    report.error_count = report.errors.length;
  }
  // `events_checked` counts every copy (each has its own signature): `copies` says how many are further copies.
  if (copies.copies) report.copies = copies.copies;
  return { ...report, policy: ctx.config.signature_policy, known_keys: keys.size };
}
