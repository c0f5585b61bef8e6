/**
 * The write-ahead log on `refs/grit/wal` (SPEC §3): one commit per append, holding only its own
 * chunk and `meta.json`, parent = the previous head, the ref moved by compare-and-swap.
 */
import * as fs from 'node:fs';
import { decodeChunk, encodeChunk } from '../core/chunk.js';
import { GritError, walError } from '../core/errors.js';
import type { Event } from '../core/event.js';
import { fromHex, toHex } from '../core/hex.js';
import { crashPoint } from '../core/fault.js';
import { casRef, readRef } from './refs.js';

export const WAL_REF = 'refs/grit/wal';

export interface WalMeta {
  schema_version: 1;
  actor_id: string;
  chunk_hash: string;
  prev_wal: string | null;
}

export interface WalCommit {
  oid: string;
  actor: string;
  chunkHash: string;
  events: Event[];
}

export interface AppendResult {
  commit: string;
  chunkHash: string;
  parent: string | null;
}

/** isomorphic-git costs ~30 ms to load; a read whose store is current never needs it. */
let gitModule: typeof import('isomorphic-git').default | undefined;
async function loadGit(): Promise<typeof import('isomorphic-git').default> {
  gitModule ??= (await import('isomorphic-git')).default;
  return gitModule;
}

const utf8 = new TextEncoder();
const pad = (n: number) => String(n).padStart(2, '0');
const MAX_CAS_ATTEMPTS = 200;

export class Wal {
  readonly gitDir: string;
  /** isomorphic-git's object cache, shared by every read of this instance (packfile indexes). */
  private readonly cache: object = {};

  constructor(gitDir: string) {
    this.gitDir = gitDir;
  }

  head(): Promise<string | null> {
    return readRef(this.gitDir, WAL_REF);
  }

  private async writeTree(entries: { path: string; oid: string; type: 'blob' | 'tree' }[]): Promise<string> {
    const git = await loadGit();
    return git.writeTree({
      fs,
      gitdir: this.gitDir,
      tree: entries.map((e) => ({ ...e, mode: e.type === 'tree' ? '040000' : '100644' })),
    });
  }

  /** Writes the chunk, meta and trees; returns the root tree and the chunk hash. */
  private async writeChunkTree(events: readonly Event[], actorHex: string, parent: string | null) {
    const git = await loadGit();
    const chunk = encodeChunk(events);
    const chunkHash = toHex(chunk.hash);
    const d = new Date(events[0]?.ts_unix_ms ?? Date.now());
    const meta: WalMeta = { schema_version: 1, actor_id: actorHex, chunk_hash: chunkHash, prev_wal: parent };
    const [chunkOid, metaOid] = await Promise.all([
      git.writeBlob({ fs, gitdir: this.gitDir, blob: chunk.bytes }),
      git.writeBlob({ fs, gitdir: this.gitDir, blob: utf8.encode(JSON.stringify(meta, null, 2) + '\n') }),
    ]);
    let tree = await this.writeTree([{ path: `${chunkHash}.bin`, oid: chunkOid, type: 'blob' }]);
    for (const part of [pad(d.getUTCDate()), pad(d.getUTCMonth() + 1), String(d.getUTCFullYear())]) {
      tree = await this.writeTree([{ path: part, oid: tree, type: 'tree' }]);
    }
    const root = await this.writeTree([
      { path: 'events', oid: tree, type: 'tree' },
      { path: 'meta.json', oid: metaOid, type: 'blob' },
    ]);
    return { root, chunkHash };
  }

  /**
   * Appends events as one commit. When another writer moved the head first, the commit is
   * rebuilt on the new head and tried again, so racing writers never lose a commit.
   */
  async append(events: readonly Event[], actorHex: string): Promise<AppendResult> {
    if (events.length === 0) throw new GritError('internal_error', 'nothing to append');
    const git = await loadGit();
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const parent = await this.head();
      const { root, chunkHash } = await this.writeChunkTree(events, actorHex, parent);
      const now = Math.floor(Date.now() / 1000);
      const who = { name: 'grit', email: `${actorHex}@grit.invalid`, timestamp: now, timezoneOffset: 0 };
      const commit = await git.writeCommit({
        fs,
        gitdir: this.gitDir,
        commit: {
          message: `grit: ${events.length} event${events.length === 1 ? '' : 's'}\n`,
          tree: root,
          parent: parent ? [parent] : [],
          author: who,
          committer: who,
        },
      });
      crashPoint('wal:after-objects');
      if (await casRef(this.gitDir, WAL_REF, parent, commit)) return { commit, chunkHash, parent };
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 + attempt * 2)));
    }
    throw new GritError('db_busy', 'the WAL head kept moving; gave up appending', {
      suggestion: 'retry the command',
    });
  }

  /** Reads and fully validates one WAL commit. */
  async readCommit(oid: string): Promise<WalCommit & { parent: string | null }> {
    const where = { commit: oid };
    const git = await loadGit();
    try {
      const { commit } = await git.readCommit({ fs, gitdir: this.gitDir, oid, cache: this.cache });
      const rootTree = await git.readTree({ fs, gitdir: this.gitDir, oid: commit.tree, cache: this.cache });
      const metaEntry = rootTree.tree.find((e) => e.path === 'meta.json' && e.type === 'blob');
      if (!metaEntry) throw walError(`WAL commit ${oid} has no meta.json`, where);
      const metaBlob = await git.readBlob({ fs, gitdir: this.gitDir, oid: metaEntry.oid, cache: this.cache });
      const meta = parseMeta(metaBlob.blob, oid);
      let treeOid = rootTree.tree.find((e) => e.path === 'events' && e.type === 'tree')?.oid;
      const file = `${meta.chunk_hash}.bin`;
      let chunkOid: string | undefined;
      for (let depth = 0; treeOid && depth < 4 && !chunkOid; depth++) {
        const t = await git.readTree({ fs, gitdir: this.gitDir, oid: treeOid, cache: this.cache });
        if (depth === 3) chunkOid = t.tree.find((e) => e.path === file && e.type === 'blob')?.oid;
        else treeOid = t.tree.length === 1 && t.tree[0].type === 'tree' ? t.tree[0].oid : undefined;
      }
      if (!chunkOid) throw walError(`WAL commit ${oid} has no events/YYYY/MM/DD/${file}`, where);
      const chunk = await git.readBlob({ fs, gitdir: this.gitDir, oid: chunkOid, cache: this.cache });
      const events = decodeChunk(chunk.blob, fromHex(meta.chunk_hash, 32)!);
      return { oid, actor: meta.actor_id, chunkHash: meta.chunk_hash, events, parent: commit.parent[0] ?? null };
    } catch (err) {
      if (err instanceof GritError) {
        if (err.code === 'wal_error' && !('commit' in err.details)) throw walError(`WAL commit ${oid}: ${err.message}`, where);
        throw err;
      }
      throw walError(`cannot read WAL commit ${oid}: ${(err as Error).message}`, where);
    }
  }

  /**
   * Every commit after `fromExclusive` up to `to` (default: the head), oldest first. When
   * `fromExclusive` is not on the first-parent chain the whole history is returned; applying is
   * idempotent. Everything is validated before anything is returned.
   */
  async readSince(fromExclusive: string | null, to?: string | null): Promise<WalCommit[]> {
    const out: WalCommit[] = [];
    let oid = to === undefined ? await this.head() : to;
    while (oid && oid !== fromExclusive) {
      const c = await this.readCommit(oid);
      out.push({ oid: c.oid, actor: c.actor, chunkHash: c.chunkHash, events: c.events });
      oid = c.parent;
    }
    return out.reverse();
  }
}

function parseMeta(bytes: Uint8Array, oid: string): WalMeta {
  let meta: Partial<WalMeta>;
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw walError(`WAL commit ${oid}: meta.json is not JSON`, { commit: oid });
  }
  if (
    meta?.schema_version !== 1 ||
    typeof meta.actor_id !== 'string' ||
    !/^[0-9a-f]{32}$/.test(meta.actor_id) ||
    typeof meta.chunk_hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(meta.chunk_hash)
  ) {
    throw walError(`WAL commit ${oid}: meta.json does not match schema_version 1`, { commit: oid });
  }
  return meta as WalMeta;
}
