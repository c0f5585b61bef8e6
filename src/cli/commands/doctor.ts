import { Flags } from '@oclif/core';
import { defineCommand } from '../define.js';
import { ACTIONS } from '../actions.js';

export default defineCommand({
  ...ACTIONS['doctor'],
  description: 'Check the repository, WAL, actor, store and signatures; --fix makes safe local repairs',
  examples: ['<%= config.bin %> doctor', '<%= config.bin %> doctor --fix --json'],
  flags: {
    fix: Flags.boolean({ description: 'rebuild a damaged or stale store, remove stale lock files, and put back in the WAL events only the store still has (never touches remotes)' }),
  },
});
