import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['snapshot'],
  summary: 'Write a snapshot of the WAL to refs/grit/snapshots/<unix_ms> (for `grit rebuild --from-snapshot`)',
  description: 'It covers the WAL up to the newest commit origin also had when last fetched, which sync rebases none of.',
  examples: ['<%= config.bin %> snapshot', '<%= config.bin %> snapshot gc --keep 3'],
});
