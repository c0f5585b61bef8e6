/**
 * Running a parsed command and printing its result: the `--json` envelope of SPEC §6, human
 * output, errors with their exit codes. Shared by the oclif commands and the fast path, and free
 * of oclif so the fast path never loads it.
 */
import { GritError, toGritError } from '../core/errors.js';
import type { Args } from '../commands/args.js';
import { dim, red } from './format.js';
import { visible, visibleDeep } from './terminal-safe.js';

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
    if (json) process.stdout.write(JSON.stringify({ schema_version: 1, ok: true, data }) + '\n');
    else if (!flags.quiet) {
      const text = action.verbatim?.(data) ?? action.render(visibleDeep(data), parsed);
      if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
    }
  } catch (err) {
    printError(toGritError(err), json);
  }
}

export function printError(err: GritError, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ schema_version: 1, ok: false, error: err.toJSON() }) + '\n');
  } else {
    process.stderr.write(`${red('error', process.stderr)}: ${visible(err.message)}\n`);
    if (err.suggestion) process.stderr.write(`${dim('hint', process.stderr)}: ${visible(err.suggestion)}\n`);
  }
  process.exitCode = err.exitCode;
}
