import { blake2b } from '@noble/hashes/blake2.js';

export function blake2b256(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 });
}

export function blake2b128(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 16 });
}
