/**
 * For plugin commands (docs/plugins.md): print a result or an error exactly as grit's own commands
 * do, so a plugin keeps SPEC §6 (one envelope under `--json`, grit's codes and exit statuses,
 * `error:`/`hint:` on a terminal) without building any of it. Free of oclif: the plugin's parse
 * errors are recognised by their exit status.
 */
import { GritError, toGritError } from '../core/errors.js';
import { visibleDeep } from '../core/terminal-safe.js';
import { printError as printGritError, printSuccess } from './output.js';
import { describeCommand, fromParseError, type CommandLike } from './parse-error.js';

export interface ResultOptions<D> {
  /** `--json`: print the envelope `{schema_version: 1, ok: true, data}`. */
  json: boolean;
  /** `--quiet`: print nothing (the envelope still, under --json). */
  quiet?: boolean;
  /** The human output, from the data with its text made terminal-safe (control characters shown, not sent). */
  text?: (data: D) => string;
}

export function printResult<D>(data: D, options: ResultOptions<D>): void {
  printSuccess(data, options.json, options.quiet === true, () => options.text?.(visibleDeep(data)) ?? '');
}

/**
 * Any error a plugin command meets, printed as grit prints its own and with its exit status set
 * (process.exitCode): a GritError as it is; oclif's errors with exit status 2 (its parser's:
 * an unknown flag, a missing value, an option out of range) as `invalid_args`; anything else as
 * grit reports an unexpected error (`io_error` for a system error, else `internal_error`).
 * Given the command (`this`), a parse error's hint fits the mistake as for grit's own commands
 * (a misspelt flag names the nearest one, a missing argument is named).
 */
export function printError(err: unknown, json: boolean, command?: CommandLike): void {
  const oclif = (err as { oclif?: { exit?: number }; code?: unknown } | null) ?? {};
  // `this.exit(n)`: not an error, oclif ends the command with that status.
  if (oclif.code === 'EEXIT') throw err;
  printGritError(err instanceof GritError ? err : oclif.oclif?.exit === 2 ? fromParseError(err, command && describeCommand(command)) : toGritError(err), json);
}
