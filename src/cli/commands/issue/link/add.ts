import { Flags } from '@oclif/core';
import { defineCommand, issueArg } from '../../../define.js';
import { renderWrite } from '../../../render.js';

export default defineCommand({
  ipc: 'IssueLinkAdd',
  description: 'Attach a URL to an issue',
  args: issueArg,
  flags: {
    url: Flags.string({ description: 'the URL', required: true }),
    note: Flags.string({ description: 'a short note about the link' }),
  },
  toArgs: ({ args, flags }) => ({ issue_id: args.id, url: flags.url, note: flags.note }),
  render: renderWrite('linked'),
});
