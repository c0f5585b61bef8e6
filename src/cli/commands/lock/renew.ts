import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';
import { lockFlags } from '../../lock-flags.js';

export default defineCommand({
  ...ACTIONS['lock:renew'],
  description: 'Set the expiry of a lock you hold to now + TTL (a shorter TTL than it has left shortens it)',
  examples: ['<%= config.bin %> lock renew --resource path:src/git --ttl 15m'],
  flags: {
    resource: Flags.string({ description: 'repo:, path:<path> or issue:<id>', required: true }),
    ttl: Flags.string({ description: 'time to live: 30s, 15m, 2h (default 5m)' }),
    ...lockFlags,
  },
});
