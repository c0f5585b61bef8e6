import { defineCommand, issueFilterFlags } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:list'],
  description: 'List issues',
  examples: ['<%= config.bin %> issue list --state open --label bug', '<%= config.bin %> issue list --json'],
  flags: issueFilterFlags,
});
