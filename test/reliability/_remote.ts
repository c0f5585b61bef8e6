/** Building WAL commits in a bare "remote" with git plumbing only: what a forger with push access can do. */
import { encodeChunk } from '../../src/core/chunk.js';
import { blake2b256 } from '../../src/core/hash.js';
import { toHex } from '../../src/core/hex.js';
import { git } from '../helpers/repo.js';
import { gitBytes } from '../sync/_helpers.js';
import { sampleEvents } from './_hostile.js';

export const put = (remote: string, content: Uint8Array | string) => gitBytes(remote, ['hash-object', '-w', '--stdin'], content).toString().trim();
export const mktree = (remote: string, lines: string) => gitBytes(remote, ['mktree'], lines).toString().trim();

export interface Parts {
  chunkBlob?: string;
  chunkName?: string;
  meta?: string | Uint8Array;
  extraRoot?: string;
  parents?: string[];
}

/** A WAL commit on the remote's head in SPEC §3 layout, with any part replaced. Moves the remote ref. */
export function remoteCommit(remote: string, actor: string, p: Parts): string {
  const head = git(remote, 'rev-parse', 'refs/grit/wal').trim();
  const chunk = p.chunkBlob ?? put(remote, encodeChunk(sampleEvents()).bytes);
  const name = p.chunkName ?? `${'a'.repeat(64)}.bin`;
  let tree = mktree(remote, `100644 blob ${chunk}\t${name}\n`);
  for (const part of ['01', '01', '2030']) tree = mktree(remote, `040000 tree ${tree}\t${part}\n`);
  const hash = name.slice(0, 64);
  const meta = p.meta ?? `{"schema_version":1,"actor_id":"${actor}","chunk_hash":"${hash}","prev_wal":"${head}"}\n`;
  const root = mktree(remote, `040000 tree ${tree}\tevents\n100644 blob ${put(remote, meta)}\tmeta.json\n${p.extraRoot ?? ''}`);
  const parents = (p.parents ?? [head]).flatMap((x) => ['-p', x]);
  const commit = gitBytes(remote, ['commit-tree', root, ...parents, '-m', 'grit: 1 event']).toString().trim();
  git(remote, 'update-ref', 'refs/grit/wal', commit);
  return commit;
}

/** A commit whose chunk is `bytes`, named and described by its true hash (so only the content, or what `more` replaces, is hostile). */
export function chunkCommit(remote: string, actor: string, bytes: Uint8Array, more: Parts = {}): string {
  return remoteCommit(remote, actor, { chunkBlob: put(remote, bytes), chunkName: `${toHex(blake2b256(bytes))}.bin`, ...more });
}

