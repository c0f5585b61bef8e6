import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';
import { lockFlags } from '../../lock-flags.js';

export default defineCommand({
  ...ACTIONS['lock:renew'],
  description: 'Extend a lock you hold',
  examples: ['<%= config.bin %> lock renew --resource path:src/git --ttl 15m'],
  flags: {
    resource: Flags.string({ description: 'repo:, path:<path> or issue:<id>', required: true }),
    ttl: Flags.string({ description: 'time to live: 30s, 15m, 2h (default 5m)' }),
    ...lockFlags,
  },
});
