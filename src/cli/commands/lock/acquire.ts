import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';
import { lockFlags } from '../../lock-flags.js';

export default defineCommand({
  ...ACTIONS['lock:acquire'],
  description: 'Take a lock on a resource (repo:, path:<path>, issue:<id>) for a TTL',
  examples: ['<%= config.bin %> lock acquire --resource path:src/git --ttl 15m'],
  flags: {
    resource: Flags.string({ description: 'repo:, path:<path> or issue:<id>', required: true }),
    ttl: Flags.string({ description: 'time to live: 30s, 15m, 2h (default 5m)' }),
    ...lockFlags,
  },
});
