import { Args } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['context:project'],
  description: 'Show project context: every key, or the value of one',
  examples: ['<%= config.bin %> context project', '<%= config.bin %> context project build.command'],
  args: { key: Args.string({ required: false, description: 'key to show' }) },
});
