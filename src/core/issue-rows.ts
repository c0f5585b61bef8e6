/**
 * What the store keeps per issue besides its events: its projection and fold state as plain CBOR
 * rows, and its label and dependency index keys; and the issue side of a fill (`Store.fill`),
 * folding a fill's issues into those rows a batch at a time. A batch needs no store and no state
 * shared with the thread holding it, so the batches of a long fill are taken by that thread and a
 * helper thread at once (src/core/fill-folds.ts).
 */
import { ContextTables } from './context-store.js';
import { decodeStored } from './chunk.js';
import type { Event } from './event.js';
import type { DepType } from './kinds.js';
import { foldIssueState, summarize, type Folded } from './projection.js';
import { encode as encodeRow } from './plain-cbor.js';
import { recordOf, type FillPlan, type RecordSpans } from './store-fill.js';
import { textKey } from './index-key.js';

/**
 * Issues with fewer events keep no fold state: reading their few events back costs less than
 * writing the state on every change, and most issues a daemon creates stay that small for a while.
 */
const FOLD_STATE_MIN_EVENTS = 4;

/**
 * Dependency index keys: `deps` holds `issue:target:type` (what an issue records), `rdeps` the
 * same edge as `target:issue:type` (who points at an issue). Not NUL-separated: lmdb's key
 * encoding reads a string with several NULs back as an array.
 */
export const DEP_SEP = ':';
export const depKey = (from: string, to: string, type: DepType): string => `${from}${DEP_SEP}${to}${DEP_SEP}${type}`;
const NUL = Buffer.from([0]);
const ONE = Buffer.from([1]);

/** The label index key of an issue's label (binary): the keys of a label are one range, `labelRange`. */
export const labelKey = (label: string, issueHex: string): Buffer => Buffer.concat([textKey(label), NUL, Buffer.from(issueHex, 'latin1')]);

/** The range of a label's index keys; each is `start` and the issue's id in hex. */
export function labelRange(label: string): { start: Buffer; end: Buffer } {
  const part = textKey(label);
  return { start: Buffer.concat([part, NUL]), end: Buffer.concat([part, ONE]) };
}

/** What the store writes for an issue's fold. */
export interface IssueRows {
  issue: Uint8Array;
  /**
   * Its `IssueSummary`, kept apart so that a listing reads a few dozen bytes per issue instead of
   * the whole row (bodies, every comment).
   */
  summary: Uint8Array;
  /** Its fold state, if it keeps one. */
  state: Uint8Array | null;
}

export function rowsOf(folded: Folded): IssueRows {
  return {
    issue: encodeRow(folded.issue),
    summary: encodeRow(summarize(folded.issue)),
    state: folded.issue.event_count >= FOLD_STATE_MIN_EVENTS ? encodeRow(folded.state) : null,
  };
}


/** Issues per batch: small enough that the last batches of two threads end close together. */
export const FOLD_BATCH_ISSUES = 128;

/** A fill's issue side, as a thread that folds its batches sees it. */
export interface FoldJob extends RecordSpans {
  plan: FillPlan;
}

/** How `FoldedBatch.bounds` marks an issue without rows. */
export const NO_ISSUE = -1;
export const INLINE = -2;

/** How many entries of `FoldedBatch.bounds` each issue has. */
export const BOUNDS_PER_ISSUE = 3;

/** The issues of one batch, folded. */
export interface FoldedBatch {
  batch: number;
  /** The issue, summary and fold state rows, one after the other. */
  rows: Uint8Array;
  /**
   * Per issue of the batch, where its issue row, its summary and its fold state end in `rows`
   * (each starts where the one before it ends); or `NO_ISSUE` (it has no IssueCreated: nothing is
   * written) or `INLINE` (it holds context events, or a record that does not decode: the store's
   * thread takes it up itself, which applies the one and reports the other) and two 0s.
   */
  bounds: Int32Array;
  labelKeys: Uint8Array[];
  depKeys: string[];
  rdepKeys: string[];
}

export const batchCount = (plan: FillPlan): number => Math.ceil(plan.ids.length / FOLD_BATCH_ISSUES);

/** The events of issue `i` of a fill, decoded; null when one does not decode or is a context event. */
function issueEvents({ plan, buffers, spans }: FoldJob, i: number): Event[] | null {
  const events: Event[] = [];
  try {
    for (let k = plan.starts[i]; k < plan.starts[i + 1]; k++) {
      const e = decodeStored(recordOf(buffers, spans, plan.order[k]));
      if (ContextTables.isContextEvent(e)) return null;
      events.push(e);
    }
  } catch {
    return null;
  }
  return events;
}

/** Folds batch `batch` of a fill's issues. */
export function foldBatch(job: FoldJob, batch: number): FoldedBatch {
  const first = batch * FOLD_BATCH_ISSUES;
  const end = Math.min(first + FOLD_BATCH_ISSUES, job.plan.ids.length);
  const bounds = new Int32Array(BOUNDS_PER_ISSUE * (end - first));
  const out: FoldedBatch = { batch, rows: new Uint8Array(0), bounds, labelKeys: [], depKeys: [], rdepKeys: [] };
  const parts: Uint8Array[] = [];
  let at = 0;
  for (let i = first; i < end; i++) {
    const b = BOUNDS_PER_ISSUE * (i - first);
    const events = issueEvents(job, i);
    const folded = events && foldIssueState(events);
    if (!folded) {
      bounds[b] = events ? NO_ISSUE : INLINE;
      continue;
    }
    const id = job.plan.ids[i];
    const rows = rowsOf(folded);
    parts.push(rows.issue, rows.summary);
    bounds[b] = at += rows.issue.length;
    bounds[b + 1] = at += rows.summary.length;
    if (rows.state) parts.push(rows.state);
    bounds[b + 2] = at += rows.state?.length ?? 0;
    for (const l of folded.issue.labels) out.labelKeys.push(labelKey(l, id));
    for (const d of folded.issue.dependencies) {
      out.depKeys.push(depKey(id, d.target, d.dep_type));
      out.rdepKeys.push(depKey(d.target, id, d.dep_type));
    }
  }
  // One buffer of its own: the encoder's rows are views into memory it goes on writing.
  out.rows = new Uint8Array(at);
  at = 0;
  for (const p of parts) {
    out.rows.set(p, at);
    at += p.length;
  }
  return out;
}
