import { IDLE_TIMEOUT_S, WORKER_IDLE_TIMEOUT_S } from '../../../commands/ranges.js';
import { defineCommand, intFlag } from '../../define.js';
import { ACTIONS } from '../../actions.js';
import { DAEMON_GLOBALS } from '../../daemon-actions.js';

export default defineCommand({
  ...ACTIONS['daemon:start'],
  globals: DAEMON_GLOBALS,
  description: 'Start the per-user daemon (detached) that serves grit commands for every repository',
  examples: ['<%= config.bin %> daemon start', '<%= config.bin %> daemon start --idle-timeout 0'],
  flags: {
    'idle-timeout': intFlag('exit after this many idle seconds', IDLE_TIMEOUT_S, ['0 = never']),
    'worker-idle-timeout': intFlag("stop an actor's worker thread after this many idle seconds, releasing its store", WORKER_IDLE_TIMEOUT_S, ['0 = never']),
  },
});
