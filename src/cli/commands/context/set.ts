import { Args, Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['context:set'],
  description: 'Set a project context key (last writer wins across clones)',
  examples: ['<%= config.bin %> context set build.command "npm run build"', '<%= config.bin %> context set architecture --value-file docs/architecture.md', '<%= config.bin %> context set test.flags -- -v'],
  args: {
    key: Args.string({ required: true, description: 'key: letters, digits and _ . : / -' }),
    value: Args.string({ required: false, description: 'value (text); or --value-file' }),
  },
  flags: {
    'value-file': Flags.string({ description: 'read the value from a file, or - for standard input (for one past what an argument may hold, 128 KiB)' }),
  },
});
