import { Flags } from '@oclif/core';
import { defineCommand, issueArg } from '../../../define.js';
import { renderWrite } from '../../../render.js';

export default defineCommand({
  ipc: 'IssueAssigneeAdd',
  description: 'Add a assignee to an issue',
  args: issueArg,
  flags: { user: Flags.string({ description: 'assignee', required: true }) },
  toArgs: ({ args, flags }) => ({ issue_id: args.id, user: flags.user }),
  render: renderWrite('added assignee to'),
});
