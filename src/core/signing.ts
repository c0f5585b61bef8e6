/**
 * Ed25519 signatures over raw 32-byte event ids (SPEC §1). Keys live in the actor directory:
 * `keys/signing.key` (hex secret, mode 0600) and `public_key` in the actor's config.toml.
 */
import { createPrivateKey, createPublicKey, randomBytes as cryptoRandomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GritError } from './errors.js';
import { fromHex, toHex } from './hex.js';

export function signingKeyPath(actorDir: string): string {
  return join(actorDir, 'keys', 'signing.key');
}

/** A new Ed25519 secret key: 32 random bytes (RFC 8032), from the system's CSPRNG directly, never a pool. */
export function newSecretKey(): Uint8Array {
  return new Uint8Array(cryptoRandomBytes(32));
}

/**
 * Writes the actor's first key. Never over one that is there (`wx`): a key is the one thing of an
 * actor that cannot be made again, and events signed with it would fail for every reader. A key
 * cut short (a full disk) is removed, with the `keys` directory when this made it.
 */
export function writeSigningKey(actorDir: string, secretKey: Uint8Array): void {
  const dir = join(actorDir, 'keys');
  const madeDir = mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined;
  const path = signingKeyPath(actorDir);
  try {
    writeFileSync(path, toHex(secretKey) + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') removeSigningKey(actorDir, madeDir);
    throw err;
  }
}

/** Removes a key written by this command and not yet named by any config (so never used), and its `keys` directory when `withDir`. */
export function removeSigningKey(actorDir: string, withDir: boolean): void {
  rmSync(signingKeyPath(actorDir), { force: true });
  if (withDir) rmSync(join(actorDir, 'keys'), { recursive: true, force: true });
}

/** The actor's secret key, or null when it has none. */
export function readSigningKey(actorDir: string): Uint8Array | null {
  const path = signingKeyPath(actorDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EISDIR') {
      throw new GritError('io_error', `${path} is a directory, not a key file`, {
        details: { path, errno: code },
        suggestion: 'restore the key file (64 hex characters, mode 0600) from a backup, or create a new actor with `grit actor init --generate-key`',
        environment: true,
      });
    }
    throw err;
  }
  const key = fromHex(text.trim(), 32);
  if (!key) {
    throw new GritError('io_error', `${path} is not a 32-byte hex key`, {
      suggestion: 'restore the key from a backup, or create a new actor with `grit actor init --generate-key`',
      environment: true,
    });
  }
  return key;
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The Ed25519 public key (lowercase hex) of a 32-byte secret. */
export function publicKeyOf(secret: Uint8Array): string {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, secret]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 32).toString('hex');
}

/**
 * The actor's secret key, refused when it is not the key of `publicKey` (the config's): a restored
 * backup or a copied actor directory would otherwise sign every event with a signature that fails
 * for every reader, in a WAL that keeps it for good (and, under `reject`, drops the write from
 * the writer's own store right after acknowledging it). Refused too when the config has a
 * `publicKey` and there is no key file (a teammate's public config, a data dir copied without
 * `keys/`): its events would go unsigned under a known key, with the same outcome. Null when the
 * actor has neither.
 */
export function readOwnSigningKey(actorDir: string, actorId: string, publicKey: string | undefined): Uint8Array | null {
  const key = readSigningKey(actorDir);
  if (!key && publicKey !== undefined) throw noSigningKey(actorDir, actorId);
  if (!key || publicKey === undefined) return key;
  const derived = publicKeyOf(key);
  if (derived !== publicKey.toLowerCase()) {
    throw new GritError('io_error', `${signingKeyPath(actorDir)} does not belong to actor ${actorId}: its public key is ${derived}, config.toml says ${publicKey.toLowerCase()}`, {
      details: { actor_id: actorId, path: signingKeyPath(actorDir), public_key: publicKey.toLowerCase(), key_public_key: derived },
      suggestion: "restore this actor's own signing.key (or the config.toml that goes with the key) from a backup, or create a new actor with `grit actor init --generate-key`",
      environment: true,
    });
  }
  return key;
}

function noSigningKey(actorDir: string, actorId: string): GritError {
  const path = signingKeyPath(actorDir);
  return new GritError('io_error', `actor ${actorId} has a public key but no ${path}: you cannot write as it`, {
    details: { actor_id: actorId, path },
    suggestion: "restore this actor's keys/signing.key from a backup, or write as your own actor (`grit actor list`; a teammate's public config is for reading their signatures)",
    environment: true,
  });
}

export type Signer = (eventId: Uint8Array) => Uint8Array;

/** The actor's signer, or null without a key; the Ed25519 code loads only when there is a key. */
export async function loadSigner(actorDir: string, actorId: string, publicKey: string | undefined): Promise<Signer | null> {
  const key = readOwnSigningKey(actorDir, actorId, publicKey);
  if (!key) return null;
  const { signEventId } = await import('./ed25519.js');
  return (id) => signEventId(id, key);
}
