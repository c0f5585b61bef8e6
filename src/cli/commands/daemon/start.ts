import { Flags } from '@oclif/core';
import { IDLE_TIMEOUT_S, MAX_WORKERS, WORKER_IDLE_TIMEOUT_S } from '../../../commands/ranges.js';
import { defineCommand, intFlag } from '../../define.js';
import { ACTIONS } from '../../actions.js';
import { DAEMON_GLOBALS } from '../../daemon-actions.js';

export default defineCommand({
  ...ACTIONS['daemon:start'],
  globals: DAEMON_GLOBALS,
  description: 'Start the per-user daemon (detached) that serves grit commands for every repository',
  examples: ['<%= config.bin %> daemon start', '<%= config.bin %> daemon start --idle-timeout 0', '<%= config.bin %> daemon start --replace --worker-idle-timeout 30'],
  flags: {
    'idle-timeout': intFlag('exit after being idle this long: seconds, or a duration such as 10m', IDLE_TIMEOUT_S, ['0 = never']),
    'worker-idle-timeout': intFlag("stop an actor's worker thread after it is idle this long (seconds, or a duration such as 10m), releasing its store", WORKER_IDLE_TIMEOUT_S, ['0 = never']),
    'max-workers': intFlag('keep at most this many worker threads (one per repository and actor), retiring the least recently used idle one', MAX_WORKERS, ['0 = no cap']),
    replace: Flags.boolean({ description: 'stop the running daemon and start this one in its place, with these settings (no auto-started daemon can come in between)' }),
  },
});
