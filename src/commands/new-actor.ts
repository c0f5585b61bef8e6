/**
 * Making an actor all or nothing: a command that fails part-way (a full disk) leaves nothing of
 * it, and one stopped part-way (kill -9, a power cut) leaves what the next `grit init` finishes or
 * `grit doctor` finds (docs/reliability.md, "An actor is made whole or not at all").
 *
 * The order of writes: config.toml without a key (from then on it is an actor), then the key,
 * then config.toml naming the key. In the repository the actor is written so into a staging
 * directory beside `actors/` and renamed into place whole; only then may the repo config name it
 * the default (actors.ts), and a failure to do that removes it again.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeToml, type ActorConfig } from '../core/config.js';
import { crashPoint } from '../core/fault.js';
import { toHex } from '../core/hex.js';
import { newActorId } from '../core/ids.js';
import { publicKeyOf, readSigningKey, removeSigningKey, signingKeyPath, writeSigningKey } from '../core/signing.js';
import { writeNewFile } from '../core/write-new-file.js';
import { mkdirShared } from '../core/shared-files.js';

export interface ActorRef {
  config: ActorConfig;
  dir: string;
}

/**
 * In the directory of an actor made to be the repository's default until the repo config names
 * it: one left there (the command was stopped in between) marks an actor the next `grit init`
 * finishes instead of making another, and that doctor reports while another is the default.
 */
export const PENDING_DEFAULT = 'default.pending';

/** `.git/grit/actor-<id>.<pid>.tmp`: an actor being made, never read as one (it is not under `actors/`). */
export const STAGED_ACTOR = /^actor-[0-9a-f]{32}\.(\d+)\.tmp$/;

const newConfig = (label: string): ActorConfig => ({ actor_id: toHex(newActorId()), label, created_ts: Date.now() });

/**
 * Gives `actor` the key in its directory, or `secret` written there when it has none, and names
 * it in its config.toml. The key is written first and removed again when the config cannot be:
 * a config naming a key that is not there could not sign. A key already there (a command stopped
 * before it named it) is kept: events may have been signed with it. `perm`: core.sharedRepository's
 * for an actor inside `.git/grit`, given to its config; never to the key, which is its owner's alone.
 */
export function giveKey(actor: ActorRef, secret: Uint8Array, perm: number): ActorRef {
  const existing = readSigningKey(actor.dir);
  const madeDir = !existsSync(join(actor.dir, 'keys'));
  if (!existing) writeSigningKey(actor.dir, secret);
  const config: ActorConfig = { ...actor.config, public_key: publicKeyOf(existing ?? secret), key_scheme: 'ed25519' };
  try {
    writeToml(join(actor.dir, 'config.toml'), config, perm);
  } catch (err) {
    if (!existing) removeSigningKey(actor.dir, madeDir);
    throw err;
  }
  return { config, dir: actor.dir };
}

/** True when the actor in `dir` holds a key file its config does not name (giveKey adopts it). */
export const hasUnnamedKey = (actor: ActorRef): boolean => !actor.config.public_key && existsSync(signingKeyPath(actor.dir));

function writeActor(dir: string, config: ActorConfig, secret: Uint8Array | undefined, perm: number): ActorRef {
  writeToml(join(dir, 'config.toml'), config, perm);
  return secret ? giveKey({ config, dir }, secret, perm) : { config, dir };
}

/**
 * A new actor in the data dir `dir` (`--data-dir`, GRIT_HOME), made with its directories; on a
 * failure, what this made is removed (the directories it made, else its config.toml). `perm`:
 * core.sharedRepository's, for a data dir inside `.git/grit` (0 elsewhere: the umask's).
 */
export function createActorIn(dir: string, label: string, perm: number, secret?: Uint8Array): ActorRef {
  let top = dir;
  while (!existsSync(dirname(top)) && dirname(top) !== top) top = dirname(top);
  const made = existsSync(dir) ? join(dir, 'config.toml') : top;
  try {
    mkdirShared(dir, perm);
    return writeActor(dir, newConfig(label), secret, perm);
  } catch (err) {
    rmSync(made, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A new actor under `actorsDir`, made whole (config and, given `secret`, key) in a staging
 * directory of `gritDir` and renamed into place. `pendingDefault`: it is made to be the default
 * (PENDING_DEFAULT). On a failure nothing of it is left; stopped before the rename, only the
 * staging directory, which doctor's temp_files check removes (nothing ever saw its key). `perm`:
 * core.sharedRepository's (shared-files.ts), for its directories and files but the key.
 */
export function stageActor(gritDir: string, actorsDir: string, label: string, secret: Uint8Array | undefined, pendingDefault: boolean, perm: number): ActorRef {
  const config = newConfig(label);
  const stage = join(gritDir, `actor-${config.actor_id}.${process.pid}.tmp`);
  const dir = join(actorsDir, config.actor_id);
  try {
    mkdirShared(stage, perm);
    if (pendingDefault) writeNewFile(join(stage, PENDING_DEFAULT), '', perm);
    const staged = writeActor(stage, config, secret, perm);
    crashPoint('actor:staged');
    mkdirShared(actorsDir, perm);
    renameSync(stage, dir);
    crashPoint('actor:placed');
    return { config: staged.config, dir };
  } catch (err) {
    rmSync(stage, { recursive: true, force: true });
    throw err;
  }
}
