import { Flags } from '@oclif/core';
import { defineCommand, issueArg } from '../../../define.js';
import { renderWrite } from '../../../render.js';

export default defineCommand({
  ipc: 'IssueAssigneeRemove',
  description: 'Remove a assignee from an issue',
  args: issueArg,
  flags: { user: Flags.string({ description: 'assignee', required: true }) },
  toArgs: ({ args, flags }) => ({ issue_id: args.id, user: flags.user }),
  render: renderWrite('removed assignee from'),
});
