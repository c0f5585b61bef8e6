import { objectError, tooLarge } from './object-errors.js';

/**
 * Git's delta format (a pack's OFS and REF deltas): `delta` applied to `base`, refused when the
 * result would be larger than `maxBytes` before any of it is built.
 */
export function applyDelta(base: Buffer, delta: Buffer, maxBytes: number): Buffer {
  let pos = 0;
  const varint = (): number => {
    let n = 0;
    let shift = 0;
    let b: number;
    do {
      b = delta[pos++];
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return n;
  };
  const srcSize = varint();
  const dstSize = varint();
  if (srcSize !== base.length) throw objectError('pack delta does not fit its base');
  if (dstSize > maxBytes) throw tooLarge(null, dstSize, maxBytes);
  const out = Buffer.allocUnsafe(dstSize);
  let o = 0;
  while (pos < delta.length) {
    const op = delta[pos++];
    if (op & 0x80) {
      let off = 0;
      let size = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) off += delta[pos++] * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) size += delta[pos++] << (8 * i);
      if (size === 0) size = 0x10000;
      if (off + size > base.length || o + size > dstSize) throw objectError('pack delta copies out of range');
      base.copy(out, o, off, off + size);
      o += size;
    } else if (op > 0) {
      if (o + op > dstSize || pos + op > delta.length) throw objectError('pack delta inserts out of range');
      delta.copy(out, o, pos, pos + op);
      pos += op;
      o += op;
    } else {
      throw objectError('pack delta has a reserved opcode');
    }
  }
  if (o !== dstSize) throw objectError('pack delta result has the wrong size');
  return out;
}
