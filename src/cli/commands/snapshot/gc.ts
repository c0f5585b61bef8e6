import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['snapshot:gc'],
  description: 'Delete snapshot refs: those off the WAL (never usable), then all but the newest --keep (default 3; 0 deletes them all)',
  // Text, checked by the command as every caller's is: oclif's own check would word `--keep -1`
  // otherwise than the command words `--keep abc`.
  flags: { keep: Flags.string({ description: 'how many of the newest snapshots to keep, 0 or more', default: '3' }) },
});
