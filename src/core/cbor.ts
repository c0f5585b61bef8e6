/**
 * Canonical CBOR (RFC 8949 §4.2.1) for the small value space events use: unsigned and
 * negative integers, byte strings, text strings, arrays and null. Hashes depend on these
 * exact bytes, so this does not go through a general-purpose encoder that might pick a
 * float for a large number.
 */
import { GritError } from './errors.js';
import { codeUnitName, loneSurrogate, WELL_FORMED_HINT } from './well-formed.js';

export type CborValue = number | bigint | Uint8Array | string | null | CborValue[];

const NUMBERS_HINT = 'give a whole number that fits in 64 bits';

const textEncoder = new TextEncoder();
// ignoreBOM: by default a leading U+FEFF is dropped, and an event whose text starts with one
// would re-encode to other bytes, so its id would no longer match when read back.
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

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
    // Lengths and event fields are plain numbers: BigInt only for what does not fit 32 bits.
    if (typeof value === 'number' && value <= 0xffffffff) {
      this.ensure(5);
      const b = this.buf;
      if (value < 24) b[this.len++] = m | value;
      else if (value < 0x100) {
        b[this.len++] = m | 24;
        b[this.len++] = value;
      } else if (value < 0x10000) {
        b[this.len++] = m | 25;
        b[this.len++] = value >>> 8;
        b[this.len++] = value & 0xff;
      } else {
        b[this.len++] = m | 26;
        b[this.len++] = value >>> 24;
        b[this.len++] = (value >>> 16) & 0xff;
        b[this.len++] = (value >>> 8) & 0xff;
        b[this.len++] = value & 0xff;
      }
      return;
    }
    const v = typeof value === 'bigint' ? value : BigInt(value);
    if (v < 0x100000000n) {
      this.head(major, Number(v));
    } else if (v < 0x10000000000000000n) {
      this.byte(m | 27);
      for (let s = 56n; s >= 0n; s -= 8n) this.byte(Number((v >> s) & 0xffn));
    } else throw new GritError('invalid_args', `integer ${v} does not fit in 64 bits`, { suggestion: NUMBERS_HINT });
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function write(w: Writer, v: CborValue): void {
  if (v === null) w.byte(0xf6);
  else if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      throw new GritError('invalid_args', `not an integer: ${v}`, { suggestion: NUMBERS_HINT });
    }
    if (v >= 0) w.head(0, v);
    else w.head(1, typeof v === 'number' ? -1 - v : -1n - v);
  } else if (typeof v === 'string') {
    // TextEncoder would write U+FFFD for it, and the event would say other than what the store
    // keeps: whatever way such text got past the command's argument checks, no event holds it.
    const unit = loneSurrogate(v);
    if (unit !== null) {
      throw new GritError('invalid_args', `text with a lone surrogate (${codeUnitName(unit)}) is not valid UTF-8 and cannot be written to an event`, {
        suggestion: WELL_FORMED_HINT,
      });
    }
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
    throw new GritError('invalid_args', `value of type ${typeof v} cannot be encoded`, { suggestion: 'an event holds only text, whole numbers, byte strings, arrays and null' });
  }
}

export function encodeCanonical(v: CborValue): Uint8Array {
  const w = new Writer();
  write(w, v);
  return w.result();
}

const MAX_DEPTH = 16;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** A head with an n-byte argument is in its shortest form only for values from this one up. */
const SHORTEST_BELOW: Record<number, number> = { 1: 24, 2: 0x100, 4: 0x10000, 8: 0x100000000 };

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
 * Decodes the restricted value space, refusing anything else (maps, tags, floats, indefinite
 * lengths, lengths that run past the input). Lengths are checked against the bytes that remain
 * before anything is allocated, so a hostile "100 MB string" costs nothing, and the heap the
 * result takes is bounded by DECODE_BUDGET_RATIO times the input.
 */
class StrictDecoder {
  private readonly view: DataView;
  pos = 0;
  private budget: number;
  /** False once a head was not in its shortest form (the only non-canonical encoding accepted here). */
  canonical = true;

  constructor(
    private readonly input: Uint8Array,
    private readonly views = false,
  ) {
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
    this.budget = DECODE_BUDGET_RATIO * input.length + DECODE_BUDGET_BASE;
  }

  fail(msg: string): never {
    throw new GritError('wal_error', `malformed CBOR at byte ${this.pos}: ${msg}`);
  }

  spend(cost: number): void {
    this.budget -= cost;
    if (this.budget < 0) this.fail(`decoding would take more than ${DECODE_BUDGET_RATIO}x the input in memory`);
  }

  /**
   * The argument of a head. An unsigned integer (`big`) above 2^53 - 1 comes back as a bigint: SPEC
   * §1 types `ts_unix_ms` as u64, and a timestamp of another writer's must read back whole, for
   * its id to verify (docs/wal.md, "Integers"). Lengths and negative integers never need one: a
   * length that large runs past any input, and no field of an event is negative.
   */
  private readArg(info: number): number;
  private readArg(info: number, big: true): number | bigint;
  private readArg(info: number, big = false): number | bigint {
    if (info < 24) return info;
    const n = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (n === 0) return this.fail(`unsupported additional info ${info}`);
    if (this.pos + n > this.input.length) return this.fail('truncated');
    let v: number | bigint;
    if (n === 1) v = this.input[this.pos];
    else if (n === 2) v = this.view.getUint16(this.pos);
    else if (n === 4) v = this.view.getUint32(this.pos);
    else {
      v = this.view.getBigUint64(this.pos);
      if (v <= MAX_SAFE) v = Number(v);
      else if (!big) return this.fail('integer too large');
    }
    this.pos += n;
    if (v < SHORTEST_BELOW[n]) this.canonical = false;
    return v;
  }

  /** The length of the array that starts here (its head only). */
  arrayHead(): number {
    if (this.pos >= this.input.length) return this.fail('truncated');
    const initial = this.input[this.pos++];
    if (initial >> 5 !== 4) return this.fail('expected an array');
    const n = this.readArg(initial & 0x1f);
    // Every element takes at least one byte, which bounds the allocation.
    if (n > this.input.length - this.pos) return this.fail('array length runs past the end');
    this.spend(COST.array + COST.slot * n);
    return n;
  }

  item(depth: number): CborValue {
    if (depth > MAX_DEPTH) return this.fail('nesting too deep');
    const input = this.input;
    if (this.pos >= input.length) return this.fail('truncated');
    const initial = input[this.pos++];
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return this.readArg(info, true);
      case 1:
        return -1 - this.readArg(info);
      case 2:
      case 3: {
        const n = this.readArg(info);
        if (n > input.length - this.pos) return this.fail('length runs past the end');
        this.spend((major === 2 ? COST.bytes : COST.text) + n);
        const start = this.pos;
        this.pos += n;
        // A copy, never a view, unless the caller keeps the input alive anyway (decodeStrictArray).
        // On a Buffer input `.slice()` would share memory with it.
        if (major === 2) return this.views ? input.subarray(start, this.pos) : input.slice(start, this.pos);
        try {
          return textDecoder.decode(input.subarray(start, this.pos));
        } catch {
          return this.fail('invalid UTF-8');
        }
      }
      case 4: {
        this.pos--;
        const n = this.arrayHead();
        const out: CborValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.item(depth + 1);
        return out;
      }
      case 7:
        if (info === 22) return null;
        return this.fail('only null is allowed among simple values');
      default:
        return this.fail(`major type ${major} is not allowed`);
    }
  }

  /** Moves past the item here, checked as `item` checks it (but for UTF-8), building nothing. */
  skip(depth: number): void {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    if (this.pos >= this.input.length) this.fail('truncated');
    const initial = this.input[this.pos];
    const major = initial >> 5;
    if (major === 4) {
      for (let n = this.arrayHead(); n > 0; n--) this.skip(depth + 1);
    } else if (major === 7) {
      if (this.input[this.pos++] !== 0xf6) this.fail('only null is allowed among simple values');
    } else if (major === 0) {
      this.pos++;
      this.readArg(initial & 0x1f, true);
    } else if (major <= 3) {
      this.pos++;
      const n = this.readArg(initial & 0x1f);
      if (major < 2) return;
      if (n > this.input.length - this.pos) this.fail('length runs past the end');
      this.pos += n;
    } else {
      this.fail(`major type ${major} is not allowed`);
    }
  }

  end(): void {
    if (this.pos !== this.input.length) this.fail('trailing bytes');
  }
}

export function decodeStrict(input: Uint8Array): CborValue {
  const d = new StrictDecoder(input);
  const value = d.item(0);
  d.end();
  return value;
}

/**
 * Decodes an input that must be one array, and gives each element's own encoded bytes with it
 * (views into `input`): a chunk's event records, stored as read instead of encoded again.
 * `canonical` says whether those bytes are the canonical encoding of what they decode to: text is
 * strict UTF-8 and nothing else has a second form here, so that is true unless a head was longer
 * than it had to be.
 */
export function decodeStrictArray(input: Uint8Array): { items: CborValue[]; encoded: Uint8Array[]; canonical: boolean } {
  // Byte strings as views: the element views keep `input` alive anyway, and a copy would give
  // each id its own ArrayBuffer, which costs the garbage collector far more than a view.
  const d = new StrictDecoder(input, true);
  const n = d.arrayHead();
  // The views cost heap too, like byte strings: the same budget bounds them.
  d.spend(COST.slot * n);
  const items: CborValue[] = new Array(n);
  const encoded: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const start = d.pos;
    items[i] = d.item(1);
    d.spend(COST.bytes);
    encoded[i] = input.subarray(start, d.pos);
  }
  d.end();
  return { items, encoded, canonical: d.canonical };
}

/**
 * Where the elements of an input that must be one array of arrays (a chunk's records) start and
 * end, and where each one's last item starts: checked as `decodeStrictArray` checks (but for
 * UTF-8, which decoding checks) without building anything. `canonical` as there.
 */
export function scanArrayOfArrays(input: Uint8Array): { starts: number[]; lasts: number[]; ends: number[]; canonical: boolean } {
  const d = new StrictDecoder(input, true);
  const starts: number[] = [];
  const lasts: number[] = [];
  const ends: number[] = [];
  for (let n = d.arrayHead(); n > 0; n--) {
    starts.push(d.pos);
    let last = d.pos;
    for (let m = d.arrayHead(); m > 0; m--) {
      last = d.pos;
      d.skip(2);
    }
    lasts.push(last);
    ends.push(d.pos);
  }
  d.end();
  return { starts, lasts, ends, canonical: d.canonical };
}
