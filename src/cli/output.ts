/**
 * Running a parsed command and printing its result: the `--json` envelope of SPEC §6, human
 * output, errors with their exit codes. Shared by the oclif commands and the fast path, and free
 * of oclif so the fast path never loads it.
 */
import { once } from 'node:events';
import { GritError, toGritError, type ErrorCode } from '../core/errors.js';
import type { Args } from '../commands/args.js';
import type { OutputSink } from '../commands/context.js';
import { dim, red } from './format.js';
import { visible, visibleDeep } from '../core/terminal-safe.js';
import { NO_PROGRESS } from '../core/progress.js';

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
  /**
   * Whether the command, given these arguments, writes its output to standard output as it makes
   * it (an export to stdout, which can be larger than memory should hold): it then runs in this
   * process, and its output, or its `--json` envelope, is written piece by piece.
   */
  streams?: (args: Args) => boolean;
  /** For a command whose data is a verdict (doctor): the exit status of a run that succeeded. */
  exitCode?: (data: D) => number;
  /** A listing or a show: its human output, longer than the terminal, goes through a pager (pager.ts). */
  pages?: true;
  /**
   * Warnings the data carries (besides `lock_warnings`), printed on stderr whatever the output:
   * `--quiet` and `--json` silence none (docs/decisions.md, "--quiet").
   */
  warnings?: (data: D) => string[];
  /**
   * Whether the output, given these flags, is the data the command was asked for (DOT, a list of
   * ids, a value) rather than a status line or a view for a person: `--quiet` does not silence it,
   * as `curl -s` still writes the body.
   */
  payload?: (parsed: Parsed) => boolean;
}

export async function runAction(action: CliAction, parsed: Parsed, json: boolean): Promise<void> {
  try {
    const args = await action.toArgs(parsed);
    const { flags } = parsed;
    const options = {
      cwd: process.cwd(),
      actor: flags.actor as string | undefined,
      dataDir: flags['data-dir'] as string | undefined,
      // Their output is for a program, or asked to be silent: no bar on the terminal either (docs/environment.md).
      ...(json || flags.quiet === true ? { progress: NO_PROGRESS } : {}),
    };
    const { execute } = await import('./dispatch.js');
    const stream = action.streams?.(args) ? stdoutSink(json) : undefined;
    const data = await execute(action.ipc, args, options, flags['no-daemon'] === true, stream?.sink);
    // The lock policy's warnings (in the data for --json too): on stderr, wherever the command ran.
    const warnings = [...((data as { lock_warnings?: string[] } | null)?.lock_warnings ?? []), ...(action.warnings?.(data) ?? [])];
    for (const w of warnings) process.stderr.write(`grit: warning: ${visible(w)}\n`);
    const text = () => action.render(visibleDeep(data), parsed);
    if (stream) stream.end();
    else if (paged(action, json, flags)) await (await import('./pager.js')).printPaged(text());
    else printSuccess(data, json, flags.quiet === true && action.payload?.(parsed) !== true, text);
    if (action.exitCode) process.exitCode = action.exitCode(data);
  } catch (err) {
    printError(toGritError(err), json);
  }
}

/**
 * Whether the human output may go through a pager: a listing or a show, on a terminal, not asked
 * otherwise. Checked before the pager module is loaded: output to a pipe or a file (scripts,
 * agents) never loads it.
 */
function paged(action: CliAction, json: boolean, flags: Record<string, unknown>): boolean {
  return action.pages === true && !json && flags.quiet !== true && flags['no-pager'] !== true && process.stdout.isTTY === true;
}

/**
 * Standard output for a command that writes its output in pieces (CliAction.streams). Under
 * `--json` the pieces are the envelope's `data.content`, written as the string they make up,
 * so the bytes are those of the envelope printed whole: its summary fields, then `content` last.
 * The pieces are what was asked for: `--quiet` does not silence them (CliAction.payload).
 */
function stdoutSink(json: boolean): { sink: OutputSink; end: () => void } {
  const out = async (text: string) => {
    if (!process.stdout.write(text)) await once(process.stdout, 'drain');
  };
  if (json) {
    return {
      sink: {
        begin: (result) => void process.stdout.write(`{"schema_version":1,"ok":true,"data":${JSON.stringify(result).slice(0, -1)},"content":"`),
        // Pieces never split a surrogate pair (export.ts), so each escapes as it would within the whole.
        write: (text) => out(JSON.stringify(text).slice(1, -1)),
      },
      end: () => void process.stdout.write('"}}\n'),
    };
  }
  const nothing = () => {};
  return { sink: { begin: nothing, write: out }, end: nothing };
}

/**
 * A command's success: the envelope under --json, else its text (nothing with `quiet`). The
 * envelope always has `data` (SPEC §6): null for none, which JSON.stringify would leave out.
 */
export function printSuccess(data: unknown, json: boolean, quiet: boolean, text: () => string): void {
  if (json) process.stdout.write(JSON.stringify({ schema_version: 1, ok: true, data: data ?? null }) + '\n');
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

/** The hint for a code SPEC §6 does not list (a plugin's own): nothing grit knows about it but its command. */
const OTHER_CODE_HINT = 'the command that failed says what it takes in its --help';

export function printError(err: GritError, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ schema_version: 1, ok: false, error: err.toJSON() }) + '\n');
  } else {
    process.stderr.write(`${red('error', process.stderr)}: ${visible(err.message)}\n`);
    process.stderr.write(`${dim('hint', process.stderr)}: ${visible(err.suggestion ?? FALLBACK_HINTS[err.code] ?? OTHER_CODE_HINT)}\n`);
  }
  process.exitCode = err.exitCode;
}
