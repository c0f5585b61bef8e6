/**
 * The whole numbers each command's number arguments take, and their defaults: read by the command
 * functions (args.ts `optInt`), and shown by their CLI flags (define.ts `intFlag`) and MCP
 * schemas. Free of anything else, so that a command's class loads no more than its flags.
 */
import type { IntRange } from './args.js';

/** `context query --limit`: how many results a query returns. */
export const QUERY_LIMIT = { min: 1, max: 10_000, default: 50 } as const satisfies IntRange;

/** `snapshot gc --keep`: how many of the newest snapshots stay. */
export const SNAPSHOT_KEEP = { min: 0, default: 3 } as const satisfies IntRange;

/** `daemon start --idle-timeout`, in seconds (0 = never); grit-daemon reads up to nine digits. */
export const IDLE_TIMEOUT_S = { min: 0, max: 999_999_999, default: 300 } as const satisfies IntRange;

/** `daemon start --worker-idle-timeout`, in seconds (0 = never). */
export const WORKER_IDLE_TIMEOUT_S = { min: 0, max: 999_999_999, default: 120 } as const satisfies IntRange;

/** `daemon start --max-workers`: workers (one per repository and actor) kept at once; 0 = no cap. */
export const MAX_WORKERS = { min: 0, max: 999_999_999, default: 16 } as const satisfies IntRange;

/** `export --since` as a unix ms timestamp (it also takes a date or an event id). */
export const SINCE_MS = { min: 0, example: 1_735_689_600_000 } as const satisfies IntRange;
