import { Flags } from '@oclif/core';
import { defineCommand } from '../define.js';
import { ACTIONS } from '../actions.js';

export default defineCommand({
  ...ACTIONS['export'],
  description: 'Export issues and events as JSON, Markdown or CSV (default: into .grit/, never committed)',
  examples: [
    '<%= config.bin %> export --format md',
    '<%= config.bin %> export --format json --since 1735689600000 --output /tmp/grit.json',
  ],
  flags: {
    format: Flags.string({ description: 'output format', options: ['json', 'md', 'csv'], default: 'json' }),
    since: Flags.string({ description: 'only events after this: a unix ms timestamp, an ISO 8601 date or date-time (2025-01-01, 2025-01-01T12:00[:30[.5]][Z|+02:00], UTC without an offset), or a 64-hex event id' }),
    output: Flags.string({ char: 'o', description: 'file to write, or - for standard output (default .grit/export.<ext>)' }),
  },
});
