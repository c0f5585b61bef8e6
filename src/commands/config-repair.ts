/**
 * `doctor --fix` for config files that are not valid TOML any more (a bad merge, a stray paste, a
 * half-written edit). Configs hold a person's intent, so the repair is conservative
 * (docs/reliability.md):
 *
 * - Every line that still parses on its own is kept; lines that do not are dropped. If a dropped
 *   line mentions a setting grit knows (`signature_policy = …` garbled, say), nothing is written:
 *   guessing would silently change a policy, so the plan names the line for a person to fix.
 * - The actor config is rebuilt around what identifies the actor: `actor_id` from its directory
 *   name (`.git/grit/actors/<id>/`), `public_key` from its own `keys/signing.key` when it has one.
 * - The broken file is kept beside the new one as `config.toml.broken-<unix_ms>`.
 */
import { constants, copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { crashPoint } from '../core/fault.js';
import { basename, dirname, join } from 'node:path';
import { parse } from 'smol-toml';
import { ACTOR_KEYS, namedKeys, readActorConfig, readRepoConfig, repoConfigFrom, unknownKeys, writeToml, type ActorConfig } from '../core/config.js';
import { publicKeyOf, readSigningKey, signingKeyPath } from '../core/signing.js';
import { mvCommand } from '../core/shell-word.js';

export interface Salvage {
  value: Record<string, unknown>;
  dropped: { line: number; text: string }[];
}

const TABLE = /^\s*\[([A-Za-z0-9_-]+)\]\s*(#.*)?$/;

/** Parses TOML one line at a time (grit writes one `key = value` per line), keeping what parses. */
export function salvageToml(text: string): Salvage {
  const value: Record<string, unknown> = {};
  const dropped: Salvage['dropped'] = [];
  let table: Record<string, unknown> = value;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const header = TABLE.exec(line);
    if (header) {
      const existing = value[header[1]];
      table = existing && typeof existing === 'object' && !Array.isArray(existing) ? (existing as Record<string, unknown>) : {};
      value[header[1]] = table;
      return;
    }
    try {
      Object.assign(table, parse(line));
    } catch {
      dropped.push({ line: i + 1, text: raw.length > 80 ? `${raw.slice(0, 77)}...` : raw });
    }
  });
  return { value, dropped };
}

/** Dropped lines that look like they held one of these settings: those are not guessed. */
function droppedSettings(s: Salvage, keys: readonly string[]): Salvage['dropped'] {
  return s.dropped.filter((d) => keys.some((k) => d.text.includes(k)));
}

const describe = (lines: Salvage['dropped']) => lines.map((d) => `line ${d.line} (${JSON.stringify(d.text)})`).join(', ');

export interface RepairPlan {
  /** What a person should do, or what the fix will do. */
  plan: string;
  /** Applies the repair; absent when doctor must not repair this file itself. */
  fix?: () => string;
}

/**
 * Writes `value` as the new config (after checking it with `validate`), keeping the broken one
 * aside; `perm`: core.sharedRepository's for a config inside `.git/grit` (shared-files.ts).
 */
function replaceConfig(path: string, value: object, perm: number, validate: (tmp: string) => void): string {
  const aside = `${path}.broken-${Date.now()}`;
  // One a killed repair leaves is doctor's temp_files (replace-file.ts names it so); one that
  // fails its check, or whose broken config cannot be kept aside, is removed.
  writeToml(path, value, perm, {
    beforeRename: (tmp) => {
      validate(tmp);
      // A copy aside, then one rename over it: a repair stopped in between (kill -9, power cut)
      // leaves the broken config in its place, which the next doctor --fix repairs again. Renamed
      // aside first, it left no config at all: a repo without its default actor (whose policies
      // the plan then lost, and whose actor doctor could take for an empty leftover), an actor
      // without its id.
      copyFileSync(path, aside, constants.COPYFILE_EXCL);
      crashPoint('config:set-aside');
    },
  });
  return aside;
}

const REPO_KEYS = ['default_actor', 'lock_policy', 'signature_policy', 'snapshot', 'max_events', 'max_age_days'] as const;

/** The repair of a repo config (`.git/grit/config.toml`) that is not valid TOML. */
export function repoConfigRepair(path: string, perm: number): RepairPlan {
  const salvage = salvageToml(readFileSync(path, 'utf8'));
  const risky = droppedSettings(salvage, REPO_KEYS);
  if (risky.length) {
    return { plan: `fix ${describe(risky)} of ${path} by hand: doctor does not guess a setting (policies included)` };
  }
  // What is left must be a config grit takes (no unknown or misspelt key): one it would refuse
  // again is not written, and the person is told what to fix.
  try {
    repoConfigFrom(salvage.value, path);
  } catch (err) {
    return { plan: `fix ${path} by hand: without ${describe(salvage.dropped)} it still fails: ${(err as Error).message.replace(`${path}: `, '')}` };
  }
  return {
    plan: `rewrite ${path} keeping every readable setting and dropping ${describe(salvage.dropped)} (the old file is kept as config.toml.broken-<ms>)`,
    fix: () => {
      const aside = replaceConfig(path, salvage.value, perm, (tmp) => readRepoConfig(tmp));
      return `rewrote ${path} without ${describe(salvage.dropped)}; the broken file is ${basename(aside)}`;
    },
  };
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The repair of an actor's config.toml that is not valid TOML, or holds values grit refuses (a
 * wrong type, an `actor_id` other than its directory's): its identity comes from its directory
 * name (or a readable `actor_id` line), its public key from its own signing key. A readable
 * `public_key` that is not the signing key's is left to a person: which of the two is right is
 * not for doctor to guess (docs/signing.md). So is a key grit does not know.
 */
export function actorConfigRepair(path: string, perm: number): RepairPlan {
  const dir = dirname(path);
  const salvage = salvageToml(readFileSync(path, 'utf8'));
  const s = salvage.value;
  // Dropped, a misspelt `publickey = …` would leave an actor without a signing key unverifiable.
  const unknown = unknownKeys(s, ACTOR_KEYS);
  if (unknown.length) {
    return { plan: `fix ${path} by hand: unknown setting ${namedKeys(unknown)} (known: ${ACTOR_KEYS.join(', ')}); doctor does not guess what a misspelt key meant` };
  }
  const actorId = HEX32.test(basename(dir)) ? basename(dir) : typeof s.actor_id === 'string' && HEX32.test(s.actor_id) ? s.actor_id : null;
  if (!actorId) {
    return { plan: `fix ${path} by hand: its actor_id cannot be recovered (neither the directory name nor a readable actor_id line gives it)` };
  }
  let secret: Uint8Array | null = null;
  try {
    secret = existsSync(signingKeyPath(dir)) ? readSigningKey(dir) : null;
  } catch {
    secret = null;
  }
  const salvagedKey = typeof s.public_key === 'string' && HEX64.test(s.public_key.toLowerCase()) ? s.public_key.toLowerCase() : undefined;
  const public_key = secret ? publicKeyOf(secret) : salvagedKey;
  const moved = movedActorPlan(path, actorId, s.actor_id, secret !== null && public_key === salvagedKey);
  if (moved) return moved;
  if (salvagedKey && public_key !== salvagedKey) {
    return { plan: `fix ${path} by hand: its public_key is not the key of ${signingKeyPath(dir)}, and doctor does not guess which is right` };
  }
  const created = s.created_ts;
  const config: ActorConfig = {
    actor_id: actorId,
    label: typeof s.label === 'string' ? s.label : '',
    created_ts: typeof created === 'number' && Number.isSafeInteger(created) && created >= 0 ? created : Math.floor(statSync(dir).mtimeMs),
    ...(public_key ? { public_key, key_scheme: 'ed25519' as const } : {}),
  };
  const keyNote = secret ? ', public_key from its signing key' : public_key ? '' : ', no public_key (it has no signing key)';
  const replaced = replacedValues(s, config);
  const replacedNote = replaced.length ? `; replacing ${replaced.join(', ')}` : '';
  return {
    plan: `rewrite ${path} for actor ${actorId} (id from its directory${keyNote}${replacedNote}; the old file is kept as config.toml.broken-<ms>)`,
    fix: () => {
      const aside = replaceConfig(path, config, perm, (tmp) => readActorConfig(tmp));
      return `rewrote ${path} for actor ${actorId}${keyNote}${replacedNote}; the broken file is ${basename(aside)}`;
    },
  };
}

/**
 * The plan for an actor directory that holds another actor's config: renamed, or swapped with
 * that actor's (a `mv` of the wrong one). Rewriting the config for the directory's name would
 * give that id the other actor's key and label: its own events would then fail verification, and
 * its new ones would be signed with the other's key. The file is judged another actor's (and the
 * directory the thing that is wrong) when its `public_key` is the key beside it (they moved
 * together), or when the directory named after its `actor_id` holds this directory's config.
 */
function movedActorPlan(path: string, dirId: string, fileId: unknown, keyMatches: boolean): RepairPlan | null {
  if (typeof fileId !== 'string' || !HEX32.test(fileId) || fileId === dirId) return null;
  const dir = dirname(path);
  const home = join(dirname(dir), fileId);
  const swapped = configActorId(join(home, 'config.toml')) === dirId;
  if (!keyMatches && !swapped) return null;
  const whose = `${path} is the config of actor ${fileId}${keyMatches ? `, and ${signingKeyPath(dir)} is its key` : ''}`;
  if (swapped) {
    const aside = `${home}.swap`;
    return { plan: `fix by hand: ${whose}, and ${home} holds actor ${dirId}'s: the two directories were swapped; swap them back: \`${mvCommand(dir, aside)} && ${mvCommand(home, dir)} && ${mvCommand(aside, home)}\`` };
  }
  if (existsSync(home)) return { plan: `fix by hand: ${whose}, and ${home} is there too: doctor does not guess which directory is whose` };
  return { plan: `fix by hand: ${whose}: the directory was renamed; move it back (\`${mvCommand(dir, home)}\`), then restore actor ${dirId} from a backup or pick another (\`grit actor list\`, \`grit actor use <id>\`)` };
}

/** The `actor_id` a config file names, or null when it has none that reads. */
function configActorId(path: string): string | null {
  try {
    const id = salvageToml(readFileSync(path, 'utf8')).value.actor_id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/** The readable settings the rewritten config does not keep as they were, as `key = value`. */
function replacedValues(salvaged: Record<string, unknown>, config: ActorConfig): string[] {
  const kept = config as unknown as Record<string, unknown>;
  return Object.entries(salvaged)
    .filter(([key, value]) => kept[key] !== value && !(key === 'public_key' && kept[key] === String(value).toLowerCase()))
    .map(([key, value]) => `${key} = ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
}
