/**
 * Ed25519 signatures over raw 32-byte event ids (SPEC §1). Keys live in the actor directory:
 * `keys/signing.key` (hex secret, mode 0600) and `public_key` in the actor's config.toml.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GritError } from './errors.js';
import { fromHex, toHex } from './hex.js';

export function signingKeyPath(actorDir: string): string {
  return join(actorDir, 'keys', 'signing.key');
}

export function writeSigningKey(actorDir: string, secretKey: Uint8Array): void {
  const dir = join(actorDir, 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = signingKeyPath(actorDir);
  writeFileSync(path, toHex(secretKey) + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The actor's secret key, or null when it has none. */
export function readSigningKey(actorDir: string): Uint8Array | null {
  let text: string;
  try {
    text = readFileSync(signingKeyPath(actorDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const key = fromHex(text.trim(), 32);
  if (!key) {
    throw new GritError('io_error', `${signingKeyPath(actorDir)} is not a 32-byte hex key`, {
      suggestion: 'restore the key from a backup, or create a new actor with `grit actor init --generate-key`',
      environment: true,
    });
  }
  return key;
}

export type Signer = (eventId: Uint8Array) => Uint8Array;

/** The actor's signer, or null without a key; the Ed25519 code loads only when there is a key. */
export async function loadSigner(actorDir: string): Promise<Signer | null> {
  const key = readSigningKey(actorDir);
  if (!key) return null;
  const { signEventId } = await import('./ed25519.js');
  return (id) => signEventId(id, key);
}
