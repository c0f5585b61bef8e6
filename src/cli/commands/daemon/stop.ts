import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';
import { DAEMON_GLOBALS } from '../../daemon-actions.js';

export default defineCommand({
  ...ACTIONS['daemon:stop'],
  globals: DAEMON_GLOBALS,
  description: 'Stop the daemon after it finishes in-flight requests',
  examples: ['<%= config.bin %> daemon stop'],
});
