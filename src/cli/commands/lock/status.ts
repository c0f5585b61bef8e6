import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['lock:status'],
  description: 'List live locks and conflicting pairs (the local view; `grit sync` refreshes it)',
});
