import { Flags } from '@oclif/core';
import { defineCommand } from '../define.js';

export default defineCommand({
  ipc: 'Rebuild',
  description: 'Drop the local store and rebuild it from the WAL',
  flags: { 'from-snapshot': Flags.boolean({ description: 'start from the newest snapshot, then replay the WAL after it' }) },
  toArgs: ({ flags }) => ({ from_snapshot: flags['from-snapshot'] }),
  render: (d) => `rebuilt ${d.event_count} events up to ${d.wal_head ? d.wal_head.slice(0, 12) : 'an empty WAL'}`,
});
