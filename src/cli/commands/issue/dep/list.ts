import { Flags } from '@oclif/core';
import { defineCommand, issueArg } from '../../../define.js';
import { ACTIONS } from '../../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:dep:list'],
  summary: 'List the dependencies an issue records, or with --reverse those that point at it',
  description: 'Each says how many the other issue lists the other way round (other_way_count).',
  examples: ['<%= config.bin %> issue dep list a1b2', '<%= config.bin %> issue dep list a1b2 --reverse --json'],
  args: issueArg,
  flags: {
    reverse: Flags.boolean({ description: 'list the dependencies other issues record on this one' }),
  },
});
