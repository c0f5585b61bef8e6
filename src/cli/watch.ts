/** `grit watch`: follows the daemon's notifications until interrupted or the daemon exits. */
import { toGritError } from '../core/errors.js';
import type { Notification, NotificationKind } from '../protocol/notifications.js';
import { cyan, dim } from './format.js';
import { printError } from './output.js';
import { plural } from '../core/plural.js';

function describe(n: Notification): string {
  const who = dim(`${n.actor_id.slice(0, 8)} ${n.repo_root}`);
  const time = new Date(n.ts).toISOString().slice(11, 19);
  const short = (v: unknown) => (typeof v === 'string' ? v.slice(0, 8) : String(v));
  const what =
    n.kind === 'EventApplied'
      ? `${n.command} issue ${short(n.issue_id)} event ${short(n.event_id)}`
      : n.kind === 'WalSynced'
        ? `pulled ${n.pulled}, pushed ${n.pushed}, rebased ${n.events_rebased}`
        : n.kind === 'LockChanged'
          ? `${n.command} ${(n.lock as { resource?: string } | null)?.resource ?? ''}`
          : `${n.snapshot_ref} (${plural(Number(n.event_count), 'event')})`;
  return `${time} ${cyan(n.kind)} ${what}  ${who}`;
}

export async function watch(opts: { kinds?: string[]; json?: boolean }): Promise<number> {
  try {
    const { connectOrSpawn } = await import('../protocol/daemon-launch.js');
    (await connectOrSpawn({ spawn: true, format: 'json' }))?.close();
    const { watchNotifications } = await import('../protocol/watch.js');
    const w = await watchNotifications(
      (n) => process.stdout.write((opts.json ? JSON.stringify(n) : describe(n)) + '\n'),
      { kinds: opts.kinds as NotificationKind[] | undefined },
    );
    process.stderr.write(dim('watching grit notifications (Ctrl-C to stop)', process.stderr) + '\n');
    const stop = () => w.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await w.ended;
    return 0;
  } catch (err) {
    printError(toGritError(err), opts.json === true);
    return process.exitCode as number;
  }
}
