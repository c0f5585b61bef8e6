/**
 * Where a CLI command runs: through the user's daemon when one can serve it (starting it if
 * needed), otherwise in this process. Correctness never depends on the daemon: whenever it cannot
 * be reached, or it cannot take the actor, the command runs locally with the same result.
 */
import type { Args } from '../commands/args.js';
import type { ContextOptions, OutputSink } from '../commands/context.js';
import { dataDirOf } from '../commands/data-dir.js';
import { answeredBySupervisor, onlyReads, reportsProgress, runsInWorker } from '../commands/routing.js';
import { progressWanted } from '../core/progress.js';
import { buildInfo } from '../core/build-info.js';
import { ENV_EXIT, GritError } from '../core/errors.js';
import { visible } from '../core/terminal-safe.js';
import { daemonDisabled } from '../protocol/daemon-paths.js';
import { forwardedEnv } from '../core/forwarded-env.js';

/** `stdout`: the command writes its output there as it goes, so it runs here: a daemon cannot write to it. */
export async function execute(name: string, args: Args, options: ContextOptions, noDaemon: boolean, stdout?: OutputSink): Promise<unknown> {
  if (!noDaemon && !stdout && !daemonDisabled() && runsInWorker(name)) {
    const served = await viaDaemon(name, args, options);
    if (served) return served.data;
  }
  if (answeredBySupervisor(name)) return aboutTheDaemon(name, args, options);
  const { runLocal } = await import('../commands/run.js');
  // After run.js: node:v8 then costs ~0.5 ms instead of ~3 (its dependencies are loaded).
  (await import('./one-command-v8.js')).tuneV8ForOneCommand();
  return runLocal(name, args, options, stdout);
}

/**
 * `daemon start|status|stop`: for no repository, they need only the daemon's client, which is in
 * the start-up bundle with the registry and them (scripts/bundle.js). The local bundle, whose
 * store and packages (lmdb, …) load at once, cost them ~55 ms of CPU (docs/performance.md).
 */
async function aboutTheDaemon(name: string, args: Args, options: ContextOptions): Promise<unknown> {
  const { commandFn } = await import('../commands/registry.js');
  const context = () => {
    throw new GritError('internal_error', `${name} has no repository to open`);
  };
  return (await commandFn(name))({ options, context }, args);
}

async function viaDaemon(name: string, args: Args, options: ContextOptions): Promise<{ data: unknown } | null> {
  const { findRepo } = await import('../git/repo.js');
  let repoRoot: string;
  try {
    repoRoot = findRepo(options.cwd).root;
  } catch {
    return null; // not a repository: the local run reports it
  }
  const { connectOrSpawn } = await import('../protocol/daemon-launch.js');
  // Printed as they would be had the command run here.
  const warn = (w: string) => process.stderr.write(`grit: warning: ${visible(w)}\n`);
  const client = await connectOrSpawn({
    spawn: true,
    format: 'json',
    clientBuild: buildInfo()?.build,
    // Its errors are printed to a person who typed flags: they name them so.
    argNames: 'cli',
    onWarning: warn,
    onStartFailure: (reason) => warn(`the daemon could not start (${reason}); ran the command here (\`grit daemon start\` says more)`),
  });
  if (!client) return null;
  // Asked for only where this process would draw it itself (`options.progress` unset: its terminal's): no work for the daemon otherwise.
  const progress = !options.progress && reportsProgress(name) && progressWanted() ? await (await import('./progress-view.js')).watchProgress() : null;
  try {
    const data = await client.request(name, args, {
      repoRoot,
      actorId: options.actor,
      dataDir: dataDirOf(options),
      cwd: options.cwd ?? process.cwd(),
      // What the command reads while it runs is this shell's, as with --no-daemon, not the daemon's.
      env: forwardedEnv(),
      // And the files it makes get this shell's modes. Read here, before this process has a thread
      // that makes files: reading the umask sets it and sets it back.
      umask: process.umask(),
    }, { progress: progress?.token });
    return { data };
  } catch (err) {
    // A read the daemon took and did not answer (it died) runs again here; a write it may have
    // written is reported as such (GritClient says `may_have_run`), never run twice.
    if (err instanceof GritError && (isDaemonUnavailable(err) || (err.details.may_have_run === true && onlyReads(name, args)))) return null;
    // Doctor reports a broken environment, and an actor it cannot select, as findings: such an
    // error came from the daemon's route to the actor (a default actor that is gone, an --actor
    // that names none), before doctor ran. Here it diagnoses.
    if (name === 'Doctor' && err instanceof GritError && (err.exitCode === ENV_EXIT || isUnknownActor(err))) return null;
    throw err;
  } finally {
    progress?.close();
    client.close();
  }
}

/** The route's "no such actor" (actors.ts), which names the actor asked for. */
function isUnknownActor(err: GritError): boolean {
  return err.code === 'not_found' && typeof err.details.actor === 'string';
}

/**
 * Errors that say "this daemon cannot serve you" rather than "the command failed": another
 * daemon holds the actor's lease, this one is shutting down, or it never got the request (its
 * connection failed before the request was sent whole). The request did nothing.
 */
function isDaemonUnavailable(err: GritError): boolean {
  return (err.code === 'db_busy' && 'owner_pid' in err.details) || err.details.fallback === true;
}
