import { defineCommand, issueArg } from '../../define.js';
import { renderWrite } from '../../render.js';

export default defineCommand({
  ipc: 'IssueClose',
  description: 'Close an issue',
  args: issueArg,
  toArgs: ({ args }) => ({ issue_id: args.id }),
  render: renderWrite('closed'),
});
