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
 * happened) and releases the pack. After a move the small packs are rolled up (pack-consolidate.ts).
 *
 * A pack whose ref did not move is deleted only when `discard` (asked then, while the pack is
 * still kept) says that no ref can reach any of its objects: a WAL append's, whose objects all
 * hold events made for it (docs/wal.md, "A lost compare-and-swap"); it is deleted before its
 * `.keep` goes, and never under `extensions.preciousObjects`. Any other pack may hold objects
 * another writer wrote too (a rebase's, a repair's, a snapshot's, a lock's), and git's repack,
 * which packs nothing a kept pack holds, may have deleted their other copies meanwhile: it is only
 * released, as is one whose `moveRef` threw (it may have moved some ref before it failed). git's
 * gc drops it if nothing reaches it (docs/wal.md, "Two writers of the same objects").
 */
export async function publishPack(
  objects: ObjectStore,
  pack: PackBuilder,
  moveRef: () => Promise<boolean>,
  discard: () => Promise<boolean> = () => Promise.resolve(false),
): Promise<boolean> {
  objects.checkFormat();
  const name = pack.write(objects.gitDir, { fsync: objects.fsync, keep: true });
  if (name === null) return moveRef();
  let moved = false;
  try {
    moved = await moveRef();
    if (!moved && !objects.preciousObjects && (await discard())) deletePack(objects.gitDir, name);
  } finally {
    releasePack(join(objects.gitDir, 'objects', 'pack'), name);
  }
  if (!moved) return false;
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
