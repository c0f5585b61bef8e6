/**
 * Random bytes for ids and temporary names, served from a pooled buffer: one call into the system's
 * CSPRNG per 4 KiB instead of one per id. Each call costs about 5 µs, which a daemon's group
 * commit paid for every issue it created and every pack it wrote.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;

/** `n` (at most 4 KiB) fresh random bytes, copied out of the pool. */
export function randomBytes(n: number): Buffer {
  if (used + n > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const out = Buffer.from(pool.subarray(used, used + n));
  used += n;
  return out;
}
