/**
 * Which actor a request runs as: resolved as the CLI resolves it (SPEC §4: walk up to `.git`,
 * read the repo config for the default actor, read the actor's config), then remembered while the
 * files it was read from stay unchanged. Resolving from scratch reads and parses two TOML files per
 * request; under load that was a fifth of the supervisor's time. Checking the cached answer costs
 * seven stat calls (the repository's id file and the actor's signing key are for the worker: see
 * Route.stamp; the sixth, its store file, tells a store replaced behind the worker: Route.store;
 * the seventh, the request's repo_root, one removed since: Route.root),
 * made once per turn of the event loop: the requests one turn handles came from sockets found
 * readable before its first check, so any change (`grit actor use`, a new actor that makes a prefix
 * ambiguous, a deleted repository) finished before a client sent its request is seen by it. (libuv
 * polls again within a turn only after a poll that found 1,024 sockets ready at once.) At ~3 µs a
 * stat call here, checking once per turn instead of per request raised the reads a daemon served
 * to 64 clients by 12-29 % (docs/performance.md).
 */
import { join } from 'node:path';
import { fileStamp, statIfThere } from '../core/file-stamp.js';
import { commandEnv } from '../core/forwarded-env.js';
import { actorsDir, repoConfigPath, selectActor, type ActorRef } from '../commands/actors.js';
import { signingKeyPath } from '../core/signing.js';
import { repoIdentity, repoIdPath } from '../core/repo-identity.js';
import { sharedPermOf } from '../git/shared-perm.js';
import { storeFile } from '../core/store-file.js';
import { findRepo, type RepoPaths } from '../git/repo.js';
import type { RepoRequest } from '../protocol/messages.js';

interface Route {
  repo: RepoPaths;
  /** The repository as a worker is bound to it: the real path of its common git dir (worktrees share it). */
  repository: string;
  actor: ActorRef;
  watched: string[];
  /**
   * The watched files' identities and times, which the worker also goes by to reload the repo
   * config, the actor's own config and its signing key (`RepoContext.reloadSettingsIfChanged`):
   * one set of stat calls per request for all of them.
   */
  stamp: string;
  /** The actor's store file: its device and inode (null: none yet), as of the latest check. */
  store: string | null;
  /**
   * The request's repo_root directory: its device and inode when the route was resolved. A
   * worktree removed since (`git worktree remove`) is resolved again, and refused, rather than
   * served as the removed worktree: an export into it made its directory again.
   */
  root: string | null;
}

/** Distinct (repo, actor, data dir) selections remembered; beyond this the cache starts over. */
const MAX_ROUTES = 1024;

/** Which file `path` is (device and inode; its contents change with every write), or null. */
export function fileIdentity(path: string): string | null {
  const st = statIfThere(path);
  return st ? `${st.dev}:${st.ino}` : null;
}

function stampOf(paths: readonly string[]): string {
  return paths.map((p) => fileStamp(p) ?? '-').join('|');
}

export class RouteCache {
  private readonly routes = new Map<string, Route>();
  /** Routes whose files were checked in this turn of the event loop. */
  private readonly checkedThisTurn = new Set<string>();

  resolve(request: Pick<RepoRequest, 'repo_root' | 'actor_id' | 'data_dir'> & Partial<Pick<RepoRequest, 'env'>>): Pick<Route, 'repo' | 'repository' | 'actor' | 'stamp' | 'store'> {
    // An empty actor_id is not a missing one (selectActor refuses it): the key tells them apart.
    // The caller's environment too: its git config (HOME, GIT_CONFIG_GLOBAL) or SUDO_UID may refuse the repository another allowed.
    const key = JSON.stringify([request.repo_root, request.actor_id, request.data_dir, request.env ?? null]);
    const cached = this.routes.get(key);
    if (cached && this.checkedThisTurn.has(key)) return cached;
    if (cached && stampOf(cached.watched) === cached.stamp && fileIdentity(request.repo_root) === cached.root) {
      cached.store = fileIdentity(storeFile(cached.actor.dir));
      this.checked(key);
      return cached;
    }
    // The caller's git config settings decide `safe.directory` (safe-directory.ts), as they would for `--no-daemon`.
    const repo = findRepo(request.repo_root, commandEnv(request.env), 'repo_root');
    // Stamped before reading: a change made while we read shows up as a stale stamp next time.
    // The repository's id too, made now if it is not yet (as the worker's store would make it): a
    // repository made anew at this path (its data dir outside it, so the store is the same file)
    // has none at first, and must be told from the one the worker's store was built in.
    const { git_dir: repository } = repoIdentity(repo.commonDir, repo.gritDir, { perm: sharedPermOf(repo.commonDir) });
    const watched = [repoConfigPath(repo), actorsDir(repo), repoIdPath(repo.gritDir)];
    const repoFiles = watched.length;
    const before = stampOf(watched);
    const actor = selectActor(repo, { actor: request.actor_id ?? undefined, dataDir: request.data_dir ?? undefined });
    watched.push(join(actor.dir, 'config.toml'), signingKeyPath(actor.dir));
    if (this.routes.size >= MAX_ROUTES) this.routes.clear();
    const route = {
      repo,
      repository,
      actor,
      watched,
      stamp: `${before}|${stampOf(watched.slice(repoFiles))}`,
      store: fileIdentity(storeFile(actor.dir)),
      root: fileIdentity(request.repo_root),
    };
    this.routes.set(key, route);
    this.checked(key);
    return route;
  }

  private checked(key: string): void {
    if (this.checkedThisTurn.size === 0) setImmediate(() => this.checkedThisTurn.clear());
    this.checkedThisTurn.add(key);
  }
}
