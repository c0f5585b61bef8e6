/**
 * WAL appends write each commit's objects as one small pack (two files and two fsyncs instead of
 * eight loose objects: docs/performance.md). Left alone, those packs would pile up by the
 * thousand and every object lookup would probe each index, so after an append the small packs
 * are rolled up geometrically, as `git repack --geometric=2` does: the packs, sorted by size,
 * must each be at least twice as large as all smaller ones together; the smallest that break the
 * progression are merged into one. That keeps a few dozen packs at most and rewrites each byte
 * O(log n) times in all. Size is bytes, where git counts objects: a roll-up costs the bytes it
 * copies, and a snapshot's pack holds few objects but megabytes (its chunks), which a count would
 * rank among the smallest and copy again at every roll-up (docs/performance.md). Packs git wrote (usually one large one), packs with a
 * `.keep` file (among them the packs other writers are publishing: pack-publish.ts) and packs
 * beyond SMALL_PACK_OBJECTS are never touched.
 *
 * Safe against crashes and concurrent readers: the merged pack is complete (fsynced, linked into
 * place) before any old pack is deleted, so every object is always in some pack; a reader that
 * loses a pack under it searches its other packs and rescans the directory, again while the set of
 * packs keeps changing (ObjectStore.rescanning): with many writers, the pack a rescan found can be
 * merged away before it is opened, the merged pack only in the next scan. A writer whose new pack
 * was merged before it adopted it leaves that to its next read (ObjectStore.adoptPack). A lock
 * file keeps two processes from merging the same packs at once.
 */
import { readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { zlib } from '../core/builtins.js';
import { judgeLock } from '../commands/lockfile.js';
import { crashPoint } from '../core/fault.js';
import { adjustSharedPerm } from '../core/shared-files.js';
import type { ObjectStore } from './objects.js';
import type { LocalPack, StoredEntry } from './pack-read.js';
import { removeLeftKeeps } from './pack-keep.js';
import { deletePack, PackBuilder } from './pack-write.js';
import { sharedPermOf } from './shared-perm.js';

/** Rolled up only once there are more small packs than this: most appends then merge nothing. */
export const MAX_SMALL_PACKS = 16;
/** Packs with more objects than this are someone else's (or already consolidated): left as they are. */
export const SMALL_PACK_OBJECTS = 20_000;

/**
 * The packs to merge, smallest first: with sizes (bytes) sorted ascending, the largest prefix that
 * breaks the doubling progression, extended while the next pack is smaller than twice the merged size.
 */
export function geometricRollup<T extends { bytes: number }>(packs: readonly T[], factor = 2): T[] {
  const sorted = [...packs].sort((a, b) => a.bytes - b.bytes);
  let split = sorted.length - 1;
  while (split > 0 && sorted[split].bytes >= factor * sorted[split - 1].bytes) split--;
  if (split === 0) return [];
  let merged = sorted.slice(0, split + 1).reduce((n, p) => n + p.bytes, 0);
  while (split + 1 < sorted.length && sorted[split + 1].bytes < factor * merged) merged += sorted[++split].bytes;
  return sorted.slice(0, split + 1);
}

/** Merges small packs when there are too many; returns how many packs were merged (0 mostly). */
export function consolidatePacks(objects: ObjectStore): number {
  if (objects.preciousObjects) return 0; // merging deletes the merged packs
  const packDir = join(objects.gitDir, 'objects', 'pack');
  // One directory listing decides the usual case; pack indexes are read only when it may pay.
  const names = readdirSync(packDir);
  // A killed writer's `.keep` would keep its pack out of every roll-up for good (pack-keep.ts).
  if (names.some((n) => n.endsWith('.keep'))) removeLeftKeeps(packDir, names);
  if (names.filter((n) => n.endsWith('.idx')).length <= MAX_SMALL_PACKS) return 0;
  const small = objects.localPacks().filter((p) => !p.keep && p.count <= SMALL_PACK_OBJECTS);
  if (small.length <= MAX_SMALL_PACKS) return 0;
  const victims = geometricRollup(small);
  if (victims.length < 2) return 0;
  const lock = join(packDir, 'grit-consolidate.lock');
  if (!takeLock(lock, sharedPermOf(objects.gitDir))) return 0;
  try {
    const pack = new PackBuilder();
    for (const victim of victims) {
      for (const entry of entriesOrNone(victim)) {
        // Whole objects are copied as stored, checked against their index's CRC-32 (no inflating
        // and deflating again); deltas and anything that fails the check are read and rewritten,
        // and a corrupt object fails the merge there.
        if (entry.bytes && zlib().crc32(entry.bytes) === entry.crc) {
          pack.addStored(entry.oid, entry.bytes, entry.crc);
        } else {
          const { type, content } = objects.read(entry.oid);
          pack.add(type, content);
        }
      }
    }
    const name = pack.write(objects.gitDir, { fsync: objects.fsync });
    if (name) objects.adoptPack(name);
    for (const victim of victims) {
      // A victim deleted since it was read, whose name the merged pack of the same objects took: this merge's own now.
      if (victim.name === name) continue;
      deletePack(objects.gitDir, victim.name);
      crashPoint('pack:merged');
    }
    objects.localPacks(); // forget the deleted packs, release their files
    return victims.length;
  } finally {
    unlinkSync(lock);
  }
}

/**
 * A victim's entries; none when its pack was deleted since the listing. Under this process's lock
 * no other roll-up deletes packs, so it was a lost append's (`Wal.append`: unreachable objects,
 * deleted on purpose) or a `git repack`'s (its objects are in git's new pack): either way its
 * objects are not this merge's to keep.
 */
function entriesOrNone(victim: LocalPack): StoredEntry[] {
  try {
    return victim.storedEntries();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** A lock naming this process; one left by a dead process (kill -9 mid-merge) is taken over. */
function takeLock(path: string, perm: number): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, JSON.stringify({ pid: process.pid, host_id: hostname() }), { flag: 'wx' });
      // Another user of the group reads it to tell a lock left by a killed roll-up.
      adjustSharedPerm(path, perm);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !judgeLock(path).stale) return false;
      rmSync(path, { force: true });
    }
  }
  return false;
}
