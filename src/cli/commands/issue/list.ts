import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { renderIssueList } from '../../render.js';

export default defineCommand({
  ipc: 'IssueList',
  description: 'List issues',
  examples: ['<%= config.bin %> issue list --state open --label bug', '<%= config.bin %> issue list --json'],
  flags: {
    state: Flags.string({ char: 's', description: 'only issues in this state', options: ['open', 'closed'] }),
    label: Flags.string({ char: 'l', description: 'only issues with this label' }),
  },
  toArgs: ({ flags }) => ({ state: flags.state, label: flags.label }),
  render: renderIssueList,
});
