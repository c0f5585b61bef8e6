/**
 * Canonical CBOR (RFC 8949 §4.2.1) for the small value space events use: unsigned and
 * negative integers, byte strings, text strings, arrays and null. Hashes depend on these
 * exact bytes, so this does not go through a general-purpose encoder that might pick a
 * float for a large number.
 */
import { GritError } from './errors.js';

export type CborValue = number | bigint | Uint8Array | string | null | CborValue[];

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  head(major: number, value: number | bigint): void {
    const m = major << 5;
    const v = typeof value === 'bigint' ? value : BigInt(value);
    if (v < 24n) this.byte(m | Number(v));
    else if (v < 0x100n) {
      this.byte(m | 24);
      this.byte(Number(v));
    } else if (v < 0x10000n) {
      this.byte(m | 25);
      this.byte(Number(v >> 8n));
      this.byte(Number(v & 0xffn));
    } else if (v < 0x100000000n) {
      this.byte(m | 26);
      for (let s = 24n; s >= 0n; s -= 8n) this.byte(Number((v >> s) & 0xffn));
    } else if (v < 0x10000000000000000n) {
      this.byte(m | 27);
      for (let s = 56n; s >= 0n; s -= 8n) this.byte(Number((v >> s) & 0xffn));
    } else throw new GritError('invalid_args', `integer ${v} does not fit in 64 bits`);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function write(w: Writer, v: CborValue): void {
  if (v === null) w.byte(0xf6);
  else if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      throw new GritError('invalid_args', `not an integer: ${v}`);
    }
    const b = BigInt(v);
    if (b >= 0n) w.head(0, b);
    else w.head(1, -1n - b);
  } else if (typeof v === 'string') {
    const enc = textEncoder.encode(v);
    w.head(3, enc.length);
    w.bytes(enc);
  } else if (v instanceof Uint8Array) {
    w.head(2, v.length);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    w.head(4, v.length);
    for (const item of v) write(w, item);
  } else {
    throw new GritError('invalid_args', `value of type ${typeof v} cannot be encoded`);
  }
}

export function encodeCanonical(v: CborValue): Uint8Array {
  const w = new Writer();
  write(w, v);
  return w.result();
}

const MAX_DEPTH = 16;

/**
 * Rough heap cost of decoded values, in bytes: a byte string is its own Uint8Array and
 * ArrayBuffer (~200 bytes before its content), an array ~48 plus a slot per element. Measured on
 * Node 20; what matters is the ratio to the input (see DECODE_BUDGET_RATIO).
 */
const COST = { bytes: 200, array: 48, slot: 8, text: 24 } as const;
/**
 * Decoding may cost at most this many heap bytes per input byte (plus a fixed allowance). A real
 * event record costs 4-12x its encoded size; a hostile input of one-byte items (say 4 MB of empty
 * byte strings, which would take 800 MB) is refused as soon as it crosses the budget, so memory
 * stays proportional to the input. See docs/reliability.md.
 */
export const DECODE_BUDGET_RATIO = 16;
const DECODE_BUDGET_BASE = 1 << 20;

/**
 * Decodes the same restricted value space, refusing anything else (maps, tags, floats,
 * indefinite lengths, lengths that run past the input). Lengths are checked against the
 * bytes that remain before anything is allocated, so a hostile "100 MB string" costs nothing,
 * and the heap the result takes is bounded by DECODE_BUDGET_RATIO times the input.
 */
export function decodeStrict(input: Uint8Array): CborValue {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let pos = 0;
  let budget = DECODE_BUDGET_RATIO * input.length + DECODE_BUDGET_BASE;
  const fail = (msg: string): never => {
    throw new GritError('wal_error', `malformed CBOR at byte ${pos}: ${msg}`);
  };
  const spend = (cost: number): void => {
    budget -= cost;
    if (budget < 0) fail(`decoding would take more than ${DECODE_BUDGET_RATIO}x the input in memory`);
  };

  const readArg = (info: number): number => {
    if (info < 24) return info;
    const sizes: Record<number, number> = { 24: 1, 25: 2, 26: 4, 27: 8 };
    const n = sizes[info];
    if (n === undefined) return fail(`unsupported additional info ${info}`);
    if (pos + n > input.length) return fail('truncated');
    let v: number;
    if (n === 1) v = view.getUint8(pos);
    else if (n === 2) v = view.getUint16(pos);
    else if (n === 4) v = view.getUint32(pos);
    else {
      const big = view.getBigUint64(pos);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return fail('integer too large');
      v = Number(big);
    }
    pos += n;
    return v;
  };

  const item = (depth: number): CborValue => {
    if (depth > MAX_DEPTH) return fail('nesting too deep');
    if (pos >= input.length) return fail('truncated');
    const initial = input[pos++];
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return readArg(info);
      case 1:
        return -1 - readArg(info);
      case 2:
      case 3: {
        const n = readArg(info);
        if (n > input.length - pos) return fail('length runs past the end');
        spend((major === 2 ? COST.bytes : COST.text) + n);
        const slice = input.subarray(pos, pos + n);
        pos += n;
        if (major === 2) {
          // A copy, never a view: on a Buffer input `.slice()` would share memory with it.
          const bytes = new Uint8Array(n);
          bytes.set(slice);
          return bytes;
        }
        try {
          return textDecoder.decode(slice);
        } catch {
          return fail('invalid UTF-8');
        }
      }
      case 4: {
        const n = readArg(info);
        // Every element takes at least one byte, which bounds the allocation.
        if (n > input.length - pos) return fail('array length runs past the end');
        spend(COST.array + COST.slot * n);
        const out: CborValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = item(depth + 1);
        return out;
      }
      case 7:
        if (info === 22) return null;
        return fail('only null is allowed among simple values');
      default:
        return fail(`major type ${major} is not allowed`);
    }
  };

  const value = item(0);
  if (pos !== input.length) fail('trailing bytes');
  return value;
}
