/**
 * Doctor's one pass over the WAL (docs/performance.md, Doctor): wal_ref, store_integrity,
 * snapshots, dependency_cycles and signatures all take what they need from it, so each event is
 * read and decoded once and each signature verified once, and no event is held: only ids (to
 * count copies, to judge snapshots and a store off the WAL's chain), the signature report (and
 * the ids of unsigned events that may predate their actor's key: key-added.ts), each issue's
 * dependency events and each event's timestamp (where a dependency remove's parent is placed:
 * `DependencyFold`).
 */
import type { SignaturePolicy } from '../core/config.js';
import { DependencyFold, type DepGraph } from '../core/deps.js';
import type { Event } from '../core/event.js';
import { toHex } from '../core/hex.js';
import { isProblem, Verifier, type Keyring, type VerifyReport } from '../core/integrity.js';
import { decodeWalChunk, type Wal } from '../git/wal.js';
import { readWal } from '../git/wal-read-ahead.js';
import { KeyHistory } from './key-added.js';
import type { WalIds } from './lost-events.js';

/** WAL commits decoded per step (a long WAL is read ahead on a second thread meanwhile). */
const SEGMENT_COMMITS = 512;

export interface WalSurvey extends WalIds {
  /** Events read, copies included. */
  eventCount: number;
  /** Events whose id an event before them had (docs/wal.md, "Two copies of one event"). */
  copies: number;
  /** Every event's signature checked; null under `signature_policy = off`. */
  signatures: VerifyReport | null;
  /**
   * Events with a bad or missing signature that also have a copy that verifies (docs/wal.md, "Two
   * copies of one event"): the store keeps that copy, so the bad one is not what it applied.
   */
  validCopies: ReadonlySet<string>;
  /** When each actor's key existed, as the WAL shows it (which problems predate the key); null under `off`. */
  keyHistory: KeyHistory | null;
  /** The dependency graph of the events the signature policy admits: what the store folds. */
  deps: DepGraph;
  /** The actors (hex) that wrote an event. */
  authors: ReadonlySet<string>;
  /** By commit: how many events the WAL holds up to and including it (copies included). */
  eventsThrough: ReadonlyMap<string, number>;
  /** File-context ids (hex) that issue events were filed under too, with their path (docs/wal.md, "Context ids"). */
  sharedIds: ReadonlyMap<string, string>;
}

/**
 * Which file-context ids also hold issue events. The WAL reader cannot refuse those (an issue id
 * is a file's context id only once a ContextUpdated names the path), so doctor says so.
 */
class SharedIds {
  private readonly issues = new Set<string>();
  private readonly files = new Map<string, string>();

  take(e: Event): void {
    const k = e.kind;
    if (k.type === 'ContextUpdated') this.files.set(toHex(e.issue_id), k.path);
    else if (k.type !== 'ProjectContextUpdated') this.issues.add(toHex(e.issue_id));
  }

  found(): Map<string, string> {
    return new Map([...this.files].filter(([id]) => this.issues.has(id)));
  }
}

/**
 * Reads the WAL ending at `head` (null: none yet), oldest first, and checks it as `Wal.readSince`
 * does: a commit that does not read or decode throws its `wal_error` (the first in WAL order).
 */
export async function surveyWal(wal: Wal, head: string | null, policy: SignaturePolicy, keys: Keyring): Promise<WalSurvey> {
  const commits = new Set<string>();
  const events = new Set<string>();
  let eventCount = 0;
  let copies = 0;
  const authors = new Set<string>();
  const eventsThrough = new Map<string, number>();
  const verifier = policy === 'off' ? null : new Verifier(keys);
  const keyHistory = verifier && new KeyHistory();
  const fold = new DependencyFold();
  const shared = new SharedIds();
  const problems = new Set<string>();
  const validCopies = new Set<string>();
  if (head !== null) {
    try {
      const { segments } = await readWal(wal, null, head, SEGMENT_COMMITS);
      for await (const segment of segments) {
        for (const chunk of segment) {
          commits.add(chunk.oid);
          for (const e of decodeWalChunk(chunk).events) {
            eventCount++;
            const actor = toHex(e.actor);
            authors.add(actor);
            shared.take(e);
            const id = toHex(e.event_id);
            const copy = events.has(id);
            if (copy) copies++;
            else events.add(id);
            // As `admitEvents`: under reject, a known actor's event with a bad or missing signature stays out of the store.
            const status = verifier?.check(e);
            // A copy that verifies, after a bad one or before one: a copy seen before that was no
            // problem verified (the key is known, or this one would be no problem either).
            if (status === 'valid' && problems.has(id)) validCopies.add(id);
            if (status && isProblem(status)) {
              if (copy && !problems.has(id)) validCopies.add(id);
              problems.add(id);
            }
            if (status) keyHistory?.take(actor, id, e.ts_unix_ms, status);
            if (!(status && isProblem(status) && policy === 'reject')) fold.take(e, id);
          }
          eventsThrough.set(chunk.oid, eventCount);
        }
      }
    } finally {
      wal.objects.close();
    }
  }
  return { commits, events, eventCount, copies, signatures: verifier?.report ?? null, validCopies, keyHistory, deps: fold.graph(), authors, eventsThrough, sharedIds: shared.found() };
}
