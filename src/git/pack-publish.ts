/**
 * Every write of grit's that adds objects and then points a ref at them (WAL appends, sync's
 * re-appended commits, snapshots, lock commits) goes through `publishPack`: the objects are
 * written as one pack that is kept from git's repack and gc (pack-keep.ts) until the ref that
 * reaches them is written, so a concurrent `git repack -a -d` or `git gc --prune=now` can never
 * leave the ref naming a missing object (docs/wal.md, "Packs and git's repack").
 */
import { join } from 'node:path';
import type { ObjectStore } from './objects.js';
import { consolidatePacks } from './pack-consolidate.js';
import { releasePack } from './pack-keep.js';
import { deletePack, type PackBuilder } from './pack-write.js';

/**
 * Writes `pack`, runs `moveRef` (the ref update that makes its objects reachable; true when it
 * happened) and releases the pack. A pack whose ref did not move is deleted (unless the repository's
 * `extensions.preciousObjects` forbids deleting objects): nothing reaches it,
 * and a retry writes a pack of its own (docs/wal.md, "A lost compare-and-swap"). One whose
 * `moveRef` threw is only released (it may have moved some ref before it failed): git's gc drops
 * it if nothing reaches it. After a move the small packs are rolled up (pack-consolidate.ts).
 */
export async function publishPack(objects: ObjectStore, pack: PackBuilder, moveRef: () => Promise<boolean>): Promise<boolean> {
  objects.checkFormat();
  const name = pack.write(objects.gitDir, { fsync: objects.fsync, keep: true });
  if (name === null) return moveRef();
  let moved: boolean;
  try {
    moved = await moveRef();
  } finally {
    releasePack(join(objects.gitDir, 'objects', 'pack'), name);
  }
  if (!moved) {
    if (!objects.preciousObjects) deletePack(objects.gitDir, name);
    return false;
  }
  objects.adoptPack(name);
  tidyPacks(objects);
  return true;
}

/**
 * Rolls small packs up. The write is already durable: a failure here (disk full, say) costs only
 * read speed, and the next write tries again.
 */
function tidyPacks(objects: ObjectStore): void {
  try {
    consolidatePacks(objects);
  } catch {
    /* see above */
  }
}
