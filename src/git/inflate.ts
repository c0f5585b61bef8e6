/**
 * A zlib stream decoder (RFC 1950 and 1951) for small git objects of known size.
 *
 * A WAL commit is eight objects of a few hundred bytes (a chunk a few KiB). node's `inflateSync`
 * builds a stream, a zlib state and a dozen JavaScript objects per call: for such objects that
 * set-up costs more than the inflating, and made about half of the garbage of a WAL walk
 * (docs/performance.md). This decoder writes into a buffer the caller sized from the pack entry's
 * header and allocates nothing else: its Huffman tables are module-level and reused.
 *
 * It is strict and never the last word: a stream that is malformed or truncated, that would
 * write more or fewer bytes than declared, or whose Adler-32 does not match makes it return false,
 * and the caller hands the object to zlib, whose verdict (and error message) stands. So it only
 * ever accepts what zlib accepts, with the same result; test/git/inflate.test.ts checks it
 * against zlib.
 */

const MAX_BITS = 15;
/** Codes up to this length are decoded with one table look-up; longer ones bit by bit. */
const FAST_BITS = 9;
const LIT_SYMBOLS = 288;
const DIST_SYMBOLS = 30;
/** RFC 1951 §3.2.5: base and extra bits of length symbols 257..285 and distance symbols 0..29. */
const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** The order in which a dynamic block lists the code lengths of the code-length alphabet. */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A canonical Huffman code: how many codes of each length, the symbols ordered by code, and a
 * table indexed by the next `fastBits` input bits giving `symbol << 4 | length` (0: a longer
 * code). `fastBits` is the longest code's length up to FAST_BITS: the small objects this is for
 * have short codes, and filling a table costs more than inflating them.
 */
interface Huffman {
  count: Uint16Array;
  symbol: Uint16Array;
  fast: Uint16Array;
  fastBits: number;
}

const huffman = (symbols: number): Huffman => ({
  count: new Uint16Array(MAX_BITS + 1),
  symbol: new Uint16Array(symbols),
  fast: new Uint16Array(1 << FAST_BITS),
  fastBits: 0,
});

/** FAST_BITS-bit values with their bits reversed: deflate sends Huffman codes first bit first. */
const REVERSED = new Uint16Array(1 << FAST_BITS);
for (let i = 1; i < REVERSED.length; i++) REVERSED[i] = (REVERSED[i >> 1] >> 1) | ((i & 1) << (FAST_BITS - 1));

const nextCode = new Uint16Array(MAX_BITS + 1);
const offsets = new Uint16Array(MAX_BITS + 2);

/**
 * Builds `h` from the code lengths `lengths[from .. from + n)`. Returns 0 for a complete code,
 * more for an incomplete one, less for an over-subscribed one (as zlib's puff does).
 */
function build(h: Huffman, lengths: Uint8Array, from: number, n: number): number {
  const { count, symbol, fast } = h;
  count.fill(0);
  // Unused symbols come in long runs; counting them one by one would make each increment wait
  // for the previous one (the same counter), so they are counted as what is left.
  let used = 0;
  for (let s = from; s < from + n; s++) {
    const len = lengths[s];
    if (len !== 0) {
      count[len]++;
      used++;
    }
  }
  count[0] = n - used;
  let longest = MAX_BITS;
  while (longest > 0 && count[longest] === 0) longest--;
  const bits = (h.fastBits = Math.min(longest, FAST_BITS));
  const size = 1 << bits;
  fast.fill(0, 0, size);
  if (longest === 0) return 0; // no codes: complete, and anything decoded with it fails
  let left = 1;
  for (let len = 1; len <= MAX_BITS; len++) {
    left = (left << 1) - count[len];
    if (left < 0) return left;
  }
  // Canonical codes are consecutive within a length, in symbol order (RFC 1951 §3.2.2).
  for (let len = 1, code = 0; len <= MAX_BITS; len++) {
    nextCode[len] = code;
    code = (code + count[len]) << 1;
  }
  for (let s = 0; s < n; s++) {
    const len = lengths[from + s];
    if (len === 0 || len > bits) continue;
    const entry = (s << 4) | len;
    for (let i = REVERSED[nextCode[len]++ << (FAST_BITS - len)]; i < size; i += 1 << len) fast[i] = entry;
  }
  if (longest > FAST_BITS) {
    // Codes too long for the table: `decode` walks them in code order.
    offsets[1] = 0;
    for (let len = 1; len < MAX_BITS; len++) offsets[len + 1] = offsets[len] + count[len];
    for (let s = 0; s < n; s++) if (lengths[from + s]) symbol[offsets[lengths[from + s]]++] = s;
  }
  return left;
}

const FIXED_LIT = huffman(LIT_SYMBOLS);
const FIXED_DIST = huffman(DIST_SYMBOLS);
const LIT = huffman(LIT_SYMBOLS);
const DIST = huffman(DIST_SYMBOLS);
const CODE_LENGTHS = huffman(19);
const lengths = new Uint8Array(LIT_SYMBOLS + DIST_SYMBOLS);
let fixedBuilt = false;

/** Builds the fixed codes (RFC 1951 §3.2.6) on first use, not at start-up: most commands inflate nothing. */
function buildFixed(): void {
  lengths.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, LIT_SYMBOLS);
  build(FIXED_LIT, lengths, 0, LIT_SYMBOLS);
  lengths.fill(5, 0, DIST_SYMBOLS);
  build(FIXED_DIST, lengths, 0, DIST_SYMBOLS); // incomplete: codes 30 and 31 are invalid
  fixedBuilt = true;
}

/** Thrown inside the decoder for any flaw; `inflateInto` turns it into `false`. */
const BAD = Symbol('bad zlib stream');

// The decoder's state: one stream at a time (reads are synchronous).
const NOTHING: Uint8Array = new Uint8Array(0);
let input = NOTHING;
let inPos = 0;
let bitBuf = 0;
let bitCnt = 0;

function nextByte(): number {
  if (inPos < input.length) return input[inPos++];
  // Past the end: zeros, so a code can be peeked at near the end; a stream that really used
  // them is refused at its end (and this bound stops one that keeps on reading).
  if (++inPos > input.length + 4) throw BAD;
  return 0;
}

/** The next `n` (≤ 16) bits. */
function bits(n: number): number {
  while (bitCnt < n) {
    bitBuf |= nextByte() << bitCnt;
    bitCnt += 8;
  }
  const v = bitBuf & ((1 << n) - 1);
  bitBuf >>>= n;
  bitCnt -= n;
  return v;
}

function decode(h: Huffman): number {
  while (bitCnt < h.fastBits) {
    bitBuf |= nextByte() << bitCnt;
    bitCnt += 8;
  }
  const entry = h.fast[bitBuf & ((1 << h.fastBits) - 1)];
  if (entry !== 0) {
    const len = entry & 15;
    bitBuf >>>= len;
    bitCnt -= len;
    return entry >> 4;
  }
  // A code longer than FAST_BITS: walk the lengths bit by bit (puff's decode).
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    code |= bits(1);
    const count = h.count[len];
    if (code - count < first) return h.symbol[index + (code - first)];
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  throw BAD;
}

/** A stored block into `out` at `o`; returns the new output position. */
function stored(out: Uint8Array, o: number): number {
  inPos -= bitCnt >> 3; // whole bytes read ahead go back; the rest of the current byte is padding
  bitBuf = 0;
  bitCnt = 0;
  if (inPos + 4 > input.length) throw BAD;
  const len = input[inPos] | (input[inPos + 1] << 8);
  if ((input[inPos + 2] | (input[inPos + 3] << 8)) !== (~len & 0xffff)) throw BAD;
  inPos += 4;
  if (inPos + len > input.length || o + len > out.length) throw BAD;
  out.set(input.subarray(inPos, inPos + len), o);
  inPos += len;
  return o + len;
}

/** Reads a dynamic block's code lengths into LIT and DIST. */
function dynamic(): void {
  const nlen = bits(5) + 257;
  const ndist = bits(5) + 1;
  const ncode = bits(4) + 4;
  if (nlen > 286 || ndist > DIST_SYMBOLS) throw BAD;
  lengths.fill(0, 0, 19);
  for (let i = 0; i < ncode; i++) lengths[CL_ORDER[i]] = bits(3);
  if (build(CODE_LENGTHS, lengths, 0, 19) !== 0) throw BAD;
  for (let i = 0; i < nlen + ndist; ) {
    const sym = decode(CODE_LENGTHS);
    if (sym < 16) {
      lengths[i++] = sym;
      continue;
    }
    let len = 0;
    let repeat: number;
    if (sym === 16) {
      if (i === 0) throw BAD;
      len = lengths[i - 1];
      repeat = 3 + bits(2);
    } else {
      repeat = sym === 17 ? 3 + bits(3) : 11 + bits(7);
    }
    if (i + repeat > nlen + ndist) throw BAD;
    lengths.fill(len, i, i + repeat);
    i += repeat;
  }
  if (lengths[256] === 0) throw BAD; // no end-of-block code
  // An incomplete code is allowed only when it is a single one-bit code (as zlib allows).
  const lit = build(LIT, lengths, 0, nlen);
  if (lit < 0 || (lit > 0 && nlen !== LIT.count[0] + LIT.count[1])) throw BAD;
  const dist = build(DIST, lengths, nlen, ndist);
  if (dist < 0 || (dist > 0 && ndist !== DIST.count[0] + DIST.count[1])) throw BAD;
}

/** Copies `len` bytes from `back` bytes back; returns the new output position. */
function copyMatch(out: Uint8Array, start: number, o: number, len: number, back: number): number {
  if (back > o - start || o + len > out.length) throw BAD;
  // Byte by byte when short (cheaper than a call) or overlapping what it writes (a run).
  if (len >= 32 && back >= len) {
    out.copyWithin(o, o - back, o - back + len);
    return o + len;
  }
  for (let from = o - back, stop = o + len; o < stop; ) out[o++] = out[from++];
  return o;
}

/** The distance of a match of `len` bytes, decoded the careful way, and the copy; returns the new output position. */
function match(out: Uint8Array, start: number, o: number, len: number, dist: Huffman): number {
  const dsym = decode(dist);
  if (dsym >= DIST_SYMBOLS) throw BAD;
  return copyMatch(out, start, o, len, DIST_BASE[dsym] + bits(DIST_EXTRA[dsym]));
}

/** One symbol of a Huffman-coded block, the careful way; returns the new output position, or -1 at the block's end. */
function oneSymbol(out: Uint8Array, start: number, o: number, lit: Huffman, dist: Huffman): number {
  let sym = decode(lit);
  if (sym < 256) {
    if (o >= out.length) throw BAD;
    out[o] = sym;
    return o + 1;
  }
  if (sym === 256) return -1;
  sym -= 257;
  if (sym >= 29) throw BAD;
  return match(out, start, o, LEN_BASE[sym] + bits(LEN_EXTRA[sym]), dist);
}

/**
 * A Huffman-coded block into `out` from `o` (the stream's output starts at `start`). Symbols
 * whose codes are in the fast tables are decoded with the bit buffer in local variables while
 * enough input is left; the others, and the last few bytes, go through `oneSymbol`.
 */
function codes(out: Uint8Array, start: number, o: number, lit: Huffman, dist: Huffman): number {
  const litFast = lit.fast;
  const litMask = (1 << lit.fastBits) - 1;
  const distFast = dist.fast;
  const distMask = (1 << dist.fastBits) - 1;
  const src = input;
  for (;;) {
    let buf = bitBuf;
    let cnt = bitCnt;
    let pos = inPos;
    // Each pass takes at most two refills of 4 bytes; 25+ bits cover a code and its extra bits.
    while (pos + 8 <= src.length) {
      for (; cnt <= 24; cnt += 8) buf |= src[pos++] << cnt;
      let entry = litFast[buf & litMask];
      if (entry === 0) break; // a longer code
      buf >>>= entry & 15;
      cnt -= entry & 15;
      let sym = entry >> 4;
      if (sym < 256) {
        if (o >= out.length) throw BAD;
        out[o++] = sym;
        continue;
      }
      if (sym === 256) {
        bitBuf = buf;
        bitCnt = cnt;
        inPos = pos;
        return o;
      }
      sym -= 257;
      if (sym >= 29) throw BAD;
      const len = LEN_BASE[sym] + (buf & ((1 << LEN_EXTRA[sym]) - 1));
      buf >>>= LEN_EXTRA[sym];
      cnt -= LEN_EXTRA[sym];
      for (; cnt <= 24; cnt += 8) buf |= src[pos++] << cnt;
      entry = distFast[buf & distMask];
      if (entry === 0) {
        // A longer distance code.
        bitBuf = buf;
        bitCnt = cnt;
        inPos = pos;
        o = match(out, start, o, len, dist);
        buf = bitBuf;
        cnt = bitCnt;
        pos = inPos;
        continue;
      }
      buf >>>= entry & 15;
      cnt -= entry & 15;
      const dsym = entry >> 4;
      if (dsym >= DIST_SYMBOLS) throw BAD;
      const back = DIST_BASE[dsym] + (buf & ((1 << DIST_EXTRA[dsym]) - 1));
      buf >>>= DIST_EXTRA[dsym];
      cnt -= DIST_EXTRA[dsym];
      o = copyMatch(out, start, o, len, back);
    }
    bitBuf = buf;
    bitCnt = cnt;
    inPos = pos;
    const next = oneSymbol(out, start, o, lit, dist);
    if (next < 0) return o;
    o = next;
  }
}

function adler32(buf: Uint8Array, from: number, to: number): number {
  let a = 1;
  let b = 0;
  for (let i = from; i < to; ) {
    // Reduced every 2 KiB, the sums stay small integers (zlib waits 5552 bytes: 32 bits unsigned).
    for (const stop = Math.min(to, i + 2048); i < stop; i++) {
      a += buf[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return b * 65536 + a;
}

/**
 * Inflates the zlib stream at the start of `stream` (bytes after it are ignored) into
 * `out[start ..]`, which it must fill exactly. Returns false, with `out` in any state, when the
 * stream is malformed, truncated, of another size or fails its checksum.
 */
export function inflateInto(stream: Uint8Array, out: Uint8Array, start: number): boolean {
  if (stream.length < 2) return false;
  const cmf = stream[0];
  const flg = stream[1];
  // Deflate, a window of at most 32 KiB, a valid check, no preset dictionary.
  if ((cmf & 15) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0 || flg & 0x20) return false;
  input = stream;
  inPos = 2;
  bitBuf = 0;
  bitCnt = 0;
  try {
    let o = start;
    let last: number;
    do {
      last = bits(1);
      const type = bits(2);
      if (type === 0) o = stored(out, o);
      else if (type === 1) {
        if (!fixedBuilt) buildFixed();
        o = codes(out, start, o, FIXED_LIT, FIXED_DIST);
      }
      else if (type === 2) {
        dynamic();
        o = codes(out, start, o, LIT, DIST);
      } else throw BAD;
    } while (!last);
    inPos -= bitCnt >> 3;
    if (o !== out.length || inPos + 4 > stream.length) return false;
    const sum = ((stream[inPos] << 24) | (stream[inPos + 1] << 16) | (stream[inPos + 2] << 8) | stream[inPos + 3]) >>> 0;
    return sum === adler32(out, start, o);
  } catch (err) {
    if (err === BAD) return false;
    throw err;
  } finally {
    input = NOTHING; // not kept alive by the module
  }
}
