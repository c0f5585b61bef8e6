import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['snapshot'],
  description: 'Write a snapshot of the WAL, up to the newest commit origin also had when last fetched (sync rebases none of it), to refs/grit/snapshots/<unix_ms> (for `grit rebuild --from-snapshot`)',
  examples: ['<%= config.bin %> snapshot', '<%= config.bin %> snapshot gc --keep 3'],
});
