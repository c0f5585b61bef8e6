import { Flags } from '@oclif/core';
import { bodyFlags, defineCommand, issueArg } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:update'],
  description: "Change an issue's title or body",
  args: issueArg,
  flags: { title: Flags.string({ char: 't', description: 'new title (one line)' }), ...bodyFlags },
});
