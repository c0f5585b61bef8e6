/**
 * The context projection inside the store (SPEC §2: last writer wins per path and per key):
 * `ctx_files` (path → the winning ContextUpdated), `ctx_symbols` (a name index for
 * `context query`) and `ctx_project` (key → the winning ProjectContextUpdated). Writes happen
 * inside the store's apply transaction; like the rest of the store it is rebuilt from the WAL.
 */
import type { Database, RootDatabase } from 'lmdb';
import { compareEvents, compareSymbols, type Event } from './event.js';
import { toHex } from './hex.js';
import { kindIdMismatch } from './kind-ids.js';
import { HASHED_KEYS, joinedKey, startsWith, textKey } from './index-key.js';
import type { ContextSymbol } from './kinds.js';
import type { ExactTs } from './timestamp.js';

/** Who wrote the winning value: compared as (ts, actor, event_id), the event order of SPEC §2. */
export interface Authorship {
  /** The nearest number above 2^53 - 1, as an event's `ts_unix_ms`. */
  updated_ts: number;
  actor: string;
  event_id: string;
  /** Only above 2^53 - 1: the exact timestamp in decimal, as an event's JSON gives it (docs/wal.md, "Integers"). */
  ts_exact?: string;
}

export interface FileContext extends Authorship {
  path: string;
  language: string;
  /** In line order. */
  symbols: ContextSymbol[];
  summary: string;
  content_hash: string;
}

export interface ProjectEntry extends Authorship {
  key: string;
  value: string;
}

export interface SymbolHit {
  path: string;
  name: string;
  kind: string;
  line_start: number;
  line_end: number;
}

export type MatchTier = 'exact' | 'prefix' | 'substring';

/** A ContextUpdated with an all-zero content hash records that the file is gone. */
export const REMOVED_HASH = '0'.repeat(64);
export const isRemoved = (f: FileContext): boolean => f.content_hash === REMOVED_HASH;

// LMDB keys are limited to 1978 bytes; a symbol with a longer key stays in `ctx_files` only.
const MAX_KEY_BYTES = 1900;

/**
 * A symbol's key in the name index (bytes, NUL-separated: src/core/index-key.ts), its lower-case
 * name first; null (not indexed: found through its file only) when too long or holding a NUL.
 */
function symbolKey(path: string, s: ContextSymbol): Buffer | null {
  const key = joinedKey([s.name.toLowerCase(), path, s.kind, String(s.line_start), s.name]);
  return key && key.length <= MAX_KEY_BYTES ? key : null;
}

/**
 * The order a file's symbols are kept and shown in: by lines, then as SPEC §1 hashes them. A total
 * order, so symbols on the same lines (`typedef struct point {…} point;`) come out alike whether
 * the event was just written (in the extractor's order) or read back from the WAL (in hash order).
 */
export const lineOrder = (a: ContextSymbol, b: ContextSymbol): number =>
  a.line_start - b.line_start || a.line_end - b.line_end || compareSymbols(a, b);

/** The lower-case name a symbol key begins with. */
const nameOfKey = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.indexOf(0)).toString('utf8');

function authorship(e: Event): Authorship {
  const a: Authorship = { updated_ts: e.ts_unix_ms, actor: toHex(e.actor), event_id: toHex(e.event_id) };
  if (e.ts_exact !== undefined) a.ts_exact = String(e.ts_exact);
  return a;
}

/** An entry's timestamp as the fold compares it (src/core/timestamp.ts). */
const exactOf = (a: Authorship): ExactTs => (a.ts_exact === undefined ? a.updated_ts : BigInt(a.ts_exact));

/**
 * What a context event stands to replace: its path's file record or its project key; null for an
 * event `apply` ignores (not a context event, or filed under an issue id that is not its own: the
 * WAL reader refuses those, events given to the store directly are ignored).
 */
function targetOf(e: Event): string | null {
  const k = e.kind;
  if (kindIdMismatch(e.issue_id, k)) return null;
  if (k.type === 'ProjectContextUpdated') return `key:${k.key}`;
  if (k.type === 'ContextUpdated') return `path:${k.path}`;
  return null;
}

/**
 * True when `e` comes after the current winner (hex strings of equal length compare like the
 * bytes). Numbers that differ order as their exact timestamps do; equal ones above 2^53 - 1 may
 * stand for two timestamps a step apart.
 */
function wins(e: Authorship, current: Authorship | undefined): boolean {
  if (!current) return true;
  if (e.updated_ts !== current.updated_ts) return e.updated_ts > current.updated_ts;
  const ts = exactOf(e);
  const currentTs = exactOf(current);
  if (ts !== currentTs) return ts > currentTs;
  if (e.actor !== current.actor) return e.actor > current.actor;
  return e.event_id > current.event_id;
}

export class ContextTables {
  /** By path (`textKey`). */
  private readonly files: Database<FileContext, Uint8Array>;
  /** By `symbolKey`. */
  private readonly symbols: Database<SymbolHit, Uint8Array>;
  /** By key (`textKey`). */
  private readonly project: Database<ProjectEntry, Uint8Array>;

  constructor(root: RootDatabase) {
    this.files = root.openDB({ name: 'ctx_files', keyEncoding: 'binary' });
    this.symbols = root.openDB({ name: 'ctx_symbols', keyEncoding: 'binary' });
    this.project = root.openDB({ name: 'ctx_project', keyEncoding: 'binary' });
  }

  static isContextEvent(e: Event): boolean {
    return e.kind.type === 'ContextUpdated' || e.kind.type === 'ProjectContextUpdated';
  }

  /**
   * Folds context events in (inside a write transaction), as `apply` of each in turn would in any
   * order: per path and per project key the newest event is the one left standing, so only it is
   * applied (a fill brings thousands of updates of a few paths; each applied was a read and a few
   * writes).
   */
  applyAll(events: readonly Event[]): void {
    const newest = new Map<string, Event>();
    for (const e of events) {
      const target = targetOf(e);
      const held = target === null ? undefined : newest.get(target);
      if (target !== null && (!held || compareEvents(e, held) > 0)) newest.set(target, e);
    }
    for (const e of newest.values()) this.apply(e);
  }

  /**
   * Folds one context event in (call inside a write transaction). Events filed under an issue id
   * other than the one SPEC §1 derives for them are ignored: they cannot be the context they claim.
   */
  apply(e: Event): void {
    const k = e.kind;
    if (targetOf(e) === null) return;
    if (k.type === 'ProjectContextUpdated') {
      const next = { key: k.key, value: k.value, ...authorship(e) };
      const key = textKey(k.key);
      if (wins(next, this.project.get(key))) this.project.putSync(key, next);
      return;
    }
    if (k.type !== 'ContextUpdated') return;
    const fileKey = textKey(k.path);
    const before = this.files.get(fileKey);
    const next: FileContext = {
      path: k.path,
      language: k.language,
      symbols: [...k.symbols].sort(lineOrder),
      summary: k.summary,
      content_hash: toHex(k.content_hash),
      ...authorship(e),
    };
    if (!wins(next, before)) return;
    for (const s of before?.symbols ?? []) {
      const key = symbolKey(k.path, s);
      if (key) this.symbols.removeSync(key);
    }
    this.files.putSync(fileKey, next);
    for (const s of next.symbols) {
      const key = symbolKey(k.path, s);
      if (key) this.symbols.putSync(key, { path: k.path, name: s.name, kind: s.kind, line_start: s.line_start, line_end: s.line_end });
    }
  }

  clear(): void {
    for (const db of [this.files, this.symbols, this.project]) db.clearSync();
  }

  file(path: string): FileContext | undefined {
    return this.files.get(textKey(path));
  }

  /** Whether any file was ever indexed (a query with no hit then says more than "index first"). */
  hasFiles(): boolean {
    for (const _ of this.files.getKeys({ limit: 1 })) return true;
    return false;
  }

  /** Every file record (removed ones included) whose path starts with `prefix`. */
  *filesUnder(prefix = ''): Iterable<FileContext> {
    const start = Buffer.from(prefix, 'utf8');
    for (const { key, value } of this.files.getRange(prefix ? { start } : {})) {
      if (!startsWith(key, start)) break;
      yield value;
    }
    // Paths kept by their hash (src/core/index-key.ts) sort after every path kept as itself.
    if (prefix) for (const { value } of this.files.getRange({ start: HASHED_KEYS })) if (value.path.startsWith(prefix)) yield value;
  }

  projectEntry(key: string): ProjectEntry | undefined {
    return this.project.get(textKey(key));
  }

  projectEntries(): ProjectEntry[] {
    return [...this.project.getRange()].map(({ value }) => value);
  }

  /**
   * Symbols by name, best first: exact (case-sensitive), then prefix, then substring (both
   * case-insensitive); within a tier shorter names first, then name, path and line. Exact and
   * prefix hits come from a range of the name index; the substring tier scans its keys, and only
   * when the first two tiers leave room under `limit`. A query longer than an index key can be
   * matches nothing there: no indexed name is that long (and LMDB refuses such a key to start a range at).
   */
  query(q: string, limit: number): { hits: (SymbolHit & { match: MatchTier })[]; truncated: boolean } {
    const lower = q.toLowerCase();
    const start = Buffer.from(lower, 'utf8');
    if (start.length > MAX_KEY_BYTES) return { hits: [], truncated: false };
    const hits: (SymbolHit & { match: MatchTier; tier: number })[] = [];
    for (const { key, value } of this.symbols.getRange({ start })) {
      if (!startsWith(key, start)) break;
      const exact = value.name === q;
      hits.push({ ...value, match: exact ? 'exact' : 'prefix', tier: exact ? 0 : 1 });
    }
    // Exact and prefix hits outrank every substring hit: with more than `limit` of them the scan
    // is skipped, and with exactly `limit` it stops at the first, which only says there are more.
    let more = hits.length > limit;
    if (!more) {
      const full = hits.length === limit;
      for (const key of this.symbols.getKeys()) {
        const name = nameOfKey(key);
        if (name.startsWith(lower) || !name.includes(lower)) continue;
        if (full) {
          more = true;
          break;
        }
        const value = this.symbols.get(key);
        if (value) hits.push({ ...value, match: 'substring', tier: 2 });
      }
    }
    hits.sort(
      (a, b) =>
        a.tier - b.tier ||
        a.name.length - b.name.length ||
        cmp(a.name, b.name) ||
        cmp(a.path, b.path) ||
        a.line_start - b.line_start,
    );
    return { hits: hits.slice(0, limit).map(({ tier: _tier, ...h }) => h), truncated: more || hits.length > limit };
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
