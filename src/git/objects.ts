/**
 * Git's object database read and written with plain file I/O and node's zlib/crypto: no git
 * process, no isomorphic-git.
 *
 * - grit writes objects only as packs (pack-write.ts, rolled up by pack-consolidate.ts), each
 *   kept from git's repack until the ref that reaches it is written (pack-publish.ts): loose
 *   objects no ref reaches yet are what `git gc --prune=now` deletes.
 * - Reads look at loose objects first, then pack files (`.idx` v1 or v2 + `.pack`, OFS and REF deltas),
 *   then the object directories named in `objects/info/alternates`. Small packed objects are
 *   inflated by inflate.ts, the rest by zlib. Packs are read with
 *   positional reads (never loaded whole: a repository's main pack can be gigabytes); their
 *   indexes, file handles and a small cache of delta bases live until `close()`. Every object
 *   read is checked against its SHA-1.
 * - SHA-1 repositories only; a SHA-256 repository (`extensions.objectformat = sha256`) is refused.
 */
import { constants as bufferConstants } from 'node:buffer';
import { createHash, hash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  statSync,
  writeSync,
} from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { zlib } from '../core/builtins.js';
import { GritError, isPermissionDenied } from '../core/errors.js';
import { isOid } from '../core/hex.js';
import { inflateInto } from './inflate.js';
import { checkRepoFormat, configBool, type RepoFormat } from './repo-format.js';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export interface GitObject {
  type: ObjectType;
  content: Buffer;
}

export interface TreeEntry {
  /** As git stores it: `100644`, `100755`, `120000`, `40000` (tree) or `160000` (gitlink). */
  mode: string;
  name: string;
  oid: string;
}

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** Minutes east of UTC (git's `+0100` is 60). Default 0. */
  tzOffsetMinutes?: number;
}

export interface CommitData {
  tree: string;
  parents: string[];
  author: Signature;
  committer: Signature;
  message: string;
}

export interface ParsedCommit {
  tree: string;
  parents: string[];
  /** The raw `author` and `committer` header values. */
  author: string;
  committer: string;
  message: string;
}

const PACK_TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
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


function objectError(message: string, details: Record<string, unknown> = {}): GritError {
  return new GritError('git_error', message, { details });
}

function sha1Hex(...parts: Uint8Array[]): string {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/**
 * Writes all of `bytes`: a single write(2) may store only part of them when the disk fills up or
 * a file-size limit is hit, and says so only through its return value (the next one fails).
 */
export function writeFully(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

function header(type: ObjectType, length: number): Buffer {
  return Buffer.from(`${type} ${length}\0`, 'latin1');
}

/** `ObjectStore.readPacked`'s look-up id. */
const oidBytes = Buffer.alloc(20);

/** Where `hashObject` joins the header and content of an object that fits. */
const joined = Buffer.allocUnsafe(1 << 16);

/**
 * The object id git gives `content` stored as `type`. For the small objects a WAL is made of,
 * header and content are copied into one buffer for the one-shot `crypto.hash`: about twice as
 * fast as a streaming Hash object (reads check every object they return). That buffer is reused:
 * one per object was ~2,000 fresh pages in a 100k-event rebuild, each a page fault
 * (docs/performance.md, "Fewer fresh pages").
 */
export function hashObject(type: ObjectType, content: Uint8Array): string {
  const head = `${type} ${content.length}\0`;
  const length = head.length + content.length;
  if (length > joined.length) return sha1Hex(header(type, content.length), content);
  joined.write(head, 0, 'latin1');
  joined.set(content, head.length);
  return hash('sha1', joined.subarray(0, length), 'hex');
}

// ---------------------------------------------------------------------------------------------
// Tree and commit encoding

function checkName(name: string): void {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw objectError(`invalid tree entry name ${JSON.stringify(name)}`);
  }
}

/** Tree entries in git's order: by name bytes, a subtree's name compared as if it ended in `/`. */
function sortKey(e: TreeEntry): Buffer {
  return Buffer.from(e.mode === '40000' ? `${e.name}/` : e.name, 'utf8');
}

export function encodeTree(entries: readonly TreeEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => Buffer.compare(sortKey(a), sortKey(b)));
  const parts: Buffer[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    checkName(e.name);
    if (!/^(100644|100755|120000|40000|160000)$/.test(e.mode)) throw objectError(`invalid tree entry mode ${e.mode}`);
    if (!isOid(e.oid)) throw objectError(`invalid object id ${JSON.stringify(e.oid)}`);
    if (i > 0 && sorted[i - 1].name === e.name) throw objectError(`duplicate tree entry ${JSON.stringify(e.name)}`);
    parts.push(Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.oid, 'hex'));
  }
  return Buffer.concat(parts);
}

export function parseTree(content: Buffer): TreeEntry[] {
  const out: TreeEntry[] = [];
  let pos = 0;
  while (pos < content.length) {
    const space = content.indexOf(0x20, pos);
    const nul = space < 0 ? -1 : content.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > content.length) throw objectError('malformed tree object');
    out.push({
      mode: content.toString('latin1', pos, space),
      name: content.toString('utf8', space + 1, nul),
      oid: content.toString('hex', nul + 1, nul + 21),
    });
    pos = nul + 21;
  }
  return out;
}

function formatSignature(s: Signature): string {
  if (/[<>\n]/.test(s.name) || /[<>\n]/.test(s.email)) throw objectError('invalid name or email in signature');
  const tz = s.tzOffsetMinutes ?? 0;
  const abs = Math.abs(tz);
  const zone = `${tz < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  return `${s.name} <${s.email}> ${Math.floor(s.timestamp)} ${zone}`;
}

export function encodeCommit(c: CommitData): Buffer {
  if (!isOid(c.tree) || !c.parents.every(isOid)) throw objectError('invalid object id in commit');
  const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`)];
  lines.push(`author ${formatSignature(c.author)}`, `committer ${formatSignature(c.committer)}`);
  return Buffer.from(`${lines.join('\n')}\n\n${c.message}`, 'utf8');
}

/**
 * Parses a commit's headers and message. Each field is decoded from its own bytes: slices of the
 * whole commit's text would be V8 sliced strings, each keeping the whole text alive, and a chain
 * walk keeps every commit's tree and parent ids (40k commit texts through a WAL rebuild).
 * Lines split at the `\n` byte, which never occurs inside a UTF-8 sequence: decoding each line on
 * its own gives what decoding the whole text and splitting it gives.
 */
export function parseCommit(content: Buffer): ParsedCommit {
  const end = content.indexOf('\n\n');
  const headEnd = end < 0 ? content.length : end;
  const out: ParsedCommit = { tree: '', parents: [], author: '', committer: '', message: end < 0 ? '' : content.toString('utf8', end + 2) };
  for (let pos = 0; pos < headEnd; ) {
    let lineEnd = content.indexOf(0x0a, pos);
    if (lineEnd < 0 || lineEnd > headEnd) lineEnd = headEnd;
    const sp = content.indexOf(0x20, pos);
    // A line starting with a space continues a multi-line header (gpgsig, mergetag).
    if (sp > pos && sp < lineEnd) {
      const key = content.toString('latin1', pos, sp);
      if (key === 'tree' && !out.tree) out.tree = content.toString('latin1', sp + 1, lineEnd);
      else if (key === 'parent') out.parents.push(content.toString('latin1', sp + 1, lineEnd));
      else if (key === 'author') out.author = content.toString('utf8', sp + 1, lineEnd);
      else if (key === 'committer') out.committer = content.toString('utf8', sp + 1, lineEnd);
    }
    pos = lineEnd + 1;
  }
  if (!isOid(out.tree) || !out.parents.every(isOid)) throw objectError('malformed commit object');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pack files

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
class Pack {
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
function samePacks(a: readonly Pack[], b: readonly Pack[]): boolean {
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

function applyDelta(base: Buffer, delta: Buffer, maxBytes: number): Buffer {
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

const WINDOW = 64 << 10;
const WINDOWS = 16;
const BASE_CACHE_ENTRIES = 256;
const BASE_CACHE_BYTES = 32 << 20;

// ---------------------------------------------------------------------------------------------

/**
 * zlib's output buffer for an object of about `size` bytes. zlib allocates one of these per call
 * (16 KiB by default): for the few-hundred-byte commits, trees and meta.json blobs of the WAL
 * that allocation and its garbage cost more than the inflating itself.
 */
const inflateChunk = (size: number): number => Math.min(Math.max(size + 1, 64), 1 << 16);

/**
 * Objects up to this size are inflated by inflate.ts: no zlib stream set up per object, and no
 * garbage. zlib is faster per byte, so larger ones go to it (docs/performance.md, Rebuild).
 */
const SMALL_OBJECT_BYTES = 2048;

/** A packed object's data inflated by inflate.ts, or null to let zlib do it (and judge it). */
function inflateSmall(stream: Buffer, size: number): Buffer | null {
  if (size > SMALL_OBJECT_BYTES) return null;
  const out = Buffer.allocUnsafe(size);
  return inflateInto(stream, out, 0) ? out : null;
}

/** Reads are unbounded unless the caller says otherwise (a pack's blobs can be huge and legitimate). */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;
/** Rescans of the pack directories for one missed object, at most (`ObjectStore.rescanning`). */
const MAX_RESCANS = 10;

function tooLarge(oid: string | null, size: number, maxBytes: number): GritError {
  return objectError(`object${oid ? ` ${oid}` : ''} is ${size > maxBytes ? `${size} bytes, ` : ''}larger than the ${maxBytes} bytes allowed here`, {
    oid,
    size,
    max_bytes: maxBytes,
  });
}

export interface ReadOptions {
  /**
   * Refuse (git_error) an object whose content is larger than this, before inflating more than
   * this much of it: a tiny compressed object can declare gigabytes (a zlib bomb).
   */
  maxBytes?: number;
  /**
   * Whether the content is checked against the id (SHA-1; default true). Only for a caller that
   * checks the content itself in a way another object's would not pass: the WAL's chunks and
   * the objects on the way to them (`Wal.readChunk`).
   */
  checkId?: boolean;
}

/** Where new objects go: a pack being built (PackBuilder.sink). */
export interface ObjectSink {
  write(type: ObjectType, content: Uint8Array): string;
}

export interface ObjectStoreOptions {
  /** fsync each object file before it is linked into place (default true). */
  fsync?: boolean;
}

export class ObjectStore {
  readonly gitDir: string;
  /** Whether writes fsync (tests that generate large WALs turn it off). */
  readonly fsync: boolean;
  private objectDirs: string[] | null = null;
  private packs: Pack[] | null = null;
  /** The last scan listed a pack it could not open (`loadPacks`): the set of packs was changing under it. */
  private packsUnsettled = false;
  private readonly packByPath = new Map<string, Pack>();
  private readonly baseCache = new Map<string, GitObject>();
  private baseCacheBytes = 0;
  private format: RepoFormat | null = null;
  /** Where the last object was found: objects of one commit tend to live together. */
  private packedFirst = false;

  constructor(gitDir: string, opts: ObjectStoreOptions = {}) {
    this.gitDir = gitDir;
    this.fsync = opts.fsync ?? true;
  }

  /**
   * The repository's format, refused when grit cannot read or write it (repo-format.ts), read
   * once: discovery checks it before every command, this before the first object a long-lived
   * store (a daemon worker's) reads or writes.
   */
  checkFormat(): RepoFormat {
    return (this.format ??= checkRepoFormat(this.gitDir));
  }

  /** `extensions.preciousObjects`: no object may be deleted, so packs grit would merge or drop stay. */
  get preciousObjects(): boolean {
    return configBool(this.checkFormat().extensions.get('preciousobjects'));
  }

  // --- reading ---

  private dirs(): string[] {
    if (this.objectDirs) return this.objectDirs;
    const main = join(this.gitDir, 'objects');
    const dirs = [main];
    const seen = new Set(dirs);
    for (let i = 0; i < dirs.length && i < 8; i++) {
      let text = '';
      try {
        text = readFileSync(join(dirs[i], 'info', 'alternates'), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').map((l) => l.trim())) {
        if (!line || line.startsWith('#')) continue;
        const dir = isAbsolute(line) ? line : resolve(dirs[i], line);
        if (!seen.has(dir)) {
          seen.add(dir);
          dirs.push(dir);
        }
      }
    }
    this.objectDirs = dirs;
    return dirs;
  }

  private loadPacks(): Pack[] {
    const packs: Pack[] = [];
    let unsettled = false;
    for (const dir of this.dirs()) {
      const packDir = join(dir, 'pack');
      let names: string[];
      try {
        names = readdirSync(packDir);
      } catch (err) {
        // Only a directory that is not there holds no packs: one this user may not list (EACCES)
        // may hold them all, and reading it as empty would call every packed object missing.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      for (const name of names.sort()) {
        if (!name.endsWith('.idx')) continue;
        const packPath = join(packDir, `${name.slice(0, -4)}.pack`);
        let pack = this.packByPath.get(packPath);
        if (!pack) {
          try {
            pack = new Pack(packPath, statSync(packPath).size);
          } catch (err) {
            // A pack this user may not open is an error of the environment, not a pack being replaced.
            if (err instanceof GritError || isPermissionDenied((err as NodeJS.ErrnoException).code)) throw err;
            // Half-written, or just deleted by a concurrent repack whose merged pack this listing may not hold yet.
            unsettled = true;
            continue;
          }
          this.packByPath.set(packPath, pack);
        }
        packs.push(pack);
      }
    }
    // Packs deleted by a repack (ours or git's) since the last scan: release their files.
    const live = new Set(packs);
    for (const [path, pack] of this.packByPath) {
      if (!live.has(pack)) {
        pack.close();
        this.packByPath.delete(path);
      }
    }
    this.packs = packs;
    this.packsUnsettled = unsettled;
    return packs;
  }

  /** The packs of the repository's own object directory (not alternates), rescanned. */
  localPacks(): LocalPack[] {
    const packDir = join(this.gitDir, 'objects', 'pack');
    return this.loadPacks()
      .filter((p) => p.packPath.startsWith(`${packDir}/`))
      .map((p) => {
        const name = p.packPath.slice(packDir.length + 1, -'.pack'.length);
        return { name, count: p.count, bytes: p.size, keep: existsSync(join(packDir, `${name}.keep`)), storedEntries: () => p.storedEntries() };
      });
  }

  /** Makes a pack this process just wrote readable at once, without rescanning the directory. */
  adoptPack(name: string): void {
    if (!this.packs) return; // the first read scans the directory and finds it
    const packPath = join(this.gitDir, 'objects', 'pack', `${name}.pack`);
    if (this.packByPath.has(packPath)) return;
    let pack: Pack;
    try {
      pack = new Pack(packPath, statSync(packPath).size);
    } catch (err) {
      // Rolled up already by another process's append (pack-consolidate.ts): its objects are in the
      // merged pack, which the next read that misses finds by scanning the directory again.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    this.packByPath.set(packPath, pack);
    this.packs.push(pack);
  }

  private readLoose(oid: string, maxBytes: number, checkId: boolean): GitObject | null {
    for (const dir of this.dirs()) {
      let file: Buffer;
      try {
        file = readFileSync(join(dir, oid.slice(0, 2), oid.slice(2)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      let raw: Buffer;
      try {
        // The header (`blob <size>\0`) takes at most 32 bytes.
        // Small objects compress to about half their size: four times the file is a close guess.
        const chunkSize = inflateChunk(file.length * 4);
        raw = zlib().inflateSync(file, maxBytes < NO_LIMIT ? { chunkSize, maxOutputLength: Math.min(maxBytes + 32, bufferConstants.MAX_LENGTH) } : { chunkSize });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(oid, -1, maxBytes);
        throw objectError(`loose object ${oid} is corrupt: ${(err as Error).message}`, { oid });
      }
      const nul = raw.indexOf(0);
      const m = nul > 0 ? /^(commit|tree|blob|tag) (\d+)$/.exec(raw.toString('latin1', 0, nul)) : null;
      if (!m || Number(m[2]) !== raw.length - nul - 1) throw objectError(`loose object ${oid} has a bad header`, { oid });
      if (Number(m[2]) > maxBytes) throw tooLarge(oid, Number(m[2]), maxBytes);
      if (checkId && hash('sha1', raw, 'hex') !== oid) throw objectError(`loose object ${oid} does not match its id`, { oid });
      return { type: m[1] as ObjectType, content: raw.subarray(nul + 1) };
    }
    return null;
  }

  /**
   * A delta base, from the cache when it was resolved lately: packs put bases near the objects
   * that use them, and delta chains share their bases. Only bases are cached (not every object
   * read), so a long walk over undeltified objects does not churn the cache.
   */
  private readBaseAt(pack: Pack, offset: number, depth: number, maxBytes: number): GitObject {
    const key = `${pack.packPath}:${offset}`;
    const cached = this.baseCache.get(key);
    if (cached) {
      if (cached.content.length > maxBytes) throw tooLarge(null, cached.content.length, maxBytes);
      this.baseCache.delete(key);
      this.baseCache.set(key, cached);
      return cached;
    }
    const obj = this.readPackedAt(pack, offset, depth, maxBytes);
    if (obj.content.length < 1 << 20) this.remember(key, obj);
    return obj;
  }

  private readPackedAt(pack: Pack, offset: number, depth: number, maxBytes: number): GitObject {
    if (depth > 10_000) throw objectError(`pack delta chain too deep in ${pack.packPath}`);
    if (!Number.isSafeInteger(offset) || offset < 12 || offset >= pack.size - 20) {
      throw objectError(`bad object offset ${offset} in ${pack.packPath}`);
    }
    // One read usually covers the entry header and all of a small object's compressed data.
    const inWindow = WINDOW - (offset % WINDOW);
    const head = pack.read(offset, inWindow >= 64 ? Math.min(4096, inWindow) : 4096);
    let pos = 0;
    let byte = head[pos++];
    const typeNum = (byte >> 4) & 7;
    let size = byte & 15;
    let shift = 4;
    while (byte & 0x80) {
      byte = head[pos++];
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    let baseOffset = -1;
    let baseOid: string | null = null;
    if (typeNum === OFS_DELTA) {
      byte = head[pos++];
      let back = byte & 0x7f;
      while (byte & 0x80) {
        byte = head[pos++];
        back = (back + 1) * 128 + (byte & 0x7f);
      }
      baseOffset = offset - back;
    } else if (typeNum === REF_DELTA) {
      baseOid = head.toString('hex', pos, pos + 20);
      pos += 20;
    } else if (!PACK_TYPES[typeNum]) {
      throw objectError(`bad object type ${typeNum} in ${pack.packPath} at ${offset}`);
    }
    if (size > maxBytes) throw tooLarge(null, size, maxBytes);
    // Compressed data is at most a little larger than the inflated size (stored blocks); zlib
    // stops at the end of its stream, so reading a bit too much is harmless.
    const bound = size + (size >> 10) + 64;
    const stream = pos + bound <= head.length ? head.subarray(pos) : pack.read(offset + pos, bound);
    let data = inflateSmall(stream, size);
    if (!data) {
      // Never inflate more than the entry declares: a corrupt or hostile stream could expand far more.
      const limit = { maxOutputLength: size + 1, chunkSize: inflateChunk(size) };
      try {
        data = zlib().inflateSync(stream, limit);
      } catch {
        try {
          data = zlib().inflateSync(pack.read(offset + pos, pack.size), limit);
        } catch (err) {
          throw objectError(`corrupt object in ${pack.packPath} at ${offset}: ${(err as Error).message}`);
        }
      }
    }
    if (data.length !== size) throw objectError(`object in ${pack.packPath} at ${offset} has the wrong size`);
    // The base is resolved only after this entry's data is inflated (keeps the recursion lean).
    let base: GitObject | null = null;
    if (baseOffset >= 0) base = this.readBaseAt(pack, baseOffset, depth + 1, maxBytes);
    else if (baseOid) base = this.readObject(baseOid, depth + 1, maxBytes, true);
    return base ? { type: base.type, content: applyDelta(base.content, data, maxBytes) } : { type: PACK_TYPES[typeNum], content: data };
  }

  private remember(key: string, obj: GitObject): void {
    this.baseCache.set(key, obj);
    this.baseCacheBytes += obj.content.length;
    while (this.baseCache.size > BASE_CACHE_ENTRIES || this.baseCacheBytes > BASE_CACHE_BYTES) {
      const [oldKey, old] = this.baseCache.entries().next().value as [string, GitObject];
      this.baseCache.delete(oldKey);
      this.baseCacheBytes -= old.content.length;
    }
  }

  private readPacked(oid: string, depth: number, maxBytes: number, checkId: boolean): GitObject | null {
    // The id as bytes, in memory reused by every look-up (a Buffer per object read was a few
    // percent of a rebuild's reading): only `find` reads it, before anything reads another object.
    const bin = oidBytes;
    bin.write(oid, 'hex');
    for (const pack of this.packs ?? this.loadPacks()) {
      let obj: GitObject;
      try {
        const offset = pack.find(bin);
        if (offset < 0) continue;
        obj = this.readPackedAt(pack, offset, depth, maxBytes);
      } catch (err) {
        // Repacked away since the scan (its index was read, its pack not yet opened): its objects
        // are in a pack written before it was deleted, maybe one further down this list, else one
        // the caller's rescan finds.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (checkId && hashObject(obj.type, obj.content) !== oid) {
        throw objectError(`object ${oid} in ${pack.packPath} does not match its id`, { oid });
      }
      this.firstLookIn(pack);
      return obj;
    }
    return null;
  }

  /**
   * Puts `pack` first in the look-up order, as git does: objects read together tend to live in
   * one pack (a commit's objects, the commits of one fetch), and each pack tried before the right
   * one costs a failed search (a clone that fetched eight times holds nine packs).
   */
  private firstLookIn(pack: Pack): void {
    const packs = this.packs;
    const at = packs ? packs.indexOf(pack) : -1;
    if (at > 0) {
      packs!.splice(at, 1);
      packs!.unshift(pack);
    }
  }

  private readObject(oid: string, depth: number, maxBytes: number, checkId: boolean): GitObject {
    if (!isOid(oid)) throw objectError(`invalid object id ${JSON.stringify(oid)}`, { oid });
    this.checkFormat();
    // Loose first (fresh appends are loose, and no pack index needs loading for them) unless
    // the previous object came from a pack: then a failed open() per object is wasted time.
    let found: GitObject | null;
    if (this.packedFirst) {
      found = this.readPacked(oid, depth, maxBytes, checkId);
      if (!found && (found = this.readLoose(oid, maxBytes, checkId))) this.packedFirst = false;
    } else {
      found = this.readLoose(oid, maxBytes, checkId);
      if (!found && (found = this.readPacked(oid, depth, maxBytes, checkId))) this.packedFirst = true;
    }
    if (found) return found;
    // A concurrent `git gc` may just have moved it from a loose file into a new pack.
    const again = this.rescanning(() => this.readPacked(oid, depth, maxBytes, checkId) ?? this.readLoose(oid, maxBytes, checkId));
    if (again) return again;
    throw objectError(`object ${oid} not found`, { oid });
  }

  /**
   * `look` after rescanning the pack directories, again while the set of packs keeps changing:
   * an object missed is then really missing. Once is not enough when other processes roll packs
   * up (pack-consolidate.ts): the pack a rescan found can be merged and deleted before it is
   * opened, and the merged pack, written after the rescan, is found only by the next one. git
   * retries the same way (`reprepare_packed_git`). Bounded: a repository whose packs change at
   * every scan for ever is not waited on.
   */
  private rescanning<T>(look: () => T | null): T | null {
    let searched = this.packs ?? [];
    for (let scan = 0; scan < MAX_RESCANS; scan++) {
      const packs = this.loadPacks();
      const found = look();
      if (found !== null) return found;
      // The same packs as the look before: none vanished under it, none came since. A pack listed
      // but gone by the time it was opened may have been rolled up into one listed only next time.
      if (!this.packsUnsettled && samePacks(searched, packs)) return null;
      searched = packs;
    }
    return null;
  }

  /** Reads any object; throws git_error when it is missing or corrupt. */
  read(oid: string, opts: ReadOptions = {}): GitObject {
    return this.readObject(oid, 0, opts.maxBytes ?? NO_LIMIT, opts.checkId ?? true);
  }

  /** Reads an object that must have the given type. */
  readTyped(oid: string, type: ObjectType, opts: ReadOptions = {}): Buffer {
    const obj = this.read(oid, opts);
    if (obj.type !== type) throw objectError(`object ${oid} is a ${obj.type}, not a ${type}`, { oid, type: obj.type });
    return obj.content;
  }

  readCommit(oid: string, opts: ReadOptions = {}): ParsedCommit {
    return parseCommit(this.readTyped(oid, 'commit', opts));
  }

  readTree(oid: string, opts: ReadOptions = {}): TreeEntry[] {
    return parseTree(this.readTyped(oid, 'tree', opts));
  }

  readBlob(oid: string, opts: ReadOptions = {}): Buffer {
    return this.readTyped(oid, 'blob', opts);
  }

  /** True when the object exists (loose or packed); does not read it. */
  has(oid: string): boolean {
    if (!isOid(oid)) return false;
    if (this.dirs().some((d) => existsSync(join(d, oid.slice(0, 2), oid.slice(2))))) return true;
    const bin = Buffer.from(oid, 'hex');
    // A pack repacked away since the scan holds nothing: the rescan finds where it went.
    const inPack = (p: Pack): boolean => {
      try {
        return p.find(bin) >= 0;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
    };
    if ((this.packs ?? this.loadPacks()).some(inPack)) return true;
    return this.rescanning(() => this.packs!.some(inPack) || null) ?? false;
  }

  /** Closes pack files and forgets indexes and caches; the store stays usable. */
  close(): void {
    for (const p of this.packByPath.values()) p.close();
    this.packByPath.clear();
    this.packs = null;
    this.objectDirs = null;
    this.baseCache.clear();
    this.baseCacheBytes = 0;
    this.packedFirst = false;
  }
}
