/** Chunk records that only decoding finds bad: their ids are right. */
import { encodeCanonical, type CborValue } from '../../src/core/cbor.js';
import { kindPayload, kindTag } from '../../src/core/event.js';
import { blake2b256 } from '../../src/core/hash.js';
import { contextIssueId, PROJECT_CONTEXT_ID } from '../../src/core/ids.js';
import type { EventKind } from '../../src/core/kinds.js';

/** A canonical chunk record, its id the hash of its content, of a kind tag (99) that no grit knows. */
export function unknownKindRecord(issue: Uint8Array, actor: Uint8Array, ts: number): Uint8Array {
  const fields: CborValue[] = [issue, actor, ts, null, 99, ['x']];
  return encodeCanonical([blake2b256(encodeCanonical([1, ...fields])), ...fields, null]);
}

/** Chunk bytes (SPEC §3) holding these records as they are. */
export function chunkOfRecords(records: readonly Uint8Array[]): Uint8Array {
  const n = records.length;
  const head = n < 24 ? [0x80 | n] : n < 256 ? [0x98, n] : [0x99, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from('GRITCHNK'), Buffer.from([1, 0, 7]), Buffer.from('cbor-v1'), Buffer.from(head), ...records]);
}

/**
 * A canonical chunk record whose set-like list is not in the order SPEC §1 hashes it in (IssueCreated
 * labels `["zz", "aa"]`, or ContextUpdated symbols `b` before `a`), its id the hash of the record as
 * it is: what the id check over the record's bytes alone would take.
 */
export function unsortedListRecord(list: 'labels' | 'symbols', issue: Uint8Array, actor: Uint8Array, ts: number): Uint8Array {
  const payload: CborValue =
    list === 'labels'
      ? ['crafted', 'b', ['zz', 'aa']]
      : ['src/a.ts', 'typescript', [['b', 'function', 1, 2], ['a', 'function', 3, 4]], 's', new Uint8Array(32)];
  const fields: CborValue[] = [issue, actor, ts, null, list === 'labels' ? 1 : 13, payload];
  return encodeCanonical([blake2b256(encodeCanonical([1, ...fields])), ...fields, null]);
}

/**
 * A chunk record whose timestamp is `ts` as it stands (a CBOR item: any u64 SPEC allows, or what
 * no u64 is), its id the hash of the preimage holding those same bytes: what another
 * implementation writes, built without grit's event code.
 */
export function recordWithTs(issue: Uint8Array, actor: Uint8Array, ts: Uint8Array, tag: number, payload: CborValue): Uint8Array {
  const fields = [encodeCanonical(issue), encodeCanonical(actor), ts, encodeCanonical(null), encodeCanonical(tag), encodeCanonical(payload)];
  const id = blake2b256(Buffer.concat([Buffer.from([0x87, 0x01]), ...fields]));
  return Buffer.concat([Buffer.from([0x88]), encodeCanonical(id), ...fields, encodeCanonical(null)]);
}

/** The issue id SPEC §1 files `kind` under: its context id for context kinds, else `issue`. */
export function ownIssueId(kind: EventKind, issue: Uint8Array): Uint8Array {
  if (kind.type === 'ProjectContextUpdated') return PROJECT_CONTEXT_ID;
  return kind.type === 'ContextUpdated' ? contextIssueId(kind.path) : issue;
}

/**
 * Canonical chunk records, their ids right, whose kind and issue id disagree (SPEC §1): an issue
 * kind and a file's context under the project-context id, project context under an issue's id, a
 * file's context under another path's id. With the issue id and kind each was made of.
 */
export function misfiledRecords(actor: Uint8Array, ts: number): Array<{ what: string; issue: Uint8Array; kind: EventKind; record: Uint8Array }> {
  const file: EventKind = { type: 'ContextUpdated', path: 'src/a.ts', language: 'typescript', symbols: [], summary: 's', content_hash: new Uint8Array(32) };
  const cases: Array<[string, Uint8Array, EventKind]> = [
    ['IssueCreated under the project-context id', PROJECT_CONTEXT_ID, { type: 'IssueCreated', title: 'not an issue', body: '', labels: [] }],
    ['CommentAdded under the project-context id', PROJECT_CONTEXT_ID, { type: 'CommentAdded', body: 'hello' }],
    ['ContextUpdated under the project-context id', PROJECT_CONTEXT_ID, file],
    ['ProjectContextUpdated under an issue id', new Uint8Array(16).fill(0xb5), { type: 'ProjectContextUpdated', key: 'k', value: 'v' }],
    ["ContextUpdated under another path's id", contextIssueId('./src/a.ts'), file],
  ];
  return cases.map(([what, issue, kind]) => {
    const fields: CborValue[] = [issue, actor, ts, null, kindTag(kind), kindPayload(kind)];
    return { what, issue, kind, record: encodeCanonical([blake2b256(encodeCanonical([1, ...fields])), ...fields, null]) };
  });
}
