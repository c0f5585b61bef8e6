/** Ed25519 signing of raw 32-byte event ids (SPEC §1), with @noble/ed25519; signatures are checked with node:crypto (integrity.ts). */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateKeyPair(): KeyPair {
  const secretKey = ed.utils.randomSecretKey();
  return { secretKey, publicKey: ed.getPublicKey(secretKey) };
}

export function signEventId(eventId: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed.sign(eventId, secretKey);
}
