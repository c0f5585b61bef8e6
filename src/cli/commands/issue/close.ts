import { defineCommand, issueArg } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:close'],
  description: 'Close an issue',
  args: issueArg,
});
