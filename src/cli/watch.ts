/**
 * `grit watch`: follows the daemon's notifications until interrupted (exit 0) or the daemon exits
 * (ipc_error, 1); under GRIT_NO_DAEMON, an ipc_error of the environment (exit 5) before anything.
 */
import { GritError, toGritError } from '../core/errors.js';
import type { Notification, NotificationKind } from '../protocol/notifications.js';
import { cyan, dim, singleLine } from './format.js';
import { visibleDeep } from '../core/terminal-safe.js';
import { printError } from './output.js';
import { plural } from '../core/plural.js';

function describe(n: Notification): string {
  const who = dim(`${n.actor_id.slice(0, 8)} ${n.repo_root}`);
  // The wall clock of the person watching: a bare HH:MM:SS reads as local time (it was UTC's,
  // hours off the clock beside it anywhere else). `--json` keeps ts, in ms.
  const at = new Date(n.ts);
  const time = [at.getHours(), at.getMinutes(), at.getSeconds()].map((v) => String(v).padStart(2, '0')).join(':');
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

/**
 * Which notifications to show: the daemon serves all of this user's repositories, and a watch
 * started inside one is about that one (any of its worktrees), unless `all` (or started outside
 * every repository). Null: show everything.
 */
async function repoFilter(all: boolean): Promise<((n: Notification) => boolean) | null> {
  if (all) return null;
  const { findRepo } = await import('../git/repo.js');
  const commonDirOf = (dir: string): string | null => {
    try {
      return findRepo(dir).commonDir;
    } catch {
      return null;
    }
  };
  const here = commonDirOf(process.cwd());
  if (here === null) return null;
  const seen = new Map<string, boolean>();
  return (n) => {
    let ours = seen.get(n.repo_root);
    if (ours === undefined) seen.set(n.repo_root, (ours = commonDirOf(n.repo_root) === here));
    return ours;
  };
}

export async function watch(opts: { kinds?: string[]; json?: boolean; all?: boolean }): Promise<number> {
  try {
    // Nothing to watch without the daemon, and a script that set GRIT_NO_DAEMON wants none left
    // running: refused rather than started (docs/environment.md).
    const { daemonDisabled, refusedWithoutDaemon, refuseRelativeRunDir, runDir } = await import('../protocol/daemon-paths.js');
    if (daemonDisabled()) throw refusedWithoutDaemon("watch prints the daemon's notifications", 'grit watch');
    // As `daemon status`: no daemon serves one, and its socket is not looked for against this directory.
    refuseRelativeRunDir(runDir());
    const { connectOrSpawn } = await import('../protocol/daemon-launch.js');
    (await connectOrSpawn({ spawn: true, format: 'json' }))?.close();
    const { watchNotifications } = await import('../protocol/watch.js');
    const shown = await repoFilter(opts.all === true);
    const w = await watchNotifications(
      (n) => {
        if (shown && !shown(n)) return;
        // A repository's path (--all shows every one's) or a lock's resource may hold an escape
        // or a newline: shown, on one line, as `daemon status` shows a path, never obeyed.
        process.stdout.write((opts.json ? JSON.stringify(n) : singleLine(describe(visibleDeep(n)))) + '\n');
      },
      { kinds: opts.kinds as NotificationKind[] | undefined },
    );
    const what = shown ? "this repository's grit notifications" : 'grit notifications of every repository';
    process.stderr.write(dim(`watching ${what} (Ctrl-C to stop)`, process.stderr) + '\n');
    let stopped = false;
    const stop = () => {
      stopped = true;
      w.close();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await w.ended;
    if (stopped) return 0;
    // Not asked to stop: the daemon stopped or died under the watch, which a script tailing it
    // must tell from an interrupt. On stderr even with --json: stdout stays notifications only.
    printError(
      new GritError('ipc_error', 'the daemon went away: no more notifications', {
        suggestion: 'run `grit watch` again (it starts a daemon); `grit daemon status` tells whether one runs',
      }),
      false,
    );
    return process.exitCode as number;
  } catch (err) {
    printError(toGritError(err), opts.json === true);
    return process.exitCode as number;
  }
}
