/**
 * grit's oclif help class. Help for a command that does not exist (`grit issue assign --help`,
 * `grit help issue assign`) is the same `invalid_args` as running it, with "did you mean", instead
 * of oclif's plain "Command issue:assign not found." (and one JSON object under `--json`).
 */
import { Help } from '@oclif/core';
import { reportUnknownCommand } from './hooks/command-not-found.js';
import { argvWantsJson } from './output-format.js';

export default class GritHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv);
    } catch (err) {
      const unknown = /^Command (\S+) not found\.$/.exec((err as Error).message);
      if (!unknown) throw err;
      reportUnknownCommand(unknown[1], this.config.commandIDs, argvWantsJson(process.argv.slice(2)));
    }
  }
}
