import { Flags } from '@oclif/core';
import { defineCommand } from '../define.js';
import { ACTIONS } from '../actions.js';

export default defineCommand({
  ...ACTIONS['sync'],
  description: 'Exchange events with a remote: fetch refs/grit/*, rebase local-only events onto the remote WAL, push fast-forward only',
  examples: ['<%= config.bin %> sync', '<%= config.bin %> sync --pull', '<%= config.bin %> sync --push --remote upstream'],
  flags: {
    pull: Flags.boolean({ description: 'only pull (with --push: both; neither: both)' }),
    push: Flags.boolean({ description: 'only push (rebasing first if the remote moved)' }),
    remote: Flags.string({ description: 'remote name, URL or path', default: 'origin' }),
  },
});
