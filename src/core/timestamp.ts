/**
 * Event timestamps: SPEC §1 types `ts_unix_ms` as u64, which a JS number holds whole only up to
 * 2^53 - 1. An event keeps `ts_unix_ms` as a number (the nearest one: the same on every clone),
 * which output uses; one above 2^53 - 1 also keeps its exact value in `ts_exact`, for event order,
 * the fold (`ExactTs`) and everything that turns it back into bytes (the id's preimage, chunk
 * records, the store's log keys), so its id verifies byte for byte (docs/wal.md, "Integers").
 */

/** The largest timestamp SPEC allows (u64). */
export const U64_MAX = (1n << 64n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A timestamp as its bytes hold it: a number up to 2^53 - 1, a bigint above. Each value has one
 * kind, so `===` tells equal ones; `<` and `>` compare a number with a bigint exactly, but
 * arithmetic needs the two of one kind (`justBefore`).
 */
export type ExactTs = number | bigint;

export interface Stamped {
  ts_unix_ms: number;
  /** Only above 2^53 - 1: the value `ts_unix_ms` rounds. */
  ts_exact?: bigint;
}

export function exactTs(e: Stamped): ExactTs {
  return e.ts_exact ?? e.ts_unix_ms;
}

/** The fields an event holds for the timestamp `ts` (a u64). */
export function stamped(ts: ExactTs): Stamped {
  return typeof ts === 'bigint' && ts > MAX_SAFE ? { ts_unix_ms: Number(ts), ts_exact: ts } : { ts_unix_ms: Number(ts) };
}

/**
 * Orders two events by their exact timestamps. The numbers decide unless they are equal and one of
 * the two was rounded (no number up to 2^53 - 1 equals one rounded from above it, so both were).
 */
export function compareTs(a: Stamped, b: Stamped): number {
  const d = a.ts_unix_ms - b.ts_unix_ms;
  if (d !== 0 || a.ts_exact === undefined || b.ts_exact === undefined) return d;
  return a.ts_exact < b.ts_exact ? -1 : a.ts_exact > b.ts_exact ? 1 : 0;
}

/**
 * A new event's timestamp: `now`, or 1 ms after the newest event of its issue when that is not
 * older (a clock behind another writer's), so that it sorts after what its writer had seen. After
 * an event stamped 2^64 - 1 (no u64 is later) it is 2^64 - 1 again, and ties with it: event order
 * then falls to actor and event id (SPEC §2).
 */
export function stampAfter(newest: ExactTs | undefined, now: number): ExactTs {
  if (newest === undefined || newest < now) return now;
  if (typeof newest === 'number' && newest < Number.MAX_SAFE_INTEGER) return newest + 1;
  const next = BigInt(newest) + 1n;
  return next > U64_MAX ? U64_MAX : next;
}

/**
 * The timestamp just before `ts`, exactly, as an `ExactTs` (a bigint becomes a number again at
 * 2^53 - 1). A remove's own horizon (src/core/projection.ts `removeHorizon`): an add in its own
 * millisecond is concurrent with it.
 */
export function justBefore(ts: ExactTs): ExactTs {
  if (typeof ts === 'number') return ts - 1;
  const before = ts - 1n;
  return before > MAX_SAFE ? before : Number(before);
}
