import { Args } from '@oclif/core';
import { QUERY_LIMIT } from '../../../commands/ranges.js';
import { defineCommand, intFlag } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['context:query'],
  description: 'Find symbols by name: exact matches first, then prefix, then substring',
  examples: ['<%= config.bin %> context query RepoContext', '<%= config.bin %> context query parse --limit 10 --json'],
  args: { query: Args.string({ required: true, description: 'symbol name or part of one' }) },
  flags: { limit: intFlag('at most this many results', QUERY_LIMIT) },
});
