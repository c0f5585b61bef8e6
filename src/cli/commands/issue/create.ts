import { Flags } from '@oclif/core';
import { bodyFlags, defineCommand, readBody } from '../../define.js';
import { renderWrite } from '../../render.js';

export default defineCommand({
  ipc: 'IssueCreate',
  description: 'Create an issue',
  examples: ['<%= config.bin %> issue create --title "Crash on empty input" --label bug --body "Steps: …"'],
  flags: {
    title: Flags.string({ char: 't', description: 'title', required: true }),
    ...bodyFlags,
    label: Flags.string({ char: 'l', description: 'label (repeatable)', multiple: true }),
  },
  toArgs: async ({ flags }) => ({ title: flags.title, body: await readBody(flags), labels: flags.label ?? [] }),
  render: renderWrite('created'),
});
