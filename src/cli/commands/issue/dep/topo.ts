import { defineCommand, issueFilterFlags } from '../../../define.js';
import { ACTIONS } from '../../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:dep:topo'],
  description: 'List issues in dependency order: prerequisites first, ties by issue id; cycles are reported',
  examples: ['<%= config.bin %> issue dep topo --state open', '<%= config.bin %> issue dep topo --label backend --json'],
  flags: issueFilterFlags,
});
