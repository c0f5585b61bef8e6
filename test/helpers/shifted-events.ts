/**
 * Events moved to timestamps above 2^53 - 1, for checking that the fold orders those as it orders
 * the same events stamped below (docs/wal.md, "Integers").
 */
import { makeEvent, type Event } from '../../src/core/event.js';
import { toHex } from '../../src/core/hex.js';
import { stamped, U64_MAX } from '../../src/core/timestamp.js';

/**
 * How far to move events stamped from 990 to 1,100: from just below 2^53 to above it (numbers and
 * bigints mixed), to 1.8e18 (a nanosecond clock: numbers 256 apart) and up to 2^64 - 1.
 */
export const SHIFTS = [2n ** 53n - 1002n, 1_800_000_000_000_000_000n, U64_MAX - 1100n];

/**
 * `events` without a second event of one actor at one timestamp on one issue: their order falls
 * to their ids, which moving their timestamps (`shifted`) changes.
 */
export function oneStampEach(events: readonly Event[]): Event[] {
  const first = new Map<string, string>();
  return events.filter((e) => {
    const stamp = `${toHex(e.issue_id)} ${e.ts_unix_ms} ${toHex(e.actor)}`;
    if (!first.has(stamp)) first.set(stamp, toHex(e.event_id));
    return first.get(stamp) === toHex(e.event_id);
  });
}

/** `events` stamped `by` later: new ids, and each parent the new id of its event (one not among them stays). */
export function shifted(events: readonly Event[], by: bigint): Event[] {
  const moved = new Map<string, Event>();
  return events.map((e) => {
    const id = toHex(e.event_id);
    let m = moved.get(id);
    if (!m) {
      const parent = e.parent && (moved.get(toHex(e.parent))?.event_id ?? e.parent);
      moved.set(id, (m = makeEvent({ issue_id: e.issue_id, actor: e.actor, ...stamped(BigInt(e.ts_unix_ms) + by), parent, kind: e.kind })));
    }
    return m;
  });
}

