import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['actor:init'],
  summary: 'Create a new actor (an identity that writes events) in this repository',
  description: 'With --data-dir (or GRIT_HOME), in that directory; one there already is the answer.',
  examples: ['<%= config.bin %> actor init --label agent-7', '<%= config.bin %> actor init --data-dir ~/.grit/agent-7'],
  flags: {
    label: Flags.string({ description: 'a human label, e.g. "claude on laptop"' }),
    'generate-key': Flags.boolean({ description: 'make an Ed25519 key: every event this actor writes is signed' }),
  },
});
