import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:list'],
  description: 'List issues',
  examples: ['<%= config.bin %> issue list --state open --label bug', '<%= config.bin %> issue list --json'],
  flags: {
    state: Flags.string({ char: 's', description: 'only issues in this state', options: ['open', 'closed'] }),
    label: Flags.string({ char: 'l', description: 'only issues with this label' }),
  },
});
