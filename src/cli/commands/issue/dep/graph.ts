import { Flags } from '@oclif/core';
import { defineCommand } from '../../../define.js';
import { ACTIONS } from '../../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:dep:graph'],
  description: 'Print the dependency graph as Graphviz DOT or Mermaid',
  examples: ['<%= config.bin %> issue dep graph | dot -Tsvg > deps.svg', '<%= config.bin %> issue dep graph --format mermaid'],
  flags: {
    format: Flags.string({ description: 'output format', options: ['dot', 'mermaid'], default: 'dot' }),
  },
});
