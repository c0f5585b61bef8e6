import { defineCommand, issueArg } from '../../define.js';
import { renderWrite } from '../../render.js';

export default defineCommand({
  ipc: 'IssueReopen',
  description: 'Reopen a closed issue',
  args: issueArg,
  toArgs: ({ args }) => ({ issue_id: args.id }),
  render: renderWrite('reopened'),
});
