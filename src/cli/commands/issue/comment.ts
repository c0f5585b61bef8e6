import { bodyFlags, defineCommand, issueArg, readBody } from '../../define.js';
import { renderWrite } from '../../render.js';

export default defineCommand({
  ipc: 'IssueComment',
  description: 'Comment on an issue',
  args: issueArg,
  flags: bodyFlags,
  toArgs: async ({ args, flags }) => ({ issue_id: args.id, body: await readBody(flags) }),
  render: renderWrite('commented on'),
});
