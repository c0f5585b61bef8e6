import { defineCommand, issueArg } from '../../define.js';
import { renderIssueShow } from '../../render.js';

export default defineCommand({
  ipc: 'IssueShow',
  description: 'Show an issue with its comments, links, attachments and events',
  args: issueArg,
  toArgs: ({ args }) => ({ issue_id: args.id }),
  render: renderIssueShow,
});
