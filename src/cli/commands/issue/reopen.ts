import { defineCommand, issueArg } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:reopen'],
  description: 'Reopen a closed issue',
  args: issueArg,
});
