import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';
import { DAEMON_GLOBALS } from '../../daemon-actions.js';

export default defineCommand({
  ...ACTIONS['daemon:status'],
  globals: DAEMON_GLOBALS,
  description: 'Show whether the daemon runs: pid, endpoint, uptime, idle timeouts and its workers',
  examples: ['<%= config.bin %> daemon status --json'],
});
