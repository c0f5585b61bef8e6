/**
 * Generates a large, varied WAL in-process by appending commits with `Wal.append` (no CLI spawns):
 * every event kind, several actors (some signing), events that arrive before their issue's
 * IssueCreated, same-millisecond ties, add/remove races on sets, context and project events,
 * and commits holding several events. Deterministic for a seed.
 */
import { createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeEvent, type Event } from '../../src/core/event.js';
import { fromHex, toHex } from '../../src/core/hex.js';
import { contextIssueId, PROJECT_CONTEXT_ID } from '../../src/core/ids.js';
import type { EventKind } from '../../src/core/kinds.js';
import { encodeChunk } from '../../src/core/chunk.js';
import { PackBuilder } from '../../src/git/pack-write.js';
import { casRef } from '../../src/git/refs.js';
import { Wal, WAL_REF, writeEventsTree, writeWalCommit } from '../../src/git/wal.js';
import { pick, rng } from './random.js';

export interface GenActor {
  /** 32 hex chars. */
  id: string;
  /** 32-byte Ed25519 secret key (hex) when this actor signs. */
  secretKey?: string;
}

export interface GenOptions {
  seed: number;
  events: number;
  actors: GenActor[];
  /** Most events per WAL commit (default 4). */
  batchMax?: number;
  /** First timestamp (default 1.7e12). */
  startTs?: number;
  /**
   * Write every commit into one pack and move the ref once, instead of appending loose objects
   * commit by commit: the same commits, built in a fraction of the time (for 100k-event WALs).
   */
  packed?: boolean;
  /** With `packed`: the event count each commit's message states, given the count it holds (default: that). */
  statedEvents?: (held: number) => number;
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

function signer(secretHex: string): (id: Uint8Array) => Uint8Array {
  const key: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, Buffer.from(secretHex, 'hex')]), format: 'der', type: 'pkcs8' });
  return (id) => new Uint8Array(cryptoSign(null, id, key));
}

/** Makes a signing actor's public key known to the repository, as an imported teammate's key would be. */
export function trustKey(gitDir: string, actor: GenActor & { secretKey: string }): void {
  const secret = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, Buffer.from(actor.secretKey, 'hex')]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(secret).export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
  const dir = join(gitDir, 'grit', 'actors', actor.id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.toml'), `actor_id = "${actor.id}"\nlabel = ""\ncreated_ts = 0\npublic_key = "${pub}"\nkey_scheme = "ed25519"\n`);
}

const LABELS = ['bug', 'feature', 'p0', 'p1', 'ui', 'docs'];
const USERS = ['alice', 'bob', 'carol'];
const PATHS = ['src/a.ts', 'src/b.ts', 'README.md'];

export interface GenResult {
  events: Event[];
  commits: number;
  issueIds: string[];
  nextTs: number;
}

/** Appends `opts.events` events to the WAL of `gitDir`. */
export async function generateWal(gitDir: string, opts: GenOptions): Promise<GenResult> {
  const rand = rng(opts.seed);
  const wal = new Wal(gitDir, { fsync: false });
  const actors = opts.actors.map((a) => ({ id: fromHex(a.id, 16)!, hex: a.id, sign: a.secretKey ? signer(a.secretKey) : undefined }));
  const issues: Uint8Array[] = [];
  const future: Uint8Array[] = []; // ids that get events before their IssueCreated
  const lastOf = new Map<string, Uint8Array>();
  const all: Event[] = [];
  let ts = opts.startTs ?? 1_700_000_000_000;
  let commits = 0;
  const randomId = () => {
    const b = new Uint8Array(16);
    for (let i = 0; i < 16; i++) b[i] = Math.floor(rand() * 256);
    return b;
  };
  const hash32 = () => {
    const b = new Uint8Array(32);
    for (let i = 0; i < 32; i++) b[i] = Math.floor(rand() * 256);
    return b;
  };

  const nextKind = (): { issue: Uint8Array; kind: EventKind } => {
    const r = rand();
    if (issues.length === 0 || r < 0.08) {
      // Sometimes create an issue that already has early events.
      const id = future.length && rand() < 0.5 ? future.shift()! : randomId();
      issues.push(id);
      return {
        issue: id,
        kind: { type: 'IssueCreated', title: `issue ${issues.length}`, body: `body ${Math.floor(rand() * 1e6)}`, labels: rand() < 0.5 ? [pick(LABELS, rand), pick(LABELS, rand)].filter((v, i, a) => a.indexOf(v) === i) : [] },
      };
    }
    if (r < 0.1) {
      const id = randomId();
      future.push(id);
      return { issue: id, kind: { type: 'CommentAdded', body: 'before creation' } };
    }
    if (r < 0.13) {
      const path = pick(PATHS, rand);
      return { issue: contextIssueId(path), kind: contextKind(path) };
    }
    if (r < 0.15) return { issue: PROJECT_CONTEXT_ID, kind: { type: 'ProjectContextUpdated', key: pick(['lang', 'build', 'owner'], rand), value: `v${Math.floor(rand() * 100)}` } };
    const issue = pick(issues, rand);
    const k = Math.floor(rand() * 12);
    switch (k) {
      case 0:
        return { issue, kind: { type: 'IssueUpdated', title: rand() < 0.6 ? `title ${Math.floor(rand() * 1e6)}` : null, body: rand() < 0.5 ? `new body ${Math.floor(rand() * 1e6)}` : null } };
      case 1:
      case 2:
        return { issue, kind: { type: 'CommentAdded', body: `comment ${Math.floor(rand() * 1e6)}, "quoted"\nline 2` } };
      case 3:
        return { issue, kind: { type: 'LabelAdded', label: pick(LABELS, rand) } };
      case 4:
        return { issue, kind: { type: 'LabelRemoved', label: pick(LABELS, rand) } };
      case 5:
        return { issue, kind: { type: 'StateChanged', state: rand() < 0.5 ? 'closed' : 'open' } };
      case 6:
        return { issue, kind: { type: 'LinkAdded', url: `https://example.com/${Math.floor(rand() * 1e6)}`, note: rand() < 0.5 ? 'note' : null } };
      case 7:
        return { issue, kind: { type: 'AssigneeAdded', user: pick(USERS, rand) } };
      case 8:
        return { issue, kind: { type: 'AssigneeRemoved', user: pick(USERS, rand) } };
      case 9:
        return { issue, kind: { type: 'AttachmentAdded', name: `file${Math.floor(rand() * 100)}.log`, sha256: hash32(), mime: 'text/plain' } };
      case 10:
        return { issue, kind: { type: 'DependencyAdded', target: pick(issues, rand), dep_type: pick(['blocks', 'depends_on', 'related_to'] as const, rand) } };
      default:
        return { issue, kind: { type: 'DependencyRemoved', target: pick(issues, rand), dep_type: pick(['blocks', 'depends_on', 'related_to'] as const, rand) } };
    }
  };
  function contextKind(path: string): EventKind {
    return {
      type: 'ContextUpdated',
      path,
      language: 'typescript',
      symbols: [
        { name: `fn${Math.floor(rand() * 10)}`, kind: 'function', line_start: 1, line_end: 9 },
        { name: 'A', kind: 'class', line_start: 10, line_end: 20 },
      ],
      summary: `summary ${Math.floor(rand() * 1000)}`,
      content_hash: hash32(),
    };
  }

  const pack = opts.packed ? new PackBuilder() : null;
  const startHead = await wal.head();
  let head = startHead;
  let made = 0;
  const batchMax = opts.batchMax ?? 4;
  while (made < opts.events) {
    const n = Math.min(opts.events - made, 1 + Math.floor(rand() * batchMax));
    const batch: Event[] = [];
    // One actor per commit: meta.json names it, and readers refuse events by anyone else.
    const actor = pick(actors, rand);
    for (let j = 0; j < n; j++) {
      const { issue, kind } = nextKind();
      // Mostly increasing time, with same-millisecond ties and some events from the "past".
      const r = rand();
      ts += r < 0.15 ? 0 : 1 + Math.floor(rand() * 50);
      const evTs = rand() < 0.05 ? ts - Math.floor(rand() * 5000) : ts;
      const key = toHex(issue);
      const e = makeEvent({ issue_id: issue, actor: actor.id, ts_unix_ms: evTs, parent: lastOf.get(key) ?? null, kind }, actor.sign);
      lastOf.set(key, e.event_id);
      batch.push(e);
    }
    const actorHex = toHex(batch[0].actor);
    if (pack) {
      const chunk = encodeChunk(batch);
      const chunkHash = toHex(chunk.hash);
      const tree = writeEventsTree(pack.sink(), chunk.bytes, chunkHash, batch[0].ts_unix_ms);
      head = writeWalCommit(pack.sink(), tree, { actorHex, chunkHash, parent: head, eventCount: opts.statedEvents?.(n) ?? n, timestamp: ts });
    } else {
      await wal.append(batch, actorHex);
    }
    commits++;
    made += n;
    all.push(...batch);
  }
  if (pack && head !== null && head !== startHead) {
    pack.write(gitDir, { fsync: false });
    if (!(await casRef(gitDir, WAL_REF, startHead, head))) throw new Error('the WAL moved while a packed WAL was generated');
  }
  wal.objects.close();
  return { events: all, commits, issueIds: issues.map(toHex), nextTs: ts + 1 };
}
