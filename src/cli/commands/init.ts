import { Flags } from '@oclif/core';
import { defineCommand } from '../define.js';
import { ACTIONS } from '../actions.js';

export default defineCommand({
  ...ACTIONS['init'],
  description: 'Set grit up in this repository: a default actor, the repo config and an AGENTS.md section',
  examples: ['<%= config.bin %> init', '<%= config.bin %> init --no-agents-md'],
  flags: {
    'no-agents-md': Flags.boolean({ description: 'do not write the ## Grit section of AGENTS.md' }),
    'generate-key': Flags.boolean({ description: 'give the actor an Ed25519 signing key if it has none' }),
  },
});
