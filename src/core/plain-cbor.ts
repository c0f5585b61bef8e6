/**
 * Plain CBOR (cbor-x): maps with text keys, no record extension and no shared structures, so what
 * one side encodes any CBOR reader decodes without state shared with the encoder: another
 * process (IPC messages) or another thread (the store's issue rows, folded on a helper thread
 * during a rebuild: src/core/fill-folds.ts).
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
