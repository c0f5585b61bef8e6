/**
 * grit's oclif help class. Help for a command that does not exist (`grit issue assign --help`,
 * `grit help issue assign`) is the same `invalid_args` as running it, with "did you mean", instead
 * of oclif's plain "Command issue:assign not found." (and one JSON object under `--json`). Help for
 * a plugin command listed but not yet imported (src/cli/plugin-loading.ts) imports it first. Words
 * after a command's name are its arguments (`grit issue list extra --help` is `issue list`'s help):
 * src/cli/command-name.ts.
 */
import { Help, type Command, type Config, type Interfaces } from '@oclif/core';
import { getHelpFlagAdditions } from '@oclif/core/help';
import { GritError } from '../core/errors.js';
import { namedCommand } from './command-name.js';
import { HELP_COMMAND, HELP_FLAG, reportUnknownCommand } from './hooks/command-not-found.js';
import { printError } from './output.js';
import { argvWantsJson } from './output-format.js';
import { terminalWidth } from './format.js';
import { forHelp } from './plugin-loading.js';

export default class GritHelp extends Help {
  /**
   * Help is fitted to the width the rest of grit's output is (COLUMNS on a terminal, as
   * docs/environment.md says), not only to the terminal's own: oclif reads OCLIF_COLUMNS alone.
   */
  constructor(config: Config, opts: Partial<Interfaces.HelpOptions> = {}) {
    const width = process.env.OCLIF_COLUMNS ? undefined : terminalWidth();
    super(config, width === undefined ? opts : { ...opts, maxWidth: width });
  }

  override async showHelp(argv: string[]): Promise<void> {
    const json = argvWantsJson(process.argv.slice(2));
    const helpFlags = getHelpFlagAdditions(this.config);
    const named = namedCommand(this.config, argv.filter((a) => !helpFlags.includes(a)));
    try {
      // oclif skips the word `help` wherever it is, so `grit help help` showed the root help.
      if (named?.id === 'help') return await this.showCommandHelp(named);
      // oclif would read the words after the name as more of it.
      await super.showHelp(named ? [named.id] : argv);
    } catch (err) {
      if (err instanceof GritError) return printError(err, json);
      const unknown = /^Command (\S+) not found\.$/.exec((err as Error).message);
      if (!unknown) throw err;
      // What was meant is help, in the form asked for: `grit help list` → `grit help issue list`.
      reportUnknownCommand(unknown[1], this.config.commandIDs, json, argv.some((a) => helpFlags.includes(a)) ? HELP_FLAG : HELP_COMMAND);
    }
  }

  override async showCommandHelp(command: Command.Loadable): Promise<void> {
    await super.showCommandHelp(await forHelp(command, this.config));
  }
}
