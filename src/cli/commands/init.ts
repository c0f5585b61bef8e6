import { Flags } from '@oclif/core';
import { defineCommand } from '../define.js';
import { renderActor } from '../render.js';

export default defineCommand({
  ipc: 'Init',
  description: 'Set grit up in this repository: a default actor, the repo config and an AGENTS.md section',
  examples: ['<%= config.bin %> init', '<%= config.bin %> init --no-agents-md'],
  flags: { 'no-agents-md': Flags.boolean({ description: 'do not write the ## Grit section of AGENTS.md' }) },
  toArgs: ({ flags }) => ({ no_agents_md: flags['no-agents-md'] }),
  render: (d) => `initialized grit in ${d.repo_root}\n${renderActor(d)}${d.agents_md === 'skipped' ? '' : `\nAGENTS.md: ${d.agents_md}`}`,
});
