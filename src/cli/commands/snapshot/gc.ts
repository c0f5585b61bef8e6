import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['snapshot:gc'],
  description: 'Delete snapshot refs: those off the WAL (never usable), then all but the newest --keep (default 3; 0 deletes them all)',
  flags: { keep: Flags.integer({ description: 'how many of the newest snapshots to keep', default: 3, min: 0 }) },
});
