/**
 * Text in the store's keys, as bytes (tables opened with `keyEncoding: 'binary'`). lmdb's default
 * key encoding writes a string of 64 characters or more otherwise than a shorter one (raw UTF-8,
 * the characters below 5 not escaped): a range that starts at a short string misses the long keys
 * it should hold, and a long key holding NUL reads back as an array. LMDB also refuses keys over
 * 1,978 bytes, and a label or path comes from any clone through the WAL: one long enough stopped
 * every command after it. Bytes have neither problem, and text too long is keyed by its hash.
 */
import { blake2b256 } from './hash.js';
import { toHex } from './hex.js';

/** The longest text kept as itself in a key. */
const MAX_TEXT_BYTES = 1024;

/** Begins a hashed text: 0xFF never occurs in UTF-8, so no text kept as itself begins with it. */
const HASHED = Buffer.from([0xff]);

/** Where the keys of hashed texts begin in a table keyed by `textKey`: they sort after all others. */
export const HASHED_KEYS: Uint8Array = HASHED;

/**
 * A text as a key, or as a part of one, with no NUL byte in it (NUL separates parts): its UTF-8,
 * or, when that is long, empty (LMDB has no empty key) or holds a NUL, 0xFF and the hex of its
 * BLAKE2b-256.
 */
export function textKey(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 0 && bytes.length <= MAX_TEXT_BYTES && !bytes.includes(0)) return bytes;
  return Buffer.concat([HASHED, Buffer.from(toHex(blake2b256(bytes)), 'latin1')]);
}

/** The parts joined by NUL; null when one holds a NUL itself (a caller that needs its parts back skips such an entry). */
export function joinedKey(parts: readonly string[]): Buffer | null {
  return parts.some((p) => p.includes('\u0000')) ? null : Buffer.from(parts.join('\u0000'), 'utf8');
}

/** True when `key` begins with the bytes of `prefix`. */
export function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  return key.length >= prefix.length && Buffer.compare(key.subarray(0, prefix.length), prefix) === 0;
}
