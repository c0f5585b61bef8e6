import { Flags } from '@oclif/core';
import { defineCommand } from '../define.js';
import { ACTIONS } from '../actions.js';

export default defineCommand({
  ...ACTIONS['init'],
  summary: 'Set grit up in this repository: a default actor, the repo config and an AGENTS.md section',
  description:
    'It says what it did to AGENTS.md (agents_md): created, appended, unchanged when it has one, skipped, or not_written when AGENTS.md is a link leaving the working tree or to nothing, or not a regular file: never written through.',
  examples: ['<%= config.bin %> init', '<%= config.bin %> init --no-agents-md'],
  flags: {
    'no-agents-md': Flags.boolean({ description: 'do not write the ## Grit section of AGENTS.md' }),
    'generate-key': Flags.boolean({ description: 'give the actor an Ed25519 signing key if it has none' }),
  },
});
