import { SNAPSHOT_KEEP } from '../../../commands/ranges.js';
import { defineCommand, intFlag } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['snapshot:gc'],
  description: 'Delete snapshot refs: those off the WAL (never usable), then all but the newest --keep (default 3; 0 deletes them all)',
  flags: { keep: intFlag('how many of the newest snapshots to keep', SNAPSHOT_KEEP) },
});
