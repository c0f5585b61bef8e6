/**
 * An actor's store that another repository's WAL built, met in this one (docs/environment.md, "A
 * data dir serves one repository"; src/core/repo-identity.ts). It is never caught up or repaired
 * here: its WAL head is off this WAL's chain, and the lost-events repair would copy the other
 * repository's events into this WAL. It is a cache, so it is rebuilt from this WAL, unless the
 * data dir is one that the other repository, still there, uses: then the command is refused,
 * since rebuilding would only have that repository rebuild it back, and each read one repository
 * made could meet the other's rebuild.
 */
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { GritError } from '../core/errors.js';
import { stillThere, type RepoIdentity } from '../core/repo-identity.js';
import type { RepoDirs } from '../git/repo.js';
import { actorsDir, type ActorRef } from './actors.js';

/** A store to rebuild (and the warning that says why), or the refusal of the command. */
export type ForeignStore = { rebuild: string } | { refuse: GritError };

function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Whether the actor's directory is one of this repository's own (`.git/grit/actors/<id>`), not a data dir elsewhere. */
export function actorInRepo(actor: ActorRef, repo: RepoDirs): boolean {
  return realOrSame(dirname(actor.dir)) === realOrSame(actorsDir(repo));
}

/** Where a store of this repository's own actor that `recorded` built came from, said as `current` tells it apart. */
function builtWhere(recorded: RepoIdentity, current: RepoIdentity): string {
  if (recorded.git_dir === current.git_dir) {
    return recorded.id === null
      ? `was built in the repository at this path (${current.git_dir}) before it had a grit/repository-id (now ${current.id})`
      : `was built in an earlier repository at this path (${current.git_dir}), whose grit/repository-id was ${recorded.id} (this one's is ${current.id ?? 'none'}): the repository was made anew, or that file deleted`;
  }
  if (recorded.id !== null && recorded.id === current.id) {
    return `was built in the repository at ${recorded.git_dir}, which this one (${current.git_dir}) is a copy of (the same grit/repository-id, and that repository is still there)`;
  }
  return `was built in the repository at ${recorded.git_dir}, not in this one (${current.git_dir})`;
}

/** What becomes of a store `recorded` built, used in the repository `current` (`repo`). */
export function judgeForeignStore(recorded: RepoIdentity, current: RepoIdentity, actor: ActorRef, repo: RepoDirs): ForeignStore {
  const rebuilt = `it is a cache, so it is rebuilt from this repository's WAL`;
  if (actorInRepo(actor, repo)) {
    // The actor is this repository's own: the repository was copied or made anew, or the directory copied in (a move is no rebuild: repo-identity.ts).
    return { rebuild: `the store of actor ${actor.config.actor_id} ${builtWhere(recorded, current)}; ${rebuilt}` };
  }
  if (!stillThere(recorded)) {
    return { rebuild: `the data dir ${actor.dir} held a store built from the repository at ${recorded.git_dir}, which is no longer there (deleted or made anew); ${rebuilt}` };
  }
  const message = `the data dir ${actor.dir} serves the repository at ${recorded.git_dir}, not this one (${current.git_dir}): a data dir (--data-dir, GRIT_HOME) serves one repository`;
  return {
    refuse: new GritError('io_error', message, {
      environment: true,
      details: { data_dir: actor.dir, actor_id: actor.config.actor_id, store_repository: recorded.git_dir, repository: current.git_dir },
      suggestion: `use this repository's own actor (drop --data-dir or GRIT_HOME) or a data dir of its own; \`grit rebuild\` here moves the data dir to this repository, and ${recorded.git_dir} is refused instead`,
    }),
  };
}
