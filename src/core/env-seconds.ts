/** A number of seconds set in an environment variable (GRIT_GIT_TIMEOUT, GRIT_DRAIN_TIMEOUT). */
import { GritError, type EnvironmentCode } from './errors.js';

/** The longest timer node keeps (2^31 - 1 ms, 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_S = Math.floor((2 ** 31 - 1) / 1000);

/**
 * The whole number of seconds in `name`, or `fallback` when it is unset or empty. Anything else
 * is a failure of the environment (exit 5) with `code`, the code of what the variable governs;
 * `zero` says what 0 means.
 */
export function envSeconds(name: string, fallback: number, opts: { code: EnvironmentCode; zero: string }, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^\d{1,7}$/.test(raw) && Number(raw) <= MAX_TIMER_S) return Number(raw);
  throw new GritError(opts.code, `${name} must be a whole number of seconds up to ${MAX_TIMER_S} (0 = ${opts.zero}), not ${JSON.stringify(raw)}`, {
    environment: true,
    details: { [name]: raw },
    suggestion: `set it to a number of seconds, or unset it for the default (${fallback})`,
  });
}

/** The daemon's drain deadline when GRIT_DRAIN_TIMEOUT is unset (docs/daemon.md, Shutdown). */
export const DEFAULT_DRAIN_S = 60;

/**
 * GRIT_DRAIN_TIMEOUT in seconds: read by the daemon when it starts, and by `grit daemon start`,
 * which refuses a bad value before it asks a daemon anything and warns when a running one has another.
 */
export function drainTimeoutS(): number {
  return envSeconds('GRIT_DRAIN_TIMEOUT', DEFAULT_DRAIN_S, { code: 'ipc_error', zero: 'no wait' });
}
