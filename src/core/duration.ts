/**
 * Durations as grit's flags take them (`lock acquire --ttl`, `daemon start --idle-timeout`, the
 * daemon's own flags): one parser, so that `1.5h` or `10m` means the same wherever it is typed.
 */

export const DAY_MS = 86_400_000;

/** Milliseconds in each unit a duration may end with. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

/** Digits, a fraction if any, then a lowercase unit or none (seconds): nothing around them. */
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;

/** The forms a duration takes, as a hint gives them after "from … to …". */
export const DURATION_FORMS = 'a number of seconds (90), or digits with a unit ms, s, m, h or d (30s, 15m, 1.5h, 2d), lowercase and without spaces';

/** ms rounded to the microsecond: `1.1m` is 66,000 ms, not the 66,000.00000000001 that binary floating point makes of it. */
const exact = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * `input` in milliseconds: text as DURATION reads it, or a JSON number of seconds (MCP, the API);
 * null for anything else (`15M`, ` 15m`, `15 m`, `-5m`, `1e3`), which the caller refuses naming
 * its range. The range, and whether a fraction of a unit is allowed, are the caller's.
 */
export function durationMs(input: unknown): number | null {
  if (typeof input === 'number') return Number.isFinite(input) ? exact(input * 1000) : null;
  if (typeof input !== 'string') return null;
  const m = DURATION.exec(input);
  return m ? exact(Number(m[1]) * UNIT_MS[m[2] ?? 's']) : null;
}
