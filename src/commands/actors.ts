/** Actor directories under `.git/grit/actors/<id>/` and the choice of which one a command uses. */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readActorConfig, readRepoConfig, writeToml, type RepoConfig } from '../core/config.js';
import { diskFullError } from '../core/disk-full.js';
import { fileStamp } from '../core/file-stamp.js';
import { cutText, GritError, invalidArgs } from '../core/errors.js';
import { warnings } from '../core/warnings.js';
import { plural } from '../core/plural.js';
import { MIN_PREFIX, resolvePrefix } from '../core/ids.js';
import { isHexPrefix } from '../core/hex.js';
import { newSecretKey } from '../core/signing.js';
import type { RepoDirs } from '../git/repo.js';
import { sharedPermAt, sharedPermOf } from '../git/shared-perm.js';
import { dataDirOf, givenActor, type ActorSelection } from './data-dir.js';
import { createActorIn, giveKey, hasUnnamedKey, PENDING_DEFAULT, stageActor, type ActorRef } from './new-actor.js';
import { shellWord } from '../core/shell-word.js';

export type { ActorRef } from './new-actor.js';
export type { ActorSelection } from './data-dir.js';

export function actorsDir(repo: RepoDirs): string {
  return join(repo.gritDir, 'actors');
}

export function repoConfigPath(repo: RepoDirs): string {
  return join(repo.gritDir, 'config.toml');
}

export function loadRepoConfig(repo: RepoDirs): RepoConfig {
  return readRepoConfig(repoConfigPath(repo));
}

/** Rewrites only the keys given, keeping whatever else a person put in the file. */
export function updateRepoConfig(repo: RepoDirs, patch: Partial<RepoConfig>): void {
  const current = loadRepoConfig(repo);
  writeToml(repoConfigPath(repo), { ...current, ...patch }, sharedPermOf(repo.commonDir));
}

export function readActorDir(dir: string): ActorRef | null {
  const config = readActorConfig(join(dir, 'config.toml'));
  return config ? { config, dir } : null;
}

/**
 * Gives an actor that has none an Ed25519 key (new-actor.ts giveKey: one in its directory that its
 * config does not name yet is kept). An actor of an earlier command may have written events
 * already, which stay unsigned under a key that is now known, and readers who `reject` refuse
 * them: it is said (docs/signing.md).
 */
export function ensureSigningKey(repo: RepoDirs, actor: ActorRef): ActorRef {
  if (actor.config.public_key) return actor;
  const adopted = hasUnnamedKey(actor);
  const keyed = giveKey(actor, newSecretKey(), sharedPermAt(repo, actor.dir));
  if (!adopted) {
    warnings.send(
      `actor ${actor.config.actor_id} had no key until now: any events it wrote before are unsigned, \`grit doctor\` lists them as a warning ("written before this actor's key was added"), and readers whose signature_policy is reject refuse them (docs/signing.md)`,
    );
  }
  return keyed;
}

/**
 * The labels, where they have one, of those of these actors whose directory is in this repository:
 * each read from its own config, never by listing every actor. A label only names an author, so
 * an actor config that does not parse leaves its author shown by id rather than failing a read.
 */
export function actorLabels(repo: RepoDirs, actorIds: Iterable<string>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const id of new Set(actorIds)) {
    const label = labelOf(join(actorsDir(repo), id));
    if (label) labels[id] = label;
  }
  return labels;
}

/**
 * Labels by actor directory, each as of its config file's stamp (file-stamp.ts, as the
 * supervisor's routes keep theirs): `issue show` labels its authors on every call, and reading
 * and parsing their TOML was a fifth of a daemon's read. A label changes only by an edit of that
 * file. Without a stamp (nothing there, or not reachable) the config is read each time and its
 * error, as before, leaves the author shown by id.
 */
const knownLabels = new Map<string, { stamp: string; label: string | null }>();
const MAX_KNOWN_LABELS = 4096;

function labelOf(dir: string): string | null {
  const stamp = fileStamp(join(dir, 'config.toml'));
  const known = knownLabels.get(dir);
  if (stamp !== null && known?.stamp === stamp) return known.label;
  let label: string | null = null;
  try {
    label = readActorDir(dir)?.config.label || null;
  } catch (err) {
    if (!(err instanceof GritError)) throw err;
  }
  if (stamp === null) return label;
  if (knownLabels.size >= MAX_KNOWN_LABELS) knownLabels.clear();
  knownLabels.set(dir, { stamp, label });
  return label;
}

export function listActors(repo: RepoDirs): ActorRef[] {
  const base = actorsDir(repo);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .sort()
    .map((name) => readActorDir(join(base, name)))
    .filter((a): a is ActorRef => a !== null);
}

/**
 * An actor by id, id prefix, or label (`--actor agent-7`). A text that is both the start of one
 * actor's id and another's label is refused, naming both (as an id prefix of two actors is): it
 * could mean either, and taking one would act as the wrong identity without a word. A full id
 * names its actor whatever labels say.
 */
export function findActor(repo: RepoDirs, idOrLabel: string): ActorRef {
  const actors = listActors(repo);
  const id = readsAsIdPrefix(idOrLabel) ? resolvePrefix(idOrLabel, () => actors.map((a) => a.config.actor_id), 'actor') : null;
  const byId = id === null ? null : (actors.find((a) => a.config.actor_id === id) ?? null);
  if (byId && idOrLabel.trim().toLowerCase() === id) return byId;
  const byLabel = actorLabelled(actors, idOrLabel);
  if (byId && byLabel && byId !== byLabel) throw eitherActor(idOrLabel, byId, byLabel);
  const found = byId ?? byLabel;
  if (!found) {
    throw new GritError('not_found', `no actor ${cutText(idOrLabel)} in this repository (neither an id nor a label)`, {
      details: { actor: idOrLabel },
      suggestion: 'run `grit actor list`',
    });
  }
  return found;
}

/** Whether `text` is taken as an actor id or the start of one (resolvePrefix then reads it). */
const readsAsIdPrefix = (text: string): boolean => {
  const t = text.trim().toLowerCase();
  return t.length >= MIN_PREFIX && isHexPrefix(t);
};

/** A selector that begins one actor's id and is another's label, refused with both as resolvePrefix refuses an ambiguous prefix. */
function eitherActor(text: string, byId: ActorRef, byLabel: ActorRef): GritError {
  const [id, labelled] = [byId.config.actor_id, byLabel.config.actor_id];
  return invalidArgs(`actor ${text} is ambiguous: it begins the id of ${id} and is the label of ${labelled}`, { candidates: [id, labelled].sort() }, 'name the actor by its full id (`grit actor list`)');
}

/**
 * A new actor's label that is the start of another actor's id is refused: `--actor <label>` would
 * be ambiguous from the start (findActor). One that an id comes to begin with later is refused as
 * ambiguous then, never taken as the other actor (docs/decisions.md).
 */
export function refuseIdLikeLabel(repo: RepoDirs, label: string): void {
  if (!readsAsIdPrefix(label)) return;
  const prefix = label.trim().toLowerCase();
  const clash = listActors(repo).filter((a) => a.config.actor_id.startsWith(prefix));
  if (clash.length === 0) return;
  const ids = clash.map((a) => a.config.actor_id);
  throw invalidArgs(`the label ${label} would also be read as the start of an actor id (${ids.join(', ')}): \`--actor ${label}\` could not tell them apart`, { field: 'label', value: label, candidates: ids }, 'choose another label: one with a character that is not hex (such as agent-7) never clashes');
}

/** The one actor with this label, if any; several are an error (name one by id). */
export function actorLabelled(actors: ActorRef[], label: string): ActorRef | null {
  const labelled = label === '' ? [] : actors.filter((a) => a.config.label === label);
  if (labelled.length > 1) {
    const ids = labelled.map((a) => a.config.actor_id);
    throw new GritError('invalid_args', `${ids.length} actors have the label ${JSON.stringify(label)}: ${ids.join(', ')}`, {
      details: { label, candidates: ids },
      suggestion: 'name the actor by its id (`grit actor list`)',
    });
  }
  return labelled[0] ?? null;
}

/**
 * The repo config names a default actor that is not there: missing config, an environment
 * failure (SPEC §6, exit 5). The message says which of the two is gone, since the remedies differ.
 */
export function missingDefaultActor(repo: RepoDirs, actorId: string): GritError {
  const dir = join(actorsDir(repo), actorId);
  const noDir = !existsSync(dir);
  const what = noDir ? `has no directory in ${actorsDir(repo)}` : `has no ${join(dir, 'config.toml')}`;
  const restore = noDir ? `restore ${dir} from a backup` : 'restore its config.toml from a backup';
  return new GritError('io_error', `the default actor ${actorId} (${repoConfigPath(repo)}) ${what}`, {
    details: { actor_id: actorId, path: noDir ? dir : join(dir, 'config.toml') },
    suggestion: `${restore}, pick an actor with \`grit actor use <id>\` (\`grit actor list\`), or run \`grit init\` to make a new default (docs/troubleshooting.md)`,
    environment: true,
  });
}

/**
 * The actors under `.git/grit/actors/` (ids, sorted) that a new default would push aside: every
 * directory with a config.toml but one made to be the default and not named yet
 * (PENDING_DEFAULT), which makeDefaultActor finishes instead of making another.
 */
export function actorsHere(repo: RepoDirs): string[] {
  const base = actorsDir(repo);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .sort()
    .filter((name) => existsSync(join(base, name, 'config.toml')) && !existsSync(join(base, name, PENDING_DEFAULT)));
}

/**
 * The repo config names no default actor (emptied, deleted, its line removed) while actors are
 * there: one of them was the default, and a new one made unasked would take its place with none
 * of its events' authorship, store or key, and nothing would say so. An environment failure
 * (SPEC §6, exit 5), as missingDefaultActor.
 */
export function noDefaultActor(repo: RepoDirs, actorIds: string[]): GritError {
  const path = repoConfigPath(repo);
  const labels = actorLabels(repo, actorIds);
  const named = actorIds.map((id) => (labels[id] ? `${id} (${labels[id]})` : id));
  const what = existsSync(path) ? 'names no default_actor' : 'is missing';
  return new GritError('io_error', `${path} ${what}, and ${actorsDir(repo)} holds ${plural(actorIds.length, 'actor')}: ${named.join(', ')}`, {
    details: { path, actors: actorIds },
    suggestion: `make yours the default with \`grit actor use <id>\` (restore ${path} from a backup if you can: its policies were lost with it), or run \`grit init\` to make a new default actor`,
    environment: true,
  });
}

/**
 * A data dir that holds no actor, named to a command that does not set one up: the caller's
 * mistake (a mistyped path), refused before anything is written there (docs/environment.md).
 */
function noActorIn(dir: string): GritError {
  const what = existsSync(dir) ? 'holds no actor (no config.toml)' : 'does not exist';
  return new GritError('invalid_args', `the data dir ${dir} (--data-dir or GRIT_HOME) ${what}`, {
    details: { data_dir: dir },
    suggestion: `check the path; \`grit actor init --data-dir ${shellWord(dir)}\` makes a new actor there`,
  });
}

/**
 * SPEC §4 order: `--data-dir`/GRIT_HOME, then `--actor`, then the repo default, else a new
 * actor is created and made the default (makeDefaultActor) when the repository has no actor
 * yet. A default that is gone is an error (missingDefaultActor), and so are no default beside
 * actors that are there (noDefaultActor) and a data dir that holds no actor (noActorIn). `setUp`
 * (`grit init`, asked to set the repository up) makes a new default in place of a missing one,
 * and an actor in an empty data dir; `secret` is the key a new actor gets (`--generate-key`).
 */
export function selectActor(repo: RepoDirs, sel: ActorSelection, opts: { setUp?: boolean; secret?: Uint8Array } = {}): ActorRef {
  // Both read first: an empty --actor beside a data dir is a mistake too, though the dir outranks it.
  const actor = givenActor(sel);
  const dataDir = dataDirOf(sel);
  if (dataDir) {
    const found = readActorDir(dataDir);
    if (found) return found;
    // A mistyped path would otherwise make a stranger's actor wherever it points (even at `/`).
    if (!opts.setUp) throw noActorIn(dataDir);
    return newActorIn(repo, dataDir, '', opts.secret);
  }
  if (actor !== undefined) return findActor(repo, actor);
  const cfg = loadRepoConfig(repo);
  if (cfg.default_actor) {
    const dir = join(actorsDir(repo), cfg.default_actor);
    const found = readActorDir(dir);
    if (found) return found;
    // Its events, store and key are that identity's: acting as a new one instead, unasked, would
    // hide the loss. Only `grit init` (asked to set this repository up) makes a new default.
    if (!opts.setUp) throw missingDefaultActor(repo, cfg.default_actor);
  } else if (!opts.setUp) {
    const here = actorsHere(repo);
    if (here.length) throw noDefaultActor(repo, here);
  }
  return makeDefaultActor(repo, '', opts.secret);
}

/** A failure to make an actor in `dir`, said as a full disk when it is one. */
function notMade(dir: string, err: unknown): unknown {
  const path = (err as NodeJS.ErrnoException | null)?.path ?? dir;
  return diskFullError(dir, path, err, 'free space on that disk and run the command again: it leaves no half-made actor behind') ?? err;
}

/** A new actor in a data dir (new-actor.ts createActorIn). */
export function newActorIn(repo: RepoDirs, dataDir: string, label: string, secret?: Uint8Array): ActorRef {
  try {
    return createActorIn(dataDir, label, sharedPermAt(repo, dataDir), secret);
  } catch (err) {
    throw notMade(dataDir, err);
  }
}

/** A new actor in this repository that is not to be its default (new-actor.ts stageActor). */
export function newActor(repo: RepoDirs, label: string, secret?: Uint8Array): ActorRef {
  try {
    return stageActor(repo.gritDir, actorsDir(repo), label, secret, false, sharedPermOf(repo.commonDir));
  } catch (err) {
    throw notMade(repo.gritDir, err);
  }
}

/**
 * The repository's new default actor, with this label: one an earlier command made to be it and
 * was stopped before the repo config named it (PENDING_DEFAULT), finished now, or else a new one,
 * made whole first. Only then does the repo config name it; a new actor it cannot name is removed
 * again, so that a failed command leaves no actor and its retry makes exactly one.
 */
export function makeDefaultActor(repo: RepoDirs, label: string, secret?: Uint8Array): ActorRef {
  try {
    const pending = pendingActor(repo, label);
    if (pending) {
      const actor = secret && !pending.config.public_key ? giveKey(pending, secret, sharedPermOf(repo.commonDir)) : pending;
      chooseDefault(repo, actor);
      return actor;
    }
    const actor = stageActor(repo.gritDir, actorsDir(repo), label, secret, true, sharedPermOf(repo.commonDir));
    try {
      chooseDefault(repo, actor);
    } catch (err) {
      rmSync(actor.dir, { recursive: true, force: true });
      throw err;
    }
    return actor;
  } catch (err) {
    throw notMade(repo.gritDir, err);
  }
}

/**
 * The oldest actor with this label still waiting to be named the default (PENDING_DEFAULT), if
 * any. Only marked directories are read: another actor's config that does not parse (a
 * teammate's) is not this command's business.
 */
function pendingActor(repo: RepoDirs, label: string): ActorRef | null {
  const base = actorsDir(repo);
  const marked = existsSync(base) ? readdirSync(base).filter((name) => existsSync(join(base, name, PENDING_DEFAULT))) : [];
  const pending = marked.map((name) => readActorDir(join(base, name))).filter((a): a is ActorRef => a?.config.label === label);
  return pending.sort((a, b) => a.config.created_ts - b.config.created_ts)[0] ?? null;
}

/** Names `actor` the repository's default (unless it is already) and clears its PENDING_DEFAULT mark. */
export function chooseDefault(repo: RepoDirs, actor: ActorRef): void {
  if (loadRepoConfig(repo).default_actor !== actor.config.actor_id) updateRepoConfig(repo, { default_actor: actor.config.actor_id });
  rmSync(join(actor.dir, PENDING_DEFAULT), { force: true });
}
