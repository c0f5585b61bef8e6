import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';
import { lockFlags } from '../../lock-flags.js';

export default defineCommand({
  ...ACTIONS['lock:release'],
  description: 'Release a lock you hold (writes expiry 0)',
  flags: {
    resource: Flags.string({ description: 'repo:, path:<path> or issue:<id>', required: true }),
    ...lockFlags,
  },
});
