import { Args, Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['context:query'],
  description: 'Find symbols by name: exact matches first, then prefix, then substring',
  examples: ['<%= config.bin %> context query RepoContext', '<%= config.bin %> context query parse --limit 10 --json'],
  args: { query: Args.string({ required: true, description: 'symbol name or part of one' }) },
  flags: { limit: Flags.integer({ description: 'at most this many results', default: 50, min: 1, max: 10000 }) },
});
