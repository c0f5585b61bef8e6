import { Args } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['context:set'],
  description: 'Set a project context key (last writer wins across clones)',
  examples: ['<%= config.bin %> context set build.command "npm run build"'],
  args: {
    key: Args.string({ required: true, description: 'key: letters, digits and _ . : / -' }),
    value: Args.string({ required: true, description: 'value (text)' }),
  },
});
