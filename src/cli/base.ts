/**
 * The one base class of every grit command: shared flags, parsing by oclif, then the shared
 * `runAction` (src/cli/output.ts) that the fast path uses too.
 */
import { Command, Flags } from '@oclif/core';
import { printError, runAction, type Parsed } from './output.js';
import { fromParseError } from './parse-error.js';
import { argvWantsJson, chooseOutput, type FormattedAction, type OutputFormats } from './output-format.js';

export type { Parsed };

export abstract class GritCommand extends Command {
  static baseFlags = {
    json: Flags.boolean({ description: 'print one JSON object: {schema_version, ok, data|error}', helpGroup: 'GLOBAL' }),
    quiet: Flags.boolean({ char: 'q', description: 'print nothing on success', helpGroup: 'GLOBAL' }),
    'no-daemon': Flags.boolean({ description: 'run in this process, never through the daemon', helpGroup: 'GLOBAL' }),
    'no-pager': Flags.boolean({ description: 'never page long output on a terminal (GRIT_PAGER, PAGER, less)', helpGroup: 'GLOBAL' }),
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
