/**
 * The one base class of every grit command: shared flags, parsing by oclif, then the shared
 * `runAction` (src/cli/output.ts) that the fast path uses too.
 */
import { stripVTControlCharacters } from 'node:util';
import { Command, Flags } from '@oclif/core';
import { GritError } from '../core/errors.js';
import { printError, runAction, type Parsed } from './output.js';
import { argvWantsJson, chooseOutput, type FormattedAction, type OutputFormats } from './output-format.js';

export type { Parsed };

export abstract class GritCommand extends Command {
  static baseFlags = {
    json: Flags.boolean({ description: 'print one JSON object: {schema_version, ok, data|error}', helpGroup: 'GLOBAL' }),
    quiet: Flags.boolean({ char: 'q', description: 'print nothing on success', helpGroup: 'GLOBAL' }),
    'no-daemon': Flags.boolean({ description: 'run in this process, never through the daemon', helpGroup: 'GLOBAL' }),
    actor: Flags.string({ description: 'actor to act as: its id, a unique prefix, or its label', helpGroup: 'GLOBAL' }),
    'data-dir': Flags.string({ description: 'actor data directory (overrides --actor; env GRIT_HOME)', helpGroup: 'GLOBAL' }),
  };

  /** What the command runs (the IPC command function, SPEC §7), and how its result is shown. */
  protected abstract readonly action: FormattedAction;

  async run(): Promise<void> {
    const parsed = await parseOrReport(async () => (await this.parse()) as unknown as Parsed, this.argv, this.action.formats);
    if (!parsed) return;
    const { action, json } = chooseOutput(this.action, parsed);
    await runAction(action, parsed, json);
  }
}

/**
 * Runs oclif's parse; a command line it refuses is printed as an `invalid_args` error (one JSON
 * object under `--json`) and gives null. For the commands that are not GritCommands too.
 */
export async function parseOrReport<T>(parse: () => Promise<T>, argv: string[], formats?: OutputFormats): Promise<T | null> {
  try {
    return await parse();
  } catch (err) {
    printError(fromParseError(err), argvWantsJson(argv, formats));
    return null;
  }
}

/** Whatever oclif's parser refuses (unknown flag, missing argument, a value out of range) is invalid_args. */
function fromParseError(err: unknown): GritError {
  if (err instanceof GritError) return err;
  return new GritError('invalid_args', oneLine((err as Error)?.message ?? ''), { suggestion: 'run the command with --help to see its flags' });
}

/**
 * oclif's messages are several lines: a heading ("The following error occurred:", "Missing 1
 * required arg:"), the detail, then "See more help with --help". The detail is what matters.
 * On a terminal oclif styles them too; an error is data (a JSON message, or grit's own styling).
 */
function oneLine(message: string): string {
  const lines = stripVTControlCharacters(message)
    .replace(/\s*\n\t/g, ': ')
    .split('\n')
    // "id  issue id or …": an argument's name and its description; --help has the description.
    .map((l) => l.trim().replace(/^(\S+)\s{2,}.+$/, '$1').replace(/\s+/g, ' '))
    .filter((l) => l && l !== 'The following error occurred:' && !l.startsWith('See more help'));
  return lines.reduce((out, l) => (!out ? l : out.endsWith(':') ? `${out} ${l}` : `${out}; ${l}`), '') || 'invalid arguments';
}
