/**
 * Actor directories that an interrupted `init` or `actor init` left (docs/reliability.md, "An
 * actor is made whole or not at all"), for doctor's actor_dirs check:
 * - half-made: a directory named like an actor id with no config.toml, which no command can use;
 * - pending: an actor made to be the default (PENDING_DEFAULT) that the repo config never named,
 *   while another is the default (with none, the next `grit init` finishes it);
 * - never chosen: what an older grit left when it could not name its new actor the default (its
 *   retry made a second one): no label, no store, no event in the WAL, made before the default,
 *   and no key but its own. A person's own extra actors are made after the default, or labelled,
 *   and a teammate's config names a public key whose secret is not here.
 * One is removable only when it provably holds nothing: nothing in its directory but its config,
 * and no event of its id in the WAL. Anything else (a key above all: it cannot be made again) is
 * reported and left to a person.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { signingKeyPath } from '../core/signing.js';
import type { RepoDirs } from '../git/repo.js';
import { actorsDir, readActorDir, type ActorRef } from './actors.js';
import { PENDING_DEFAULT } from './new-actor.js';
import { RENAME_TMP } from './temp-files.js';

const ACTOR_ID = /^[0-9a-f]{32}$/;

export interface OrphanActorDir {
  dir: string;
  actor_id: string;
  message: string;
  plan: string;
  removable: boolean;
}

export interface OrphanContext {
  /** The actor the repo config names, if any. */
  defaultActor: ActorRef | null;
  /** The directory of the actor this command acts as: never an orphan. */
  actingDir: string | null;
  /** The actor ids of the WAL's events; null when the WAL cannot be read (then nothing is removable). */
  authors: ReadonlySet<string> | null;
}

/** What the directory holds besides its config, its PENDING_DEFAULT mark and temporary files (temp_files reports those). */
function holdings(dir: string): string[] {
  return readdirSync(dir).filter((name) => name !== 'config.toml' && name !== PENDING_DEFAULT && !RENAME_TMP.test(name));
}

function judge(dir: string, id: string, ctx: OrphanContext): OrphanActorDir | null {
  let actor: ActorRef | null;
  try {
    actor = readActorDir(dir);
  } catch {
    return null; // a config that cannot be read: the keyring reports it (actor_config)
  }
  const held = holdings(dir);
  const unused = held.length === 0 && ctx.authors !== null && !ctx.authors.has(id);
  const holds = held.length ? `it holds ${held.join(', ')}` : ctx.authors === null ? 'the WAL cannot be read to tell whether it wrote events' : `it wrote ${ctx.authors.has(id) ? 'events in the WAL' : 'nothing'}`;
  const keep = 'doctor never deletes a directory that holds a key, a store or events';
  if (!actor) {
    return {
      dir,
      actor_id: id,
      message: `${dir} has no config.toml: an actor whose making was cut short; ${holds}`,
      plan: unused ? `delete ${dir} (\`grit doctor --fix\`): it holds nothing` : `restore its config.toml from a backup, or delete ${dir} if it is not needed (${keep})`,
      removable: unused,
    };
  }
  if (existsSync(join(dir, PENDING_DEFAULT))) {
    if (!ctx.defaultActor) {
      const message = `actor ${id} was made to be the default by a command stopped before the repo config named it`;
      return { dir, actor_id: id, message, plan: '`grit init` finishes it (names it the default)', removable: false };
    }
    return {
      dir,
      actor_id: id,
      message: `actor ${id} was made to be the default by a command stopped before the repo config named it; ${ctx.defaultActor.config.actor_id} is the default; ${holds}`,
      plan: unused ? `delete ${dir} (\`grit doctor --fix\`): it holds nothing` : `\`grit actor use ${id}\` makes it the default; or delete ${dir} if it is not needed (${keep})`,
      removable: unused,
    };
  }
  // A teammate's config names a key whose secret is not here; an actor made here holds its own.
  const teammates = actor.config.public_key !== undefined && !existsSync(signingKeyPath(dir));
  const beforeDefault = ctx.defaultActor === null || actor.config.created_ts < ctx.defaultActor.config.created_ts;
  const neverUsed = held.every((name) => name === 'keys') && ctx.authors !== null && !ctx.authors.has(id);
  if (!neverUsed || !beforeDefault || actor.config.label !== '' || teammates) return null;
  const which = ctx.defaultActor ? `is older than the default ${ctx.defaultActor.config.actor_id}` : 'no actor is the default';
  const what = `actor ${id} has no label, no store and no event, and ${which}: left by a \`grit init\` of an older grit that could not name it the default`;
  if (unused) return { dir, actor_id: id, message: what, plan: `delete ${dir} (\`grit doctor --fix\`): it holds nothing`, removable: true };
  return {
    dir,
    actor_id: id,
    message: `${what}; it holds a signing key`,
    plan: `delete ${dir} yourself if its key is not needed (someone may have its public key); ${keep}`,
    removable: false,
  };
}

/** The orphaned actor directories under `.git/grit/actors/` (see above), by name. */
export function orphanActorDirs(repo: RepoDirs, ctx: OrphanContext): OrphanActorDir[] {
  const base = actorsDir(repo);
  const out: OrphanActorDir[] = [];
  for (const id of existsSync(base) ? readdirSync(base).sort() : []) {
    const dir = join(base, id);
    if (!ACTOR_ID.test(id) || id === ctx.defaultActor?.config.actor_id || dir === ctx.actingDir || !statSync(dir).isDirectory()) continue;
    const found = judge(dir, id, ctx);
    if (found) out.push(found);
  }
  return out;
}

/** Deletes those of the orphans judged removable that still are, judged again now; their directories. */
export function removeOrphanActorDirs(repo: RepoDirs, ctx: OrphanContext): string[] {
  const removed: string[] = [];
  for (const o of orphanActorDirs(repo, ctx)) {
    if (!o.removable) continue;
    rmSync(o.dir, { recursive: true, force: true });
    removed.push(o.dir);
  }
  return removed;
}
