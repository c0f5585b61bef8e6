import { bodyFlags, defineCommand, issueArg } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:comment'],
  description: 'Comment on an issue',
  args: issueArg,
  flags: bodyFlags,
});
