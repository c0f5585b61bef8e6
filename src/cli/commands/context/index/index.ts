// oclif names a command after its file, and `context/index.ts` would be the `context` topic
// itself; `context/index/index.ts` is the way to get the id `context:index`.
import { Flags } from '@oclif/core';
import { defineCommand } from '../../../define.js';
import { ACTIONS } from '../../../actions.js';

export default defineCommand({
  ...ACTIONS['context:index'],
  description: 'Index the symbols of tracked source files (only files changed since the last index, unless --force)',
  examples: [
    '<%= config.bin %> context index',
    '<%= config.bin %> context index --path src --pattern "*.ts"',
    '<%= config.bin %> context index --force --json',
  ],
  flags: {
    path: Flags.string({ description: 'only this directory or file (ending in /: a directory)' }),
    pattern: Flags.string({ description: 'only files matching this glob (no "/": file name in any directory)' }),
    force: Flags.boolean({ description: 're-index files whose content hash is unchanged' }),
  },
});
