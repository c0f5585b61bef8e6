import { Flags } from '@oclif/core';
import { bodyFlags, defineCommand, issueArg, readBody } from '../../define.js';
import { renderWrite } from '../../render.js';

export default defineCommand({
  ipc: 'IssueUpdate',
  description: "Change an issue's title or body",
  args: issueArg,
  flags: { title: Flags.string({ char: 't', description: 'new title' }), ...bodyFlags },
  toArgs: async ({ args, flags }) => ({ issue_id: args.id, title: flags.title, body: await readBody(flags) }),
  render: renderWrite('updated'),
});
