/**
 * CBOR for IPC messages (cbor-x): plain maps with text keys, no record extension, so any CBOR
 * library on the other end reads what we send.
 */
import { Decoder, Encoder } from 'cbor-x';

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}

export function decode(body: Uint8Array): unknown {
  return decoder.decode(body);
}
