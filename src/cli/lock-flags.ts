import { Flags } from '@oclif/core';

/** Where a lock lives: against `--remote` (default origin when configured) or only here. */
export const lockFlags = {
  remote: Flags.string({ description: 'remote the locks live on (default: origin when configured)' }),
  local: Flags.boolean({ description: 'the locks of this clone only, even when a remote is configured (not with --remote)' }),
};
