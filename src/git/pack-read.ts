/**
 * A pack file read through its index: `.idx` v1 or v2, positional reads of the `.pack` through a
 * few cached windows (never loaded whole: a repository's main pack can be gigabytes). How its
 * entries are inflated and their deltas resolved is the object store's (objects.ts), which
 * caches delta bases across packs.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ObjectType } from './object-encoding.js';
import { objectError } from './object-errors.js';

export const PACK_TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
export const OFS_DELTA = 6;
export const REF_DELTA = 7;
/**
 * Packs with this many objects get a two-byte fan-out table (256 KiB) once they have served this
 * many look-ups: building it (~20 ms cold for 320k objects) pays off only over a long walk.
 */
const FANOUT16_OBJECTS = 1 << 14;
const FANOUT16_AFTER_LOOKUPS = 4096;
/**
 * A pack index larger than this is searched with small reads until its pack has served
 * `INDEX_WHOLE_AFTER_LOOKUPS` look-ups, and only then read whole. The WAL's own packs are small;
 * a large index is usually a code repository's, in which grit looks up a few objects or none, and
 * reading it whole each time grit caught up (a 42 MB index: +135 ms a command) cost more than
 * everything else the command did (docs/performance.md, "Large repositories").
 */
const WHOLE_INDEX_BYTES = 1 << 20;
const INDEX_WHOLE_AFTER_LOOKUPS = 64;
export const WINDOW = 64 << 10;
const WINDOWS = 16;

/** A pack entry as stored: see Pack.storedEntries. */
export interface StoredEntry {
  oid: string;
  /** Null in a version 1 index, which keeps none: the entry is then rewritten, not copied. */
  crc: number | null;
  bytes: Buffer | null;
}

export interface LocalPack {
  name: string;
  count: number;
  /** The size of its .pack file. */
  bytes: number;
  keep: boolean;
  storedEntries(): StoredEntry[];
}

/** Fills `buf` from `fd` (the file at `path`) at `position`; throws when the file ends first. */
function preadFully(fd: number, buf: Buffer, position: number, path: string): void {
  for (let got = 0; got < buf.length; ) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) throw objectError(`${path} is truncated`);
    got += n;
  }
}

/** A window of a pack (`Pack.read`): its memory, and the bytes read into it. */
interface Window {
  memory: Buffer;
  bytes: Buffer;
}

/**
 * A `.idx` and its `.pack`, opened lazily; the index is read whole only when it pays (`find`).
 * Version 2 (git's default): a header, the fan-out, then ids, CRC-32s and offsets in tables of
 * their own. Version 1 (`pack.indexVersion=1`, which git still writes on request and always
 * reads): the fan-out, then entries of a 4-byte offset and the id, no CRCs, no large offsets.
 */
export class Pack {
  private fd: number | null = null;
  private readonly windows = new Map<number, Window>();
  private lastWindow = -1;
  private lastWin: Buffer | null = null;
  private readonly fanout: Uint32Array;
  readonly count: number;
  private readonly oidsAt: number;
  private readonly offsetsAt: number;
  /** Bytes from one id (and one offset) to the next: 20 and 4 in version 2, 24 for both in version 1. */
  private readonly oidStride: number;
  private readonly offsetStride: number;
  private readonly crcsAt: number | null;
  private readonly largeAt: number;
  readonly size: number;
  private readonly idxPath: string;
  private readonly idxSize: number;
  /** The whole index, once read (`index`). */
  private whole: Buffer | null = null;
  /**
   * A large index's file, open from the scan until it is read whole: a pack rolled up by another
   * process after the scan is still searched as it was (its objects are then in the merged pack,
   * which the next scan finds), as a small index, read whole at the scan, is.
   */
  private idxFd: number | null;
  private readonly entry = Buffer.alloc(20);

  /** Opens `packPath`'s index, reading its header and fan-out table (a small index whole); throws ENOENT when it is gone. */
  constructor(
    readonly packPath: string,
    packSize: number,
  ) {
    this.idxPath = `${packPath.slice(0, -'.pack'.length)}.idx`;
    const fd = (this.idxFd = openSync(this.idxPath, 'r'));
    let idxSize: number;
    const head = Buffer.alloc(8 + 256 * 4);
    try {
      idxSize = fstatSync(fd).size;
      preadFully(fd, head, 0, this.idxPath);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    // Version 1 has no header: its first fan-out count can never be the magic number.
    const v2 = head.readUInt32BE(0) === 0xff744f63;
    if (v2 && head.readUInt32BE(4) !== 2) {
      closeSync(fd);
      throw objectError(`unsupported pack index ${this.idxPath} (version ${head.readUInt32BE(4)}; versions 1 and 2 are read)`);
    }
    const fanoutAt = v2 ? 8 : 0;
    this.fanout = new Uint32Array(256);
    for (let i = 0; i < 256; i++) this.fanout[i] = head.readUInt32BE(fanoutAt + i * 4);
    this.count = this.fanout[255];
    const tablesAt = fanoutAt + 256 * 4;
    if (v2) {
      [this.oidsAt, this.oidStride, this.offsetStride] = [tablesAt, 20, 4];
      this.crcsAt = tablesAt + this.count * 20;
      this.offsetsAt = this.crcsAt + this.count * 4;
      this.largeAt = this.offsetsAt + this.count * 4;
    } else {
      [this.oidsAt, this.oidStride, this.offsetStride] = [tablesAt + 4, 24, 24];
      this.crcsAt = null;
      this.offsetsAt = tablesAt;
      this.largeAt = tablesAt + this.count * 24;
    }
    // The tables and the two trailing checksums at least (large offsets may follow in version 2).
    if (idxSize < this.largeAt + 40) {
      closeSync(fd);
      throw objectError(`pack index ${this.idxPath} is truncated`);
    }
    this.idxSize = idxSize;
    this.size = packSize;
    if (idxSize <= WHOLE_INDEX_BYTES) this.index();
  }

  /** The whole index (read on first use). */
  private index(): Buffer {
    if (this.whole) return this.whole;
    const fd = (this.idxFd ??= openSync(this.idxPath, 'r')); // reopened only after `close`
    const whole = Buffer.allocUnsafe(this.idxSize);
    try {
      preadFully(fd, whole, 0, this.idxPath);
    } finally {
      closeSync(fd);
      this.idxFd = null;
    }
    return (this.whole = whole);
  }

  /** `length` (≤ 20) bytes of the index at `at`: from the whole index when read, else by a read of the file. */
  private idxBytes(at: number, length: number): Buffer {
    if (this.whole) return this.whole.subarray(at, at + length);
    this.idxFd ??= openSync(this.idxPath, 'r'); // reopened only after `close`
    const got = this.entry.subarray(0, length);
    preadFully(this.idxFd, got, at, this.idxPath);
    return got;
  }

  /**
   * Every entry as stored (header and compressed data), in pack order, with the CRC-32 the index
   * keeps for it: what a repack copies without inflating and deflating again. `bytes` is null for
   * a delta, whose base offset would not survive the copy.
   */
  storedEntries(): StoredEntry[] {
    const idx = this.index();
    const crcsAt = this.crcsAt;
    const at: { index: number; offset: number }[] = [];
    for (let i = 0; i < this.count; i++) at.push({ index: i, offset: this.offsetAt(i) });
    at.sort((a, b) => a.offset - b.offset);
    return at.map(({ index, offset }, i) => {
      const end = i + 1 < at.length ? at[i + 1].offset : this.size - 20;
      const bytes = this.readOwn(offset, end - offset);
      const typeNum = (bytes[0] >> 4) & 7;
      return {
        oid: idx.toString('hex', this.oidsAt + index * this.oidStride, this.oidsAt + index * this.oidStride + 20),
        crc: crcsAt === null ? null : idx.readUInt32BE(crcsAt + index * 4),
        bytes: typeNum === OFS_DELTA || typeNum === REF_DELTA || bytes.length !== end - offset ? null : bytes,
      };
    });
  }

  private offsetAt(index: number): number {
    const whole = this.whole;
    let off: number;
    if (whole) {
      const at = this.offsetsAt + index * this.offsetStride;
      off = ((whole[at] << 24) | (whole[at + 1] << 16) | (whole[at + 2] << 8) | whole[at + 3]) >>> 0;
    } else {
      off = this.idxBytes(this.offsetsAt + index * this.offsetStride, 4).readUInt32BE(0);
    }
    // Version 1 has no large offsets: its high bit is part of the offset.
    return off & 0x80000000 && this.crcsAt !== null ? Number(this.idxBytes(this.largeAt + (off & 0x7fffffff) * 8, 8).readBigUInt64BE(0)) : off;
  }

  /**
   * Where the ids starting with each two bytes begin (`[p]`) and end (`[p + 1]`): git's fan-out
   * table narrowed by one more byte, built once a large pack has served many look-ups. A rebuild
   * looks up hundreds of thousands of objects in one pack: in a pack of 320k objects, a search of
   * ~10 steps within a one-byte bucket becomes one of 2-3.
   */
  private fanout16: Uint32Array | null = null;
  private lookups = 0;

  private buildFanout16(): Uint32Array {
    const table = new Uint32Array(65537);
    const idx = this.index();
    let p = 0;
    for (let i = 0; i < this.count; i++) {
      const at = this.oidsAt + i * this.oidStride;
      const prefix = (idx[at] << 8) | idx[at + 1];
      while (p <= prefix) table[p++] = i;
    }
    while (p <= 65536) table[p++] = this.count;
    return table;
  }

  /** The offset of an object in the pack, or -1. */
  find(oid: Buffer): number {
    if (this.whole === null && this.lookups < INDEX_WHOLE_AFTER_LOOKUPS) {
      this.lookups++;
      return this.findByReads(oid);
    }
    const idx = this.index();
    let lo: number;
    let hi: number;
    if (this.fanout16 === null && this.count >= FANOUT16_OBJECTS && ++this.lookups > FANOUT16_AFTER_LOOKUPS) this.fanout16 = this.buildFanout16();
    const table = this.fanout16;
    if (table !== null) {
      const prefix = (oid[0] << 8) | oid[1];
      lo = table[prefix];
      hi = table[prefix + 1];
    } else {
      lo = oid[0] === 0 ? 0 : this.fanout[oid[0] - 1];
      hi = this.fanout[oid[0]];
    }
    // Most steps are decided by bytes 1-3, compared as one number (plain byte reads: cheaper than
    // readUInt32BE's checks or Buffer#compare).
    const head = (oid[1] << 16) | (oid[2] << 8) | oid[3];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.oidsAt + mid * this.oidStride;
      const first = (idx[at + 1] << 16) | (idx[at + 2] << 8) | idx[at + 3];
      const c = first !== head ? (head < first ? -1 : 1) : compareTail(oid, idx, at);
      if (c === 0) return this.offsetAt(mid);
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return -1;
  }

  /** `find` in an index not read whole: a binary search within the id's fan-out bucket, an entry read at a time. */
  private findByReads(oid: Buffer): number {
    let lo = oid[0] === 0 ? 0 : this.fanout[oid[0] - 1];
    let hi = this.fanout[oid[0]];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = oid.compare(this.idxBytes(this.oidsAt + mid * this.oidStride, 20));
      if (c === 0) return this.offsetAt(mid);
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return -1;
  }

  /**
   * Reads up to `length` bytes at `position` (never into the trailing checksum). Small reads are
   * served from a few cached 64 KiB windows: objects read together tend to sit together. What it
   * returns may be a view into a window, valid only until a later read reuses that window's
   * memory (a window read anew takes the buffer of the one it evicts: a new one each time was
   * ~4,000 fresh pages per thread in a 100k-event rebuild, each a page fault). Callers take what
   * they need before reading again; `readOwn` gives bytes to keep.
   */
  read(position: number, length: number): Buffer {
    const len = Math.max(0, Math.min(length, this.size - 20 - position));
    const w = Math.floor(position / WINDOW);
    if (len <= WINDOW && position + len <= (w + 1) * WINDOW) {
      // The window read last is the most recent already: most reads of a commit's objects land there.
      if (w === this.lastWindow) return this.lastWin!.subarray(position - w * WINDOW, position - w * WINDOW + len);
      let win = this.windows.get(w);
      if (win) {
        this.windows.delete(w);
      } else {
        let memory: Buffer | undefined;
        if (this.windows.size >= WINDOWS) {
          const [evicted, old] = this.windows.entries().next().value as [number, Window];
          this.windows.delete(evicted);
          memory = old.memory;
        }
        memory ??= Buffer.allocUnsafe(WINDOW);
        win = { memory, bytes: this.pread(w * WINDOW, Math.min(WINDOW, this.size - 20 - w * WINDOW), memory) };
      }
      this.windows.set(w, win);
      this.lastWindow = w;
      this.lastWin = win.bytes;
      return win.bytes.subarray(position - w * WINDOW, position - w * WINDOW + len);
    }
    return this.readOwn(position, len);
  }

  /** Up to `length` bytes at `position` in a buffer of their own. */
  readOwn(position: number, length: number): Buffer {
    const len = Math.max(0, Math.min(length, this.size - 20 - position));
    return this.pread(position, len, Buffer.allocUnsafe(len));
  }

  private pread(position: number, len: number, buf: Buffer): Buffer {
    this.fd ??= openSync(this.packPath, 'r');
    let got = 0;
    while (got < len) {
      const n = readSync(this.fd, buf, got, len - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    if (this.idxFd !== null) closeSync(this.idxFd);
    this.idxFd = null;
    this.windows.clear();
    this.lastWindow = -1;
    this.lastWin = null;
  }
}

/** Whether two scans found the same packs (in any order: look-ups reorder them). */
export function samePacks(a: readonly Pack[], b: readonly Pack[]): boolean {
  if (a.length !== b.length) return false;
  const paths = new Set(a.map((p) => p.packPath));
  return b.every((p) => paths.has(p.packPath));
}

/** Compares an id with the one at `at` in a pack index whose first four bytes are equal (byte reads: cheaper than a native compare). */
function compareTail(oid: Buffer, idx: Buffer, at: number): number {
  for (let i = 4; i < 20; i++) {
    const d = oid[i] - idx[at + i];
    if (d !== 0) return d;
  }
  return 0;
}
