/** CLI actions (parsed input → command function → human output) of the operations commands. */
import { resolve } from 'node:path';
import { bold, cyan, dim, green, moment, red, relativeTime, short, table, yellow } from './format.js';
import type { CliAction } from './output.js';
import { plural, recordsCounted } from '../core/plural.js';


function renderProblems(errors: { message: string; event_id?: string; issue_id?: string; problem?: string }[]): string[] {
  const lines = errors.slice(0, 20).map((e) => {
    const what = e.event_id ? `event ${short(e.event_id)}` : e.issue_id ? `issue ${short(e.issue_id)}` : '';
    return `  ${red(e.problem ?? 'error')} ${what ? cyan(what) + ' ' : ''}${e.message}`;
  });
  if (errors.length > 20) lines.push(dim(`  … and ${errors.length - 20} more (use --json)`));
  return lines;
}

const STATUS: Record<string, (s: string) => string> = {
  ok: (s) => green(s),
  warn: (s) => yellow(s),
  error: (s) => red(s),
};

/** This process's standard output under the names a shell user may give it: `-o -` (export.ts refuses them, as a daemon's). */
const STDOUT_NAMES = new Set(['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);

/** `export --output`, resolved here (the command may run in a daemon with another cwd); empty is left for export.ts to refuse. */
function outputArg(output: string | undefined): string | undefined {
  if (output === undefined || output === '' || output === '-') return output;
  const path = resolve(output);
  return STDOUT_NAMES.has(path) ? '-' : path;
}

export const OPS_ACTIONS: Record<string, CliAction> = {
  rebuild: {
    ipc: 'Rebuild',
    toArgs: ({ flags }) => ({ from_snapshot: flags['from-snapshot'] }),
    render: (d) =>
      `rebuilt ${plural(d.event_count, 'event')} up to ${d.wal_head ? d.wal_head.slice(0, 12) : 'an empty WAL'}` +
      // Says where it came from: `--from-snapshot` with no snapshot to use replays the WAL.
      dim(d.from_snapshot ? ` (from ${d.snapshot_ref})` : ' (from the WAL)'),
  },
  'db:stats': {
    ipc: 'DbStats',
    toArgs: () => ({}),
    render: (d) =>
      table([
        ['store', d.path],
        ['size', `${(d.size_bytes / 1024).toFixed(0)} KiB`],
        ['events', String(d.event_count)],
        ['issues', String(d.issue_count)],
        // When, as other listings say it ("(1 days ago)" was the whole days of days_since_rebuild).
        ['last rebuild', d.last_rebuild_ts ? `${moment(d.last_rebuild_ts)} ${dim(`(${relativeTime(d.last_rebuild_ts)})`)}` : dim('never')],
        ['events since', String(d.events_since_rebuild)],
        ['rebuild', d.rebuild_recommended ? yellow('recommended (`grit rebuild --from-snapshot`)') : dim('not needed')],
      ], { wrap: true }),
  },
  'db:check': {
    ipc: 'DbCheck',
    toArgs: () => ({}),
    render: (d) =>
      [
        `${plural(d.events_checked, 'event')} checked, ${d.events_valid} valid, ${d.corrupt_count} corrupt`,
        ...(d.behind_wal ? [yellow(`the WAL has ${plural(d.behind_wal, 'more event')} that the store does not hold yet (the next command that can write the store takes them; \`grit doctor\` says why it has not)`)] : []),
        ...renderProblems(d.errors),
        ...(d.errors.length ? [dim('the store is a cache: `grit rebuild` restores it from the WAL')] : []),
      ].join('\n'),
    // Like `git fsck`: a CI step running `grit db check` fails while the store is damaged.
    exitCode: (d) => (d.errors.length ? 1 : 0),
  },
  'db:verify': {
    ipc: 'DbVerify',
    toArgs: () => ({}),
    render: (d) =>
      [
        `${recordsCounted(d.events_checked, d.copies)} in the WAL: ${plural(d.signatures_checked, 'signature')} checked, ${d.signatures_valid} valid, ` +
          `${d.unverified} unverifiable (unknown key), ${plural(d.error_count, 'error')} ${dim(`(policy ${d.policy}, ${plural(d.known_keys, 'known key')})`)}`,
        ...renderProblems(d.errors),
      ].join('\n'),
  },
  snapshot: {
    ipc: 'Snapshot',
    toArgs: () => ({}),
    render: (d) =>
      (d.created
        ? `wrote ${d.snapshot_ref}: ${recordsCounted(d.event_count, d.copies)} up to ${d.wal_head.slice(0, 12)}`
        : `${d.snapshot_ref} already covers the WAL up to ${d.wal_head.slice(0, 12)}`) +
      (d.local_wal_head
        ? dim(` (origin's WAL as last fetched: the local commits after it, up to ${d.local_wal_head.slice(0, 12)}, are not in it, since a sync may still rebase them)`)
        : ''),
  },
  'snapshot:gc': {
    ipc: 'SnapshotGc',
    // As typed: the command reads it (src/commands/args.ts optInt), the same way for every caller.
    toArgs: ({ flags }) => ({ keep: flags.keep }),
    render: (d) =>
      `deleted ${plural(d.deleted.length, 'snapshot')}, kept ${d.kept.length}` +
      // Why each could never be used (unreadable, incomplete, off the WAL, refused) is doctor's `snapshots` message.
      (d.unusable.length ? dim(` (${d.unusable.length} of them never usable: see \`grit doctor\` for why)`) : ''),
  },
  doctor: {
    ipc: 'Doctor',
    toArgs: ({ flags }) => ({ fix: flags.fix }),
    render: (d) => {
      const rows = d.checks.map((c: any) => [STATUS[c.status](c.status), bold(c.id), c.message]);
      // A finding is read whole: on a narrow terminal its message goes on over indented lines.
      const lines = [table(rows, { wrap: true })];
      for (const c of d.checks) if (c.plan && c.status !== 'ok') lines.push(`${dim(`${c.id}:`)} ${c.plan}`);
      for (const a of d.applied) lines.push(`${green('fixed')} ${a}`);
      for (const f of d.failed ?? []) lines.push(`${red('fix failed')} ${f}`);
      return lines.join('\n');
    },
    // The checks after any fixes: an error left makes `grit doctor` fail a CI step; a warning does not.
    exitCode: (d) => (d.checks.some((c: any) => c.status === 'error') ? 1 : 0),
  },
  export: {
    ipc: 'Export',
    toArgs: ({ flags }) => ({
      format: flags.format,
      since: flags.since,
      output: outputArg(flags.output as string | undefined),
    }),
    streams: (args) => args.output === '-',
    render: (d) => {
      // Markdown and CSV hold the issues; JSON holds the events as well.
      const what = d.format === 'json' ? `${plural(d.issue_count, 'issue')} and ${plural(d.event_count, 'event')}` : plural(d.issue_count, 'issue');
      return `exported ${what} as ${d.format} to ${d.output_path}`;
    },
  },
};
