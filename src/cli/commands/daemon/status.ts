import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['daemon:status'],
  description: 'Show whether the daemon runs: pid, endpoint, uptime, idle timeouts and its workers',
  examples: ['<%= config.bin %> daemon status --json'],
});
