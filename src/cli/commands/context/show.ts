import { Args } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['context:show'],
  description: "Show a file's indexed context: language, summary and symbols with their lines",
  examples: ['<%= config.bin %> context show src/main.rs'],
  args: { path: Args.string({ required: true, description: 'file path (relative to here or to the repository root)' }) },
});
