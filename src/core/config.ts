/** Repo and actor configuration files (TOML), validated into typed values. */
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { replaceFile, type ReplaceFileOptions } from './replace-file.js';
import { mkdirShared } from './shared-files.js';
import { basename, dirname, join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { cutText, GritError, isPermissionDenied } from './errors.js';
import { mvCommand } from './shell-word.js';

export type LockPolicy = 'off' | 'warn' | 'require';
export type SignaturePolicy = 'off' | 'warn' | 'reject';

export interface RepoConfig {
  default_actor?: string;
  lock_policy: LockPolicy;
  signature_policy: SignaturePolicy;
  snapshot: { max_events: number; max_age_days: number };
}

export interface ActorConfig {
  actor_id: string;
  label: string;
  created_ts: number;
  public_key?: string;
  key_scheme?: 'ed25519';
}

export const DEFAULT_REPO_CONFIG: RepoConfig = {
  lock_policy: 'warn',
  signature_policy: 'warn',
  snapshot: { max_events: 10_000, max_age_days: 7 },
};

const CONFIG_SUGGESTION = 'fix the file by hand, or run `grit doctor` for a plan (`grit doctor --fix` repairs a TOML syntax error)';
const ACTOR_CONFIG_SUGGESTION =
  'fix the file by hand, or run `grit doctor` for a plan (`grit doctor --fix` rebuilds it from its directory name and signing key)';

function configError(path: string, message: string, details: Record<string, unknown> = {}, suggestion = CONFIG_SUGGESTION): GritError {
  return new GritError('io_error', `${path}: ${message}`, {
    details: { path, ...details },
    suggestion,
    environment: true,
  });
}

const actorConfigError = (path: string, message: string, details: Record<string, unknown> = {}) => configError(path, message, details, ACTOR_CONFIG_SUGGESTION);

function readToml(path: string): Record<string, unknown> | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw unreadableConfig(path, err as NodeJS.ErrnoException);
  }
  try {
    return parse(text) as Record<string, unknown>;
  } catch (err) {
    throw configError(path, `not valid TOML (${(err as Error).message.split('\n')[0]})`);
  }
}

/**
 * A config file that is there but cannot be read as a file: named with its path and what is in
 * the way, and exit 5 like any broken config. `details.unreadable`: doctor's repairs read the
 * file, so its plan is this suggestion, a person's to carry out.
 */
function unreadableConfig(path: string, err: NodeJS.ErrnoException): GritError {
  const errno = err.code ?? null;
  const unreadable = (message: string, suggestion: string, details: Record<string, unknown> = {}) =>
    configError(path, message, { errno, unreadable: true, ...details }, suggestion);
  const restore = 'move what is there aside and restore the file from a backup';
  if (errno === 'EISDIR') return unreadable('is a directory, not a file', `${restore} (\`${mvCommand(path, `${path}.dir`)}\`)`);
  if (errno === 'ENOTDIR') {
    const inTheWay = fileOnPath(dirname(path));
    return unreadable(`cannot be read: ${inTheWay} is a file, not a directory`, `${restore} (\`${mvCommand(inTheWay, `${inTheWay}.file`)}\`)`, { not_a_directory: inTheWay });
  }
  if (isPermissionDenied(errno)) return unreadable('cannot be read: permission denied', `check the permissions of ${path}`);
  return unreadable(`cannot be read (${err.message})`, 'check the file and the disk holding it');
}

/** The nearest of `dir` and its parents that exists: the file that stands where a directory should. */
function fileOnPath(dir: string): string {
  while (dirname(dir) !== dir && !existsSync(dir)) dir = dirname(dir);
  return dir;
}

/**
 * The repository's grit directory (`.git/grit`), where its config, actors and stores live: absent
 * is fine (`grit init` makes it), but a file or a link to nothing there would fail every command
 * later with a bare errno (the config read, the new actor's staging directory).
 */
function checkGritDir(dir: string): void {
  let link: string | null = null;
  try {
    if (lstatSync(dir).isSymbolicLink()) link = readlinkSync(dir);
    if (statSync(dir).isDirectory()) return;
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' && link === null) return;
    if (errno !== 'ENOENT') throw unreadableConfig(join(dir, 'config.toml'), err as NodeJS.ErrnoException);
  }
  const what = link === null ? 'is a file, not a directory' : `is a symbolic link to ${link}, which ${existsSync(dir) ? 'is not a directory' : 'does not exist'}`;
  const restore = link === null ? 'from a backup' : 'what the link points to, or from a backup';
  const details = { unreadable: true, ...(link === null ? {} : { link }) };
  const plan = `restore it (${restore}), or move it aside (\`${mvCommand(dir, `${dir}.old`)}\`) and run \`grit init\` to start anew`;
  throw configError(dir, `${what}: grit keeps this repository's config, actors and stores there`, details, plan);
}

/**
 * Writes through a temporary file and a rename so a crash never leaves half a config. `perm`:
 * core.sharedRepository's, for a config inside `.git/grit` (shared-files.ts). `beforeRename`:
 * as replaceFile's (a repair checks the new config and keeps the broken one first).
 */
export function writeToml(path: string, value: object, perm = 0, opts: Pick<ReplaceFileOptions, 'beforeRename'> = {}): void {
  mkdirShared(dirname(path), perm);
  replaceFile(path, stringify(value) + '\n', { perm, ...opts });
}

function oneOf<T extends string>(path: string, key: string, v: unknown, allowed: readonly T[], def: T): T {
  if (v === undefined) return def;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw configError(path, `${key} must be one of ${allowed.join(', ')}`);
}

/**
 * A count (events, days): a whole number, as every number grit reads from its config or
 * environment is; `max_events = 1.5` would otherwise be taken as it stands and compared as such.
 */
function positiveWhole(path: string, key: string, v: unknown, def: number): number {
  if (v === undefined) return def;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) return n;
  throw configError(path, `${key} must be a positive whole number, got ${String(v)}`, { key, value: typeof v === 'bigint' ? String(v) : v });
}

const ACTOR_HEX = /^[0-9a-f]{32}$/;

/** The settings a repo config may hold: any other key is a typo (or in the wrong table). */
const REPO_KEYS = ['default_actor', 'lock_policy', 'signature_policy', 'snapshot'];
const SNAPSHOT_KEYS = ['max_events', 'max_age_days'];

/** The settings an actor config may hold (SPEC §4). */
export const ACTOR_KEYS: readonly string[] = ['actor_id', 'label', 'created_ts', 'public_key', 'key_scheme'];

/** The keys of `table` that are not `known`. */
export const unknownKeys = (table: Record<string, unknown>, known: readonly string[]): string[] => Object.keys(table).filter((k) => !known.includes(k));

/**
 * Refuses a key grit does not know: ignored, a misspelt `lock_policy` (or one that fell under
 * `[snapshot]`) would quietly leave the policy at its default, and a misspelt `public_key` in a
 * teammate's config would quietly make their events unverifiable (accepted under every policy).
 */
function checkKeys(path: string, table: Record<string, unknown>, known: readonly string[], where: string, suggestion = CONFIG_SUGGESTION): void {
  const unknown = unknownKeys(table, known);
  if (unknown.length === 0) return;
  const names = unknown.map((k) => where + k);
  // Named in the message cut short (a key of kilobytes, a file of hundreds of stray keys); the
  // details keep them whole.
  throw configError(path, `unknown setting ${namedKeys(names)} (known${where ? ` in [${where.slice(0, -1)}]` : ''}: ${known.join(', ')})`, { unknown: names }, suggestion);
}

/** How many unknown keys a message names, and how many characters of each. */
const MAX_NAMED = 5;
const MAX_KEY_SHOWN = 64;

/** Unknown setting names as a message lists them: five at most, each cut to 64 characters. */
export const namedKeys = (names: readonly string[]): string =>
  names.slice(0, MAX_NAMED).map(cutKey).join(', ') + (names.length > MAX_NAMED ? `, … (${names.length} in all)` : '');

const cutKey = (k: string): string => cutText(k, MAX_KEY_SHOWN);

export function readRepoConfig(path: string): RepoConfig {
  checkGritDir(dirname(path));
  return repoConfigFrom(readToml(path) ?? {}, path);
}

/** Checks a repo config's parsed TOML (read from `path`, named in errors) and fills in defaults. */
export function repoConfigFrom(raw: Record<string, unknown>, path: string): RepoConfig {
  const snap = (raw.snapshot ?? {}) as Record<string, unknown>;
  if (typeof snap !== 'object' || Array.isArray(snap)) throw configError(path, '[snapshot] must be a table');
  checkKeys(path, raw, REPO_KEYS, '');
  checkKeys(path, snap, SNAPSHOT_KEYS, 'snapshot.');
  const def = raw.default_actor;
  if (def !== undefined && (typeof def !== 'string' || !ACTOR_HEX.test(def))) {
    throw configError(path, 'default_actor must be 32 lowercase hex characters');
  }
  return {
    default_actor: def as string | undefined,
    lock_policy: oneOf(path, 'lock_policy', raw.lock_policy, ['off', 'warn', 'require'], DEFAULT_REPO_CONFIG.lock_policy),
    signature_policy: oneOf(
      path,
      'signature_policy',
      raw.signature_policy,
      ['off', 'warn', 'reject'],
      DEFAULT_REPO_CONFIG.signature_policy,
    ),
    snapshot: {
      max_events: positiveWhole(path, 'snapshot.max_events', snap.max_events, DEFAULT_REPO_CONFIG.snapshot.max_events),
      max_age_days: positiveWhole(path, 'snapshot.max_age_days', snap.max_age_days, DEFAULT_REPO_CONFIG.snapshot.max_age_days),
    },
  };
}

export function readActorConfig(path: string): ActorConfig | null {
  const raw = readToml(path);
  return raw ? actorConfigFrom(raw, path) : null;
}

const PUBLIC_KEY_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Checks an actor config's parsed TOML (read from `path`, named in errors) as strictly as a repo
 * config, unknown keys included: coerced to defaults, a wrong `public_key` or `key_scheme` would
 * quietly leave the actor unverifiable, and an `actor_id` other than its directory's would write
 * events as someone else from that directory's store. A directory not named like an actor id (a
 * `--data-dir`) may hold any actor. Absent optional keys take their defaults (a teammate's hand-written config may omit
 * `label` and `created_ts`: docs/signing.md).
 */
function actorConfigFrom(raw: Record<string, unknown>, path: string): ActorConfig {
  checkKeys(path, raw, ACTOR_KEYS, '', 'correct or remove it by hand: doctor does not guess what a misspelt key meant');
  const { actor_id, label, created_ts, public_key, key_scheme } = raw;
  if (typeof actor_id !== 'string' || !ACTOR_HEX.test(actor_id)) {
    throw actorConfigError(path, 'actor_id must be 32 lowercase hex characters');
  }
  const dirName = basename(dirname(path));
  if (ACTOR_HEX.test(dirName) && dirName !== actor_id) {
    throw actorConfigError(path, `actor_id ${actor_id} is not the actor of its directory ${dirName}`, { actor_id, directory: dirName });
  }
  if (label !== undefined && typeof label !== 'string') throw actorConfigError(path, 'label must be a string');
  const created = typeof created_ts === 'bigint' ? Number(created_ts) : created_ts;
  if (created !== undefined && !(typeof created === 'number' && Number.isSafeInteger(created) && created >= 0)) {
    throw actorConfigError(path, 'created_ts must be a whole number of milliseconds since 1970');
  }
  if (public_key !== undefined && (typeof public_key !== 'string' || !PUBLIC_KEY_HEX.test(public_key))) {
    throw actorConfigError(path, 'public_key must be 64 hex characters (a 32-byte Ed25519 key)');
  }
  if (key_scheme !== undefined && key_scheme !== 'ed25519') throw actorConfigError(path, 'key_scheme must be ed25519');
  return {
    actor_id,
    label: label ?? '',
    created_ts: created ?? 0,
    public_key: public_key as string | undefined,
    key_scheme: key_scheme as 'ed25519' | undefined,
  };
}
