import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['daemon:start'],
  description: 'Start the per-user daemon (detached) that serves grit commands for every repository',
  examples: ['<%= config.bin %> daemon start', '<%= config.bin %> daemon start --idle-timeout 0'],
  flags: {
    'idle-timeout': Flags.string({ description: 'exit after this many idle seconds (default 300, 0 = never)' }),
    'worker-idle-timeout': Flags.string({
      description: "stop an actor's worker thread after this many idle seconds, releasing its store (default 120, 0 = never)",
    }),
  },
});
