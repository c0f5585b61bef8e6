/**
 * Git's object formats: an object's id, and trees and commits to and from their bytes. Pure
 * functions of bytes, shared by the readers (objects.ts) and the writers (pack-write.ts and what
 * builds WAL, lock and snapshot commits).
 */
import { createHash, hash } from 'node:crypto';
import { isOid } from '../core/hex.js';
import { objectError } from './object-errors.js';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export interface GitObject {
  type: ObjectType;
  content: Buffer;
}

export interface TreeEntry {
  /** As git stores it: `100644`, `100755`, `120000`, `40000` (tree) or `160000` (gitlink). */
  mode: string;
  name: string;
  oid: string;
}

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** Minutes east of UTC (git's `+0100` is 60). Default 0. */
  tzOffsetMinutes?: number;
}

export interface CommitData {
  tree: string;
  parents: string[];
  author: Signature;
  committer: Signature;
  message: string;
}

export interface ParsedCommit {
  tree: string;
  parents: string[];
  /** The raw `author` and `committer` header values. */
  author: string;
  committer: string;
  message: string;
}

function sha1Hex(...parts: Uint8Array[]): string {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function header(type: ObjectType, length: number): Buffer {
  return Buffer.from(`${type} ${length}\0`, 'latin1');
}

/** Where `hashObject` joins the header and content of an object that fits. */
const joined = Buffer.allocUnsafe(1 << 16);

/**
 * The object id git gives `content` stored as `type`. For the small objects a WAL is made of,
 * header and content are copied into one buffer for the one-shot `crypto.hash`: about twice as
 * fast as a streaming Hash object (reads check every object they return). That buffer is reused:
 * one per object was ~2,000 fresh pages in a 100k-event rebuild, each a page fault
 * (docs/performance.md, "Fewer fresh pages").
 */
export function hashObject(type: ObjectType, content: Uint8Array): string {
  const head = `${type} ${content.length}\0`;
  const length = head.length + content.length;
  if (length > joined.length) return sha1Hex(header(type, content.length), content);
  joined.write(head, 0, 'latin1');
  joined.set(content, head.length);
  return hash('sha1', joined.subarray(0, length), 'hex');
}

function checkName(name: string): void {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw objectError(`invalid tree entry name ${JSON.stringify(name)}`);
  }
}

/** Tree entries in git's order: by name bytes, a subtree's name compared as if it ended in `/`. */
function sortKey(e: TreeEntry): Buffer {
  return Buffer.from(e.mode === '40000' ? `${e.name}/` : e.name, 'utf8');
}

export function encodeTree(entries: readonly TreeEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => Buffer.compare(sortKey(a), sortKey(b)));
  const parts: Buffer[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    checkName(e.name);
    if (!/^(100644|100755|120000|40000|160000)$/.test(e.mode)) throw objectError(`invalid tree entry mode ${e.mode}`);
    if (!isOid(e.oid)) throw objectError(`invalid object id ${JSON.stringify(e.oid)}`);
    if (i > 0 && sorted[i - 1].name === e.name) throw objectError(`duplicate tree entry ${JSON.stringify(e.name)}`);
    parts.push(Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.oid, 'hex'));
  }
  return Buffer.concat(parts);
}

export function parseTree(content: Buffer): TreeEntry[] {
  const out: TreeEntry[] = [];
  let pos = 0;
  while (pos < content.length) {
    const space = content.indexOf(0x20, pos);
    const nul = space < 0 ? -1 : content.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > content.length) throw objectError('malformed tree object');
    out.push({
      mode: content.toString('latin1', pos, space),
      name: content.toString('utf8', space + 1, nul),
      oid: content.toString('hex', nul + 1, nul + 21),
    });
    pos = nul + 21;
  }
  return out;
}

function formatSignature(s: Signature): string {
  if (/[<>\n]/.test(s.name) || /[<>\n]/.test(s.email)) throw objectError('invalid name or email in signature');
  const tz = s.tzOffsetMinutes ?? 0;
  const abs = Math.abs(tz);
  const zone = `${tz < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  return `${s.name} <${s.email}> ${Math.floor(s.timestamp)} ${zone}`;
}

export function encodeCommit(c: CommitData): Buffer {
  if (!isOid(c.tree) || !c.parents.every(isOid)) throw objectError('invalid object id in commit');
  const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`)];
  lines.push(`author ${formatSignature(c.author)}`, `committer ${formatSignature(c.committer)}`);
  return Buffer.from(`${lines.join('\n')}\n\n${c.message}`, 'utf8');
}

/**
 * Parses a commit's headers and message. Each field is decoded from its own bytes: slices of the
 * whole commit's text would be V8 sliced strings, each keeping the whole text alive, and a chain
 * walk keeps every commit's tree and parent ids (40k commit texts through a WAL rebuild).
 * Lines split at the `\n` byte, which never occurs inside a UTF-8 sequence: decoding each line on
 * its own gives what decoding the whole text and splitting it gives.
 */
export function parseCommit(content: Buffer): ParsedCommit {
  const end = content.indexOf('\n\n');
  const headEnd = end < 0 ? content.length : end;
  const out: ParsedCommit = { tree: '', parents: [], author: '', committer: '', message: end < 0 ? '' : content.toString('utf8', end + 2) };
  for (let pos = 0; pos < headEnd; ) {
    let lineEnd = content.indexOf(0x0a, pos);
    if (lineEnd < 0 || lineEnd > headEnd) lineEnd = headEnd;
    const sp = content.indexOf(0x20, pos);
    // A line starting with a space continues a multi-line header (gpgsig, mergetag).
    if (sp > pos && sp < lineEnd) {
      const key = content.toString('latin1', pos, sp);
      if (key === 'tree' && !out.tree) out.tree = content.toString('latin1', sp + 1, lineEnd);
      else if (key === 'parent') out.parents.push(content.toString('latin1', sp + 1, lineEnd));
      else if (key === 'author') out.author = content.toString('utf8', sp + 1, lineEnd);
      else if (key === 'committer') out.committer = content.toString('utf8', sp + 1, lineEnd);
    }
    pos = lineEnd + 1;
  }
  if (!isOid(out.tree) || !out.parents.every(isOid)) throw objectError('malformed commit object');
  return out;
}
