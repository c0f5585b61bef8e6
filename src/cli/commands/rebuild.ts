import { Flags } from '@oclif/core';
import { defineCommand } from '../define.js';
import { ACTIONS } from '../actions.js';

export default defineCommand({
  ...ACTIONS['rebuild'],
  description: 'Drop the local store and rebuild it from the WAL (or from the newest snapshot plus the WAL after it)',
  examples: ['<%= config.bin %> rebuild', '<%= config.bin %> rebuild --from-snapshot'],
  flags: { 'from-snapshot': Flags.boolean({ description: 'start from the newest snapshot, then replay the WAL after it' }) },
});
