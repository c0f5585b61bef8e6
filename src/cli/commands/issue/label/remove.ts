import { Flags } from '@oclif/core';
import { defineCommand, issueArg } from '../../../define.js';
import { renderWrite } from '../../../render.js';

export default defineCommand({
  ipc: 'IssueLabelRemove',
  description: 'Remove a label from an issue',
  args: issueArg,
  flags: { label: Flags.string({ description: 'label', required: true }) },
  toArgs: ({ args, flags }) => ({ issue_id: args.id, label: flags.label }),
  render: renderWrite('removed label from'),
});
