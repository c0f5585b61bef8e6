/**
 * Doctor's actor_config check (the repo config, the acting actor, its keys and those of the other
 * actors this clone can write as, the keyring) and actor_dirs (what an interrupted init left).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_REPO_CONFIG, type RepoConfig } from '../core/config.js';
import { GritError } from '../core/errors.js';
import { loadKeyring } from '../core/integrity.js';
import { plural } from '../core/plural.js';
import { readOwnSigningKey, signingKeyPath } from '../core/signing.js';
import type { RepoDirs, RepoPaths } from '../git/repo.js';
import { sharedPermAt } from '../git/shared-perm.js';
import { orphanActorDirs, removeOrphanActorDirs, type OrphanContext } from './actor-dirs.js';
import { actorsDir, actorsHere, findActor, loadRepoConfig, missingDefaultActor, noDefaultActor, readActorDir, repoConfigPath, type ActorRef } from './actors.js';
import { actorConfigRepair, repoConfigRepair, type RepairPlan } from './config-repair.js';
import type { ContextOptions } from './context.js';
import { dataDirOf, givenActor } from './data-dir.js';
import { ok, type CheckStatus, type Finding, type Fix, type State } from './doctor-check.js';
import { findLocks, removeStaleLocks } from './doctor-leftover-files.js';

function selectExistingActor(repo: RepoPaths, config: RepoConfig | null, opts: ContextOptions): { actor: ActorRef | null; why: string; missing?: GritError } {
  const dataDir = dataDirOf(opts);
  if (dataDir) {
    const actor = readActorDir(dataDir);
    return { actor, why: actor ? `data dir ${dataDir}` : `no actor config in the data dir ${dataDir}` };
  }
  const selector = givenActor(opts);
  if (selector !== undefined) return { actor: findActor(repo, selector), why: '--actor' };
  if (!config?.default_actor) {
    const here = actorsHere(repo);
    if (here.length === 0) return { actor: null, why: 'no default actor yet' };
    const missing = noDefaultActor(repo, here);
    return { actor: null, why: missing.message, missing };
  }
  const actor = readActorDir(join(actorsDir(repo), config.default_actor));
  if (actor) return { actor, why: 'the repo default' };
  const missing = missingDefaultActor(repo, config.default_actor);
  return { actor, why: missing.message, missing };
}

function checkActorKeys(actor: ActorRef): string[] {
  const problems: string[] = [];
  const keyPath = signingKeyPath(actor.dir);
  const keyFile = keyFileState(keyPath);
  if (keyFile === 'unreadable') {
    // Another member's actor in a shared repository: its keys/ is its owner's alone (0700).
    problems.push(`${keyPath} cannot be read by this user (permission denied): only its owner can write as this actor (reads work)`);
    return problems;
  }
  const hasKeyFile = keyFile === 'present';
  if (actor.config.public_key && !hasKeyFile) {
    problems.push(`it has a public_key but no ${keyPath}: it cannot sign, so every write as it is refused (reads work)`);
  }
  if (hasKeyFile) {
    try {
      // The same check as every write's (src/core/signing.ts), so doctor and writes agree.
      readOwnSigningKey(actor.dir, actor.config.actor_id, actor.config.public_key);
      if (!actor.config.public_key) problems.push(`${keyPath} exists but config.toml has no public_key: nobody can verify its signatures`);
      if ((statSync(keyPath).mode & 0o077) !== 0) problems.push(`${keyPath} is readable by other users (chmod 600 it)`);
    } catch (err) {
      problems.push(err instanceof GritError ? err.message : `cannot read ${keyPath}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** Whether the key file is there, as this user sees it: a keys/ it may not search is not "missing". */
function keyFileState(path: string): 'present' | 'missing' | 'unreadable' {
  try {
    statSync(path);
    return 'present';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'unreadable' : 'missing';
  }
}

/**
 * The key problems of the other actors under `.git/grit/actors/` that hold a signing key (actors
 * this clone can write as with `--actor`); teammates' configs (a public key, no secret) have none
 * to check, and unreadable configs are reported by the keyring.
 */
function checkOtherActorKeys(repo: RepoPaths, acting: ActorRef): string[] {
  const base = actorsDir(repo);
  const problems: string[] = [];
  for (const name of existsSync(base) ? readdirSync(base).sort() : []) {
    const dir = join(base, name);
    if (resolve(dir) === resolve(acting.dir) || !existsSync(signingKeyPath(dir))) continue;
    let other: ActorRef | null;
    try {
      other = readActorDir(dir);
    } catch {
      continue;
    }
    if (other) for (const p of checkActorKeys(other)) problems.push(`actor ${other.config.actor_id}: ${p}`);
  }
  return problems;
}

export function checkActor(s: State, opts: ContextOptions): Finding {
  const repo = s.repo!;
  const problems: string[] = [];
  let status: CheckStatus = 'ok';
  const plans: string[] = [];
  try {
    s.config = loadRepoConfig(repo);
  } catch (err) {
    s.config = DEFAULT_REPO_CONFIG;
    const path = repoConfigPath(repo);
    return configFinding(err, configRepair(err, repo, path, repoConfigRepair), `fix ${path} by hand (deleting it would reset the policies and the default actor)`);
  }
  let why: string;
  let missing: GritError | undefined;
  try {
    ({ actor: s.actor, why, missing } = selectExistingActor(repo, s.config, opts));
  } catch (err) {
    s.actor = null;
    const path = err instanceof GritError && typeof err.details.path === 'string' ? err.details.path : null;
    const repair = path ? configRepair(err, repo, path, actorConfigRepair, true) : null;
    return configFinding(err, repair, path ? `fix ${path} by hand` : 'run `grit actor list` and pick an existing actor');
  }
  const actor = s.actor;
  // A default the repo config names but that is gone, or none beside actors that are there, stops
  // every command but `grit init`: an error.
  if (missing) return configFinding(missing, null, missing.suggestion!);
  if (!actor) {
    return { id: 'actor_config', status: 'warn', message: why, plan: 'run `grit init` to create the default actor' };
  }
  for (const p of [...checkActorKeys(actor), ...checkOtherActorKeys(repo, actor)]) problems.push(p);
  if (problems.length) {
    status = 'warn';
    plans.push('fix the key files by hand (doctor never changes keys)');
  }
  const ring = loadKeyring(repo.gritDir, actor);
  for (const u of ring.unusable) {
    problems.push(`${u.path}: ${u.reason}`);
    status = 'warn';
  }
  const fixes: Fix[] = [];
  const stale = findLocks(actor.dir, false).filter((l) => l.stale);
  if (stale.length) {
    problems.push(`stale lock file${stale.length === 1 ? '' : 's'}: ${stale.map((l) => `${l.path} (${l.why})`).join(', ')}`);
    plans.push(`remove ${stale.map((l) => l.path).join(', ')}`);
    fixes.push(removeStaleLocks(stale.map((l) => l.path)));
    status = 'warn';
  }
  const summary = `actor ${actor.config.actor_id} (${why}), ${actor.config.public_key ? 'with' : 'without'} a signing key; ` +
    `signature_policy = ${s.config.signature_policy}, ${plural(ring.size, 'known key')}`;
  return {
    id: 'actor_config',
    status,
    message: problems.length ? `${summary}; ${problems.join('; ')}` : summary,
    plan: plans.length ? plans.join('; ') : null,
    fixes: fixes.length ? fixes : undefined,
  };
}

/**
 * Actor directories an interrupted `init` left (actor-dirs.ts). Not judged while the repo config
 * or its default cannot be read: which actor is the default is what tells the rest apart.
 */
export function checkActorDirs(s: State): Finding {
  const repo = s.repo!;
  let orphanCtx: OrphanContext;
  try {
    const named = loadRepoConfig(repo).default_actor;
    const defaultActor = named ? readActorDir(join(actorsDir(repo), named)) : null;
    if (named && !defaultActor) return ok('actor_dirs', 'not checked: the default actor cannot be read (see actor_config)');
    const authors = s.survey?.authors ?? null;
    orphanCtx = { defaultActor, actingDir: s.actor?.dir ?? null, authors };
  } catch {
    return ok('actor_dirs', 'not checked: the repo config or the default actor cannot be read (see actor_config)');
  }
  const orphans = orphanActorDirs(repo, orphanCtx);
  if (orphans.length === 0) return ok('actor_dirs', 'every actor directory holds an actor that was made whole');
  const removable = orphans.filter((o) => o.removable);
  return {
    id: 'actor_dirs',
    status: 'warn',
    message: `${plural(orphans.length, 'actor directory', 'actor directories')} left by an interrupted \`grit init\` or \`grit actor init\`: ${orphans.map((o) => o.message).join('; ')}`,
    plan: orphans.map((o) => o.plan).join('; '),
    fixes: removable.length
      ? [{ key: 'actor_dirs', run: async () => `deleted ${plural(removeOrphanActorDirs(repo, orphanCtx).length, 'actor directory', 'actor directories')} that held nothing` }]
      : undefined,
  };
}

/**
 * A config that is not valid TOML gets the conservative repair of config-repair.ts, and so does an
 * actor config with a value grit refuses (`anyValue`): what identifies an actor (its directory, its
 * key) is on disk beside it, while a repo config's policies are a person's to choose. Other
 * problems get only a plan.
 */
function configRepair(err: unknown, repo: RepoDirs, path: string, repair: (path: string, perm: number) => RepairPlan, anyValue = false): RepairPlan | null {
  if (!(err instanceof GritError) || (!anyValue && !/not valid TOML/.test(err.message))) return null;
  try {
    return repair(path, sharedPermAt(repo, path));
  } catch {
    return null; // unreadable: the message says why
  }
}

/**
 * `fallbackPlan` is for a config whose content is wrong; one that cannot be read as a file at all
 * (a directory, a file where `.git/grit` should be: config.ts) carries its own plan.
 */
function configFinding(err: unknown, repair: RepairPlan | null, fallbackPlan: string): Finding {
  const fix = repair?.fix;
  const unreadable = err instanceof GritError && err.details.unreadable === true;
  return {
    id: 'actor_config',
    status: 'error',
    message: (err as Error).message,
    plan: repair?.plan ?? (unreadable && err.suggestion ? err.suggestion : fallbackPlan),
    fixes: fix ? [{ key: `config:${(err as GritError).details.path}`, run: async () => fix() }] : undefined,
  };
}
