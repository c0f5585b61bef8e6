import { Flags } from '@oclif/core';
import { defineCommand, issueArg } from '../../../define.js';
import { ACTIONS } from '../../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:link:add'],
  description: 'Attach a URL to an issue',
  args: issueArg,
  flags: {
    url: Flags.string({ description: 'the URL, with its scheme (https://…, mailto:…)', required: true }),
    note: Flags.string({ description: 'a short note about the link' }),
  },
});
