import { Flags } from '@oclif/core';

/** Where a lock lives: against `--remote` (default origin when configured) or only here. */
export const lockFlags = {
  remote: Flags.string({ description: 'remote to take the lock on (default: origin when configured)' }),
  local: Flags.boolean({ description: 'local-only lock, even when a remote is configured' }),
};
