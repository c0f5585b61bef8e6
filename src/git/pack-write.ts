/**
 * Writing new objects together as one pack (version 2, no deltas) with its `.idx` (version 2),
 * instead of one loose file (open, write, fsync, rename) per object: a WAL append writes two files
 * instead of eight, a sync that re-appends a thousand commits two instead of eight thousand. Git
 * reads such packs like any other; `git gc` folds them into its own.
 */
import { createHash } from 'node:crypto';
import { randomBytes } from '../core/random.js';
import { closeSync, fsyncSync, linkSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { zlib } from '../core/builtins.js';
import { GritError } from '../core/errors.js';
import { diskFullError } from '../core/disk-full.js';
import { crashPoint } from '../core/fault.js';
import { writeFully } from '../core/write-fully.js';
import { hashObject, type ObjectType } from './object-encoding.js';
import type { ObjectSink } from './objects.js';
import { keepPack, releasePack } from './pack-keep.js';
import { adjustSharedPerm, mkdirShared } from '../core/shared-files.js';
import { sharedPermOf } from './shared-perm.js';

const TYPE_NUM: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

type Entry = { oid: string; type: ObjectType; content: Uint8Array } | { oid: string; stored: { bytes: Buffer; crc: number } };

export class PackBuilder {
  private readonly entries: Entry[] = [];
  private readonly seen = new Set<string>();

  /** Adds an object (once) and returns its id. */
  add(type: ObjectType, content: Uint8Array): string {
    const oid = hashObject(type, content);
    if (!this.seen.has(oid)) {
      this.seen.add(oid);
      this.entries.push({ oid, type, content });
    }
    return oid;
  }

  /**
   * Adds an entry copied as stored from another pack (Pack.storedEntries: a whole object, not a
   * delta), with its CRC-32 as that pack's index records it, checked by the caller.
   */
  addStored(oid: string, bytes: Buffer, crc: number): void {
    if (this.seen.has(oid)) return;
    this.seen.add(oid);
    this.entries.push({ oid, stored: { bytes, crc } });
  }

  /** A builder holding the same objects, to add more to without changing this one. */
  clone(): PackBuilder {
    const copy = new PackBuilder();
    // One at a time: spread into push, a builder of ~150k objects (a large snapshot's) overflowed the stack.
    for (const entry of this.entries) copy.entries.push(entry);
    for (const oid of this.seen) copy.seen.add(oid);
    return copy;
  }

  /** This builder as a place to write objects to. */
  sink(): ObjectSink {
    return { write: (type, content) => this.add(type, content) };
  }

  get count(): number {
    return this.entries.length;
  }

  /**
   * Writes `objects/pack/pack-<sha>.pack` and `.idx` (temporary names, fsynced, then linked into
   * place: the pack first, the index last, so git never sees an index without its pack). Returns
   * the pack's name, or null when there is nothing to write. With `keep`, the pack gets its `.keep`
   * before it is placed, and the caller releases it (pack-keep.ts, pack-publish.ts).
   *
   * The returned pack is always one this call created: every step takes its name exclusively (the
   * `.keep`, then `link()` for each file). A name already taken (the same objects written by
   * another writer, in flight or done, or a pack being deleted) is left alone, since whoever made
   * that pack may delete it at any time; the objects go into a pack of another name, with one more
   * object to make it differ (docs/wal.md, "Two writers of the same objects").
   */
  write(gitDir: string, opts: { fsync?: boolean; keep?: boolean } = {}): string | null {
    if (this.entries.length === 0) return null;
    const dir = join(gitDir, 'objects', 'pack');
    const perm = sharedPermOf(gitDir);
    mkdirShared(dir, perm);
    const filesOf = (builder: PackBuilder): PackFiles => ({ ...builder.encode(), dir, fsync: opts.fsync ?? true, keep: opts.keep ?? false, perm });
    let vanished = 0;
    // A salted name is taken again only by a SHA-1 collision: this ends.
    for (let files = filesOf(this); ; ) {
      const outcome = placeFiles(files);
      if (outcome === 'placed') return files.name;
      if (outcome === 'taken') files = filesOf(this.salted());
      else if (++vanished === MAX_PLACE_ATTEMPTS) throw tmpVanished(dir, vanished);
    }
  }

  /** The pack's bytes and its index's, and its name (after the pack's checksum, as git names packs). */
  private encode(): Pick<PackFiles, 'name' | 'pack' | 'idx'> {
    const parts: Buffer[] = [];
    const head = Buffer.alloc(12);
    head.write('PACK', 0, 'latin1');
    head.writeUInt32BE(2, 4);
    head.writeUInt32BE(this.entries.length, 8);
    parts.push(head);
    let offset = 12;
    const index: { oid: Buffer; crc: number; offset: number }[] = [];
    for (const e of this.entries) {
      const { bytes: entry, crc } = 'stored' in e ? e.stored : packEntry(e.type, e.content);
      if (offset > 0x7fffffff) throw new GritError('internal_error', 'pack too large for a small-offset index');
      index.push({ oid: Buffer.from(e.oid, 'hex'), crc, offset });
      parts.push(entry);
      offset += entry.length;
    }
    const packSha = createHash('sha1');
    for (const p of parts) packSha.update(p);
    const packChecksum = packSha.digest();
    parts.push(packChecksum);

    index.sort((a, b) => Buffer.compare(a.oid, b.oid));
    const n = index.length;
    const idx = Buffer.alloc(8 + 256 * 4 + n * (20 + 4 + 4) + 20 + 20);
    idx.writeUInt32BE(0xff744f63, 0);
    idx.writeUInt32BE(2, 4);
    const fan = 8;
    const names = fan + 256 * 4;
    const crcs = names + n * 20;
    const offs = crcs + n * 4;
    let k = 0;
    for (let b = 0; b < 256; b++) {
      while (k < n && index[k].oid[0] <= b) k++;
      idx.writeUInt32BE(k, fan + b * 4);
    }
    index.forEach((e, i) => {
      e.oid.copy(idx, names + i * 20);
      idx.writeUInt32BE(e.crc >>> 0, crcs + i * 4);
      idx.writeUInt32BE(e.offset, offs + i * 4);
    });
    packChecksum.copy(idx, offs + n * 4);
    createHash('sha1').update(idx.subarray(0, offs + n * 4 + 20)).digest().copy(idx, offs + n * 4 + 20);
    return { name: `pack-${packChecksum.toString('hex')}`, pack: parts, idx: [idx] };
  }

  /**
   * These objects and a blob of random bytes that no ref will reach (git's gc drops it): a pack of
   * the same objects under another name.
   */
  private salted(): PackBuilder {
    const copy = this.clone();
    copy.add('blob', Buffer.from(`grit: a second pack of the same objects (docs/wal.md, "Two writers of the same objects") ${randomBytes(16).toString('hex')}\n`));
    return copy;
  }
}

/**
 * Deletes `objects/pack/<name>.{idx,pack}`, the index first: a pack without its index is
 * invisible, an index without its pack is an error. A pack already gone is no error. A `.keep` of
 * the name is left alone: it is its writer's to release (pack-keep.ts).
 */
export function deletePack(gitDir: string, name: string): void {
  const dir = join(gitDir, 'objects', 'pack');
  rmSync(join(dir, `${name}.idx`), { force: true });
  rmSync(join(dir, `${name}.pack`), { force: true });
}

/**
 * How often a pack is written again when its temporary files vanish before they are linked: a
 * `git gc --prune=now` deletes every `objects/pack/tmp_*` it finds, and one run races at most one
 * write; more in a row means something deletes them as fast as they come.
 */
const MAX_PLACE_ATTEMPTS = 3;

interface PackFiles {
  dir: string;
  name: string;
  pack: readonly Uint8Array[];
  idx: readonly Uint8Array[];
  fsync: boolean;
  /** Take the `.keep` before placing the pack, and keep it (pack-keep.ts). */
  keep: boolean;
  /** core.sharedRepository's mode (shared-perm.ts). */
  perm: number;
}

/**
 * `placed`: the pack and its index are in place under `name`, created by this call. `taken`: a
 * file of that name (the `.keep`, the pack or its index) was there already; `vanished`: a
 * temporary file was deleted under it. Either way nothing of this call's is left behind.
 */
type Placement = 'placed' | 'taken' | 'vanished';

/** What to do about a pack that did not fit: its files are removed, no ref was moved. */
const PACK_DISK_FULL = 'free space on that disk and run the command again: this write left nothing behind, and no event is lost';

/** Writes the pack and index under temporary names and links them into place, each only where no file of that name exists. */
function placeFiles(f: PackFiles): Placement {
  const tag = `${process.pid}_${randomBytes(6).toString('hex')}`;
  const tmpPack = join(f.dir, `tmp_pack_grit_${tag}`);
  const tmpIdx = join(f.dir, `tmp_idx_grit_${tag}`);
  const packPath = join(f.dir, `${f.name}.pack`);
  let kept = false;
  let linked = false;
  let placed = false;
  try {
    writeFile(tmpPack, f.pack, f.fsync);
    writeFile(tmpIdx, f.idx, f.fsync);
    adjustSharedPerm(tmpPack, f.perm);
    adjustSharedPerm(tmpIdx, f.perm);
    crashPoint('pack:tmp-written');
    // The `.keep` first: the pack is never visible unkept.
    kept = f.keep && keepPack(f.dir, f.name, f.perm);
    linked = (kept || !f.keep) && linkNew(tmpPack, packPath);
    placed = linked && linkNew(tmpIdx, join(f.dir, `${f.name}.idx`));
    return placed ? 'placed' : 'taken';
  } catch (err) {
    // Every pack grit writes (a WAL append, a snapshot, a sync's rebase, a lock) fails here on a
    // full disk: said as the other full-disk failures are, not as a bare errno.
    const full = diskFullError(f.dir, packPath, err, PACK_DISK_FULL);
    if (full) throw full;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (err as NodeJS.ErrnoException).syscall === 'link') return 'vanished';
    throw err;
  } finally {
    rmSync(tmpPack, { force: true });
    rmSync(tmpIdx, { force: true });
    if (!placed) {
      // Only what this call made: the pack it linked (the index's name was taken: an index whose
      // pack git is deleting), the `.keep` it created.
      if (linked) rmSync(packPath, { force: true });
      if (kept) releasePack(f.dir, f.name);
    }
  }
}

/** Links `from` to `to`; false when `to` exists (git places its objects the same way). */
function linkNew(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function tmpVanished(dir: string, attempts: number): GritError {
  return new GritError('io_error', `the temporary files of a new pack in ${dir} were deleted before grit could link them into place (${attempts} times in a row); nothing was written`, {
    details: { dir, attempts },
    suggestion: 'something deletes objects/pack/tmp_* while grit writes (`git gc --prune=now` in a loop?): let it finish, then retry',
  });
}

/** An object as a pack entry: its type-and-size header, then its content deflated. */
function packEntry(type: ObjectType, content: Uint8Array): { bytes: Buffer; crc: number } {
  const hdr: number[] = [];
  let size = content.length;
  let byte = (TYPE_NUM[type] << 4) | (size & 0x0f);
  size = Math.floor(size / 16);
  while (size > 0) {
    hdr.push(byte | 0x80);
    byte = size & 0x7f;
    size = Math.floor(size / 128);
  }
  hdr.push(byte);
  // zlib level 1: a pack is written on every WAL append, where time matters more than the few
  // bytes level 6 would save on these small objects.
  const bytes = Buffer.concat([Buffer.from(hdr), zlib().deflateSync(content, { level: 1 })]);
  return { bytes, crc: zlib().crc32(bytes) };
}

function writeFile(path: string, parts: readonly Uint8Array[], sync: boolean): void {
  const fd = openSync(path, 'wx', 0o444);
  try {
    for (const p of parts) writeFully(fd, p);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
