/**
 * Git's object database read and written with plain file I/O and node's zlib/crypto: no git
 * process, no isomorphic-git.
 *
 * - grit writes objects only as packs (pack-write.ts, rolled up by pack-consolidate.ts), each
 *   kept from git's repack until the ref that reaches it is written (pack-publish.ts): loose
 *   objects no ref reaches yet are what `git gc --prune=now` deletes.
 * - Reads look at loose objects first, then pack files (pack-read.ts: `.idx` v1 or v2 + `.pack`;
 *   OFS and REF deltas, pack-delta.ts), then the object directories named in
 *   `objects/info/alternates`. Small packed objects are inflated by inflate.ts, the rest by zlib.
 *   Packs' indexes, file handles and a small cache of delta bases live until `close()`. Every
 *   object read is checked against its SHA-1 (object-encoding.ts).
 * - SHA-1 repositories only; a SHA-256 repository (`extensions.objectformat = sha256`) is refused.
 */
import { constants as bufferConstants } from 'node:buffer';
import { hash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { zlib } from '../core/builtins.js';
import { GritError, isPermissionDenied } from '../core/errors.js';
import { isOid } from '../core/hex.js';
import { inflateInto } from './inflate.js';
import { hashObject, parseCommit, parseTree, type GitObject, type ObjectType, type ParsedCommit, type TreeEntry } from './object-encoding.js';
import { objectError, tooLarge } from './object-errors.js';
import { applyDelta } from './pack-delta.js';
import { OFS_DELTA, Pack, PACK_TYPES, REF_DELTA, samePacks, WINDOW, type LocalPack } from './pack-read.js';
import { checkRepoFormat, configBool, type RepoFormat } from './repo-format.js';

/** `ObjectStore.readPacked`'s look-up id. */
const oidBytes = Buffer.alloc(20);

const BASE_CACHE_ENTRIES = 256;
const BASE_CACHE_BYTES = 32 << 20;

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
