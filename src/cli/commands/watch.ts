import { Command, Flags } from '@oclif/core';
import { GLOBAL_FLAGS, parseOrReport } from '../base.js';
import { NOTIFICATION_KINDS } from '../../protocol/notifications.js';

/** Not a GritCommand: it prints notifications as they come instead of one result. */
export default class Watch extends Command {
  static summary = "Print the daemon's notifications as they happen: events applied, syncs, lock changes, snapshots";
  static description =
    'Those of this repository, or of every one with --all. It starts the daemon if needed, and is refused under GRIT_NO_DAEMON.';

  static examples = ['<%= config.bin %> watch', '<%= config.bin %> watch --kind EventApplied --json'];

  // --json is its own (one object per line); of the other global flags only --no-pager holds: it
  // never pages, so the flag is taken (`grit --no-pager watch`, an alias) but not offered in help.
  static baseFlags: Partial<typeof GLOBAL_FLAGS> = { 'no-pager': { ...GLOBAL_FLAGS['no-pager'], hidden: true } };
  static refusesGlobals = "it prints the daemon's notifications as they come, every actor's, and runs no command itself";

  static flags = {
    kind: Flags.string({ description: 'only this kind (repeatable)', options: [...NOTIFICATION_KINDS], multiple: true }),
    json: Flags.boolean({ description: 'one JSON object per line' }),
    all: Flags.boolean({ description: "every repository's notifications, not only this one's" }),
  };

  async run(): Promise<void> {
    const parsed = await parseOrReport(this, () => this.parse(Watch));
    if (!parsed) return;
    const { flags } = parsed;
    const { watch } = await import('../watch.js');
    process.exitCode = await watch({ kinds: flags.kind, json: flags.json, all: flags.all });
  }
}
