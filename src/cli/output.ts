/**
 * Running a parsed command and printing its result: the `--json` envelope of SPEC §6, human
 * output, errors with their exit codes. Shared by the oclif commands and the fast path, and free
 * of oclif so the fast path never loads it.
 */
import { GritError, toGritError, type ErrorCode } from '../core/errors.js';
import type { Args } from '../commands/args.js';
import { dim, red } from './format.js';
import { visible, visibleDeep } from '../core/terminal-safe.js';

export interface Parsed {
  args: Record<string, unknown>;
  flags: Record<string, unknown>;
}

/** What a CLI command does once its input is parsed. */
export interface CliAction<D = any> {
  ipc: string;
  toArgs: (p: Parsed) => Args | Promise<Args>;
  /** Human output, from the data with its text made terminal-safe (terminal-safe.ts). */
  render: (data: D, parsed: Parsed) => string;
  /** Output that is itself data (an export to stdout), printed exactly as it is when given. */
  verbatim?: (data: D) => string | undefined;
  /** For a command whose data is a verdict (doctor): the exit status of a run that succeeded. */
  exitCode?: (data: D) => number;
}

export async function runAction(action: CliAction, parsed: Parsed, json: boolean): Promise<void> {
  try {
    const args = await action.toArgs(parsed);
    const { flags } = parsed;
    const options = {
      cwd: process.cwd(),
      actor: flags.actor as string | undefined,
      dataDir: flags['data-dir'] as string | undefined,
    };
    const { execute } = await import('./dispatch.js');
    const data = await execute(action.ipc, args, options, flags['no-daemon'] === true);
    // The lock policy's warnings (in the data for --json too): on stderr, wherever the command ran.
    for (const w of (data as { lock_warnings?: string[] } | null)?.lock_warnings ?? []) process.stderr.write(`grit: warning: ${visible(w)}\n`);
    printSuccess(data, json, flags.quiet === true, () => action.verbatim?.(data) ?? action.render(visibleDeep(data), parsed));
    if (action.exitCode) process.exitCode = action.exitCode(data);
  } catch (err) {
    printError(toGritError(err), json);
  }
}

/** A command's success: the envelope under --json, else its text (nothing with --quiet). */
export function printSuccess(data: unknown, json: boolean, quiet: boolean, text: () => string): void {
  if (json) process.stdout.write(JSON.stringify({ schema_version: 1, ok: true, data }) + '\n');
  else if (!quiet) {
    const shown = text();
    if (shown) process.stdout.write(shown.endsWith('\n') ? shown : shown + '\n');
  }
}

/** A person's next step when the error names none itself (SPEC §6: every human error carries one). */
const FALLBACK_HINTS: Record<ErrorCode, string> = {
  invalid_args: 'run the command with --help to see what it takes',
  not_found: 'check the name or id (`grit issue list` lists the issues)',
  conflict: 'see what it conflicts with above, then try again',
  db_busy: 'another process holds it: try again in a moment',
  io_error: 'check the path and its permissions; `grit doctor` checks the local state',
  git_error: 'check the repository (`git status`); `grit doctor` checks what grit keeps in it',
  wal_error: 'run `grit doctor` to see what is wrong with refs/grit/wal',
  ipc_error: 'run the command with --no-daemon',
  internal_error: 'a bug in grit: please report it with the command and the output of `grit doctor --json`',
};

export function printError(err: GritError, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ schema_version: 1, ok: false, error: err.toJSON() }) + '\n');
  } else {
    process.stderr.write(`${red('error', process.stderr)}: ${visible(err.message)}\n`);
    process.stderr.write(`${dim('hint', process.stderr)}: ${visible(err.suggestion ?? FALLBACK_HINTS[err.code])}\n`);
  }
  process.exitCode = err.exitCode;
}
