import type { ObjectSink } from '../../src/git/objects.js';
import { PackBuilder } from '../../src/git/pack-write.js';

/** Writes the objects `build` gives its sink as one pack in `gitDir` (as another tool would, no ref moved); returns what `build` returns. */
export function writeObjects<T>(gitDir: string, build: (sink: ObjectSink) => T): T {
  const pack = new PackBuilder();
  const out = build(pack.sink());
  pack.write(gitDir, { fsync: false });
  return out;
}
