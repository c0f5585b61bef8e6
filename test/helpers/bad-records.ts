/** Chunk records that only decoding finds bad: their ids are right. */
import { encodeCanonical, type CborValue } from '../../src/core/cbor.js';
import { blake2b256 } from '../../src/core/hash.js';

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
