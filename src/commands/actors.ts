/** Actor directories under `.git/grit/actors/<id>/` and the choice of which one a command uses. */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readActorConfig, readRepoConfig, writeToml, type ActorConfig, type RepoConfig } from '../core/config.js';
import { GritError } from '../core/errors.js';
import { warnings } from '../core/warnings.js';
import { newActorId, resolvePrefix } from '../core/ids.js';
import { toHex } from '../core/hex.js';
import { writeSigningKey } from '../core/signing.js';
import type { RepoPaths } from '../git/repo.js';

export interface ActorRef {
  config: ActorConfig;
  dir: string;
}

export function actorsDir(repo: RepoPaths): string {
  return join(repo.gritDir, 'actors');
}

export function repoConfigPath(repo: RepoPaths): string {
  return join(repo.gritDir, 'config.toml');
}

export function loadRepoConfig(repo: RepoPaths): RepoConfig {
  return readRepoConfig(repoConfigPath(repo));
}

/** Rewrites only the keys given, keeping whatever else a person put in the file. */
export function updateRepoConfig(repo: RepoPaths, patch: Partial<RepoConfig>): void {
  const current = loadRepoConfig(repo);
  writeToml(repoConfigPath(repo), { ...current, ...patch });
}

export function readActorDir(dir: string): ActorRef | null {
  const config = readActorConfig(join(dir, 'config.toml'));
  return config ? { config, dir } : null;
}

export function createActor(dir: string | null, repo: RepoPaths, label = ''): ActorRef {
  const actor_id = toHex(newActorId());
  const actorDir = dir ?? join(actorsDir(repo), actor_id);
  const config: ActorConfig = { actor_id, label, created_ts: Date.now() };
  writeToml(join(actorDir, 'config.toml'), config);
  return { config, dir: actorDir };
}

/** Gives an actor an Ed25519 key: from then on every event it writes is signed. */
export async function addSigningKey(actor: ActorRef): Promise<ActorRef> {
  const { generateKeyPair } = await import('../core/ed25519.js');
  const keys = generateKeyPair();
  writeSigningKey(actor.dir, keys.secretKey);
  const config: ActorConfig = { ...actor.config, public_key: toHex(keys.publicKey), key_scheme: 'ed25519' };
  writeToml(join(actor.dir, 'config.toml'), config);
  return { config, dir: actor.dir };
}

export function listActors(repo: RepoPaths): ActorRef[] {
  const base = actorsDir(repo);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .sort()
    .map((name) => readActorDir(join(base, name)))
    .filter((a): a is ActorRef => a !== null);
}

export function findActor(repo: RepoPaths, idOrPrefix: string): ActorRef {
  const actors = listActors(repo);
  const id = resolvePrefix(
    idOrPrefix,
    actors.map((a) => a.config.actor_id),
    'actor',
  );
  const found = actors.find((a) => a.config.actor_id === id);
  if (!found) {
    throw new GritError('not_found', `no actor ${idOrPrefix} in this repository`, {
      suggestion: 'run `grit actor list`',
    });
  }
  return found;
}

export interface ActorSelection {
  dataDir?: string;
  actor?: string;
}

/**
 * SPEC §4 order: `--data-dir`/GRIT_HOME, then `--actor`, then the repo default, else a new
 * actor is created and made the default. A default whose directory is gone is not_found.
 */
export function selectActor(repo: RepoPaths, sel: ActorSelection, opts: { replaceMissingDefault?: boolean } = {}): ActorRef {
  const dataDir = sel.dataDir ?? process.env.GRIT_HOME;
  if (dataDir) {
    const dir = resolve(dataDir);
    const found = readActorDir(dir);
    if (found) return found;
    const created = createActor(dir, repo);
    // A mistyped --data-dir would otherwise act, silently, as a stranger with an empty store.
    warnings.send(`created a new actor ${created.config.actor_id} in ${dir}: the data dir (--data-dir or GRIT_HOME) held none yet`);
    return created;
  }
  if (sel.actor) return findActor(repo, sel.actor);
  const cfg = loadRepoConfig(repo);
  if (cfg.default_actor) {
    const dir = join(actorsDir(repo), cfg.default_actor);
    const found = readActorDir(dir);
    if (found) return found;
    // Its events, store and key are that identity's: acting as a new one instead, unasked, would
    // hide the loss. Only `grit init` (asked to set this repository up) makes a new default.
    if (!opts.replaceMissingDefault) {
      throw new GritError('not_found', `the default actor ${cfg.default_actor} (${repoConfigPath(repo)}) has no directory in ${actorsDir(repo)}`, {
        details: { actor_id: cfg.default_actor, path: dir },
        suggestion: 'pick an actor with `grit actor use <id>` (`grit actor list`), or run `grit init` to make a new default',
      });
    }
  }
  const created = createActor(null, repo);
  updateRepoConfig(repo, { default_actor: created.config.actor_id });
  return created;
}
