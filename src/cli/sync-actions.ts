/** CLI actions (parsed input → command function → human output) of `sync` and `lock …`. */
import { cyan, dim, green, moment, red, relativeTime, short, table, yellow } from './format.js';
import type { CliAction } from './output.js';
import { plural, recordsCounted } from '../core/plural.js';

/** When a lock expires: the moment (`moment`), and how far ahead it is. */
const soon = (ms: number) => dim(`(${expiresIn(ms)})`);

function expiresIn(ms: number, now = Date.now()): string {
  const s = Math.ceil((ms - now) / 1000);
  if (s <= 0) return 'expired';
  return s < 60 ? `in ${s}s` : relativeTime(ms, now);
}
const where = (remote: string | null) => (remote ? dim(` (on ${remote})`) : dim(' (local only)'));

function renderLock(verb: string) {
  return (d: { lock: { resource: string; owner: string; expires_unix_ms: number }; remote: string | null }) =>
    d.lock.expires_unix_ms === 0
      ? `${verb} ${cyan(d.lock.resource)}${where(d.remote)}`
      : `${verb} ${cyan(d.lock.resource)} until ${moment(d.lock.expires_unix_ms)} ${soon(d.lock.expires_unix_ms)}${where(d.remote)}`;
}

/**
 * Where the WALs stand after a sync: one head when both are at it; else the local one, then the
 * remote's (a `--pull` or `--push` alone can leave them apart, and the remote's must not be shown
 * as the local one).
 */
function heads(d: { remote: string; wal_head: string | null; remote_wal_head: string | null }): string {
  const remote = d.remote_wal_head ? `${d.remote} wal ${short(d.remote_wal_head)}` : `${d.remote}: no WAL yet`;
  if (d.wal_head === d.remote_wal_head) return remote;
  return `local wal ${d.wal_head ? short(d.wal_head) : 'empty'}, ${remote}`;
}

/**
 * At most GC_NAMED resources, then how many more: a gc after a busy day deleted hundreds, all named
 * on one line of the status (`--json`'s `deleted` lists them all).
 */
const GC_NAMED = 10;
const namedFew = (names: string[]): string =>
  names.length <= GC_NAMED ? names.join(', ') : `${names.slice(0, GC_NAMED).join(', ')} and ${names.length - GC_NAMED} more`;

export const SYNC_ACTIONS: Record<string, CliAction> = {
  sync: {
    ipc: 'Sync',
    toArgs: ({ flags }) => ({ pull: flags.pull, push: flags.push, remote: flags.remote }),
    render: (d) => {
      // `pushed` counts records: where some are copies of one event, it says so as snapshot and db verify do.
      const parts = [`pulled ${plural(d.pulled, 'event')}`, `rebased ${d.events_rebased}`, `pushed ${d.copies ? recordsCounted(d.pushed, d.copies) : d.pushed}`];
      const extra = [
        d.snapshots_fetched ? plural(d.snapshots_fetched, 'snapshot') : '',
        // Why each was refused (not the WAL's events, or not checkable against it) is in its warning.
        d.snapshots_refused?.length ? red(`${plural(d.snapshots_refused.length, 'snapshot')} refused`) : '',
        d.locks_updated ? `${plural(d.locks_updated, 'lock')} updated` : '',
        d.snapshot ? `snapshot ${d.snapshot.snapshot_ref}${d.snapshot.pushed ? ' (pushed)' : ''}` : '',
        d.signature_problems?.refused ? red(`${plural(d.signature_problems.refused, 'event')} refused (bad signature)`) : '',
        d.signature_problems?.kept ? yellow(`${plural(d.signature_problems.kept, 'event')} with a bad signature kept`) : '',
      ].filter(Boolean);
      return `${parts.join(', ')}${extra.length ? `, ${extra.join(', ')}` : ''}${dim(` · ${heads(d)}`)}`;
    },
  },
  'lock:acquire': {
    ipc: 'LockAcquire',
    toArgs: ({ flags }) => ({ resource: flags.resource, ttl: flags.ttl, remote: flags.remote, local: flags.local }),
    render: renderLock('locked'),
  },
  'lock:renew': {
    ipc: 'LockRenew',
    toArgs: ({ flags }) => ({ resource: flags.resource, ttl: flags.ttl, remote: flags.remote, local: flags.local }),
    render: renderLock('renewed'),
  },
  'lock:release': {
    ipc: 'LockRelease',
    toArgs: ({ flags }) => ({ resource: flags.resource, remote: flags.remote, local: flags.local }),
    render: renderLock('released'),
  },
  'lock:status': {
    ipc: 'LockStatus',
    toArgs: () => ({}),
    pages: true,
    render: (d) => {
      const unreadable = d.unreadable.map((u: any) => `${yellow('unreadable')} ${u.ref}: ${u.problem} ${dim('(`grit lock gc` deletes it)')}`);
      if (d.locks.length === 0) return [dim(`no live locks${d.expired ? ` (${d.expired} expired: \`grit lock gc\`)` : ''}`), ...unreadable].join('\n');
      const rows = d.locks.map((l: any) => [cyan(l.resource), l.mine ? green('you') : short(l.owner), moment(l.expires_unix_ms), soon(l.expires_unix_ms)]);
      // A narrow terminal keeps how soon each lock expires, not when, and cuts long resource names.
      const lines = [table(rows, { shrink: [0], drop: [2] })];
      for (const c of d.conflicts) lines.push(`${red('conflict')} ${c.resources[0]} (${short(c.owners[0])}) ↔ ${c.resources[1]} (${short(c.owners[1])})`);
      if (d.expired) lines.push(dim(`${d.expired} expired (\`grit lock gc\`)`));
      return [...lines, ...unreadable].join('\n');
    },
  },
  'lock:gc': {
    ipc: 'LockGc',
    toArgs: ({ flags }) => ({ remote: flags.remote, local: flags.local }),
    // The deleted ones are named next to their count: after "N kept" they read as the kept ones.
    render: (d) => `deleted ${plural(d.deleted.length, 'expired lock')}${d.deleted.length ? ` (${yellow(namedFew(d.deleted))})` : ''}, ${d.kept} kept${where(d.remote)}`,
  },
};
