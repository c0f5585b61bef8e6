import { defineCommand, issueArg } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:show'],
  description: 'Show an issue with its comments, links, attachments and dependencies, both ways (--json adds its events)',
  args: issueArg,
});
