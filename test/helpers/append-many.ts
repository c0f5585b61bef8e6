/** A WAL writer process for race tests: `node append-many.js <gitDir> <count> <actorHex>`. */
import { makeEvent } from '../../src/core/event.js';
import { fromHex } from '../../src/core/hex.js';
import { Wal } from '../../src/git/wal.js';

const [gitDir, count, actorHex] = process.argv.slice(2);
const wal = new Wal(gitDir);
const actor = fromHex(actorHex, 16)!;
for (let k = 0; k < Number(count); k++) {
  const e = makeEvent({
    issue_id: new Uint8Array(16).fill(1),
    actor,
    ts_unix_ms: Date.now(),
    parent: null,
    kind: { type: 'CommentAdded', body: `${actorHex.slice(0, 4)}-${k}` },
  });
  await wal.append([e], actorHex);
}
