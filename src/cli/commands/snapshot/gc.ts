import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['snapshot:gc'],
  description: 'Delete all but the newest snapshot refs',
  flags: { keep: Flags.integer({ description: 'how many of the newest snapshots to keep', default: 3, min: 0 }) },
});
