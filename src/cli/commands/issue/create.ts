import { Flags } from '@oclif/core';
import { bodyFlags, defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:create'],
  description: 'Create an issue',
  examples: ['<%= config.bin %> issue create --title "Crash on empty input" --label bug --body "Steps: …"'],
  flags: {
    title: Flags.string({ char: 't', description: 'title (one line)', required: true }),
    ...bodyFlags,
    label: Flags.string({ char: 'l', description: 'label (repeatable)', multiple: true }),
  },
});
