/**
 * Plain CBOR (cbor-x): maps with text keys, no record extension and no shared structures, so what
 * one side encodes any CBOR reader decodes without state shared with the encoder: another
 * process (IPC messages) or another thread (the store's issue rows, folded on a helper thread
 * during a rebuild: src/core/fill-folds.ts).
 */
import { Decoder, Encoder } from 'cbor-x';

/** cbor-x's `useBuffer` (its README, "Arena Allocation"), which its typings leave out. */
type ArenaEncoder = Encoder & { useBuffer(buffer: Buffer): void };
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false }) as ArenaEncoder;
/**
 * cbor-x writes value after value into one buffer per thread (shared by all its encoders), grown
 * to four times the largest value it wrote and never shrunk, and returns views into it. One a
 * large value grew past this is left to that value's bytes: kept, a 12 MB issue body held 48 MB
 * per thread for good, and each later view took it along.
 */
const KEPT_BUFFER_BYTES = 1 << 20;
/** The size cbor-x starts with. A Buffer (its text writes use `utf8Write`), not from the shared pool. */
const freshBuffer = () => Buffer.allocUnsafeSlow(8192);
// A 64-bit integer (what `encodeForPeers` writes for a timestamp) decodes as a number, as it went in.
// (cbor-x reads the option; its typings do not list it.)
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);
// Rows only this program writes hold a 64-bit integer only where `encode` was given a bigint.
const rowDecoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** A view into the encoder's buffer: for bytes written or copied at once (a store row, a socket), never kept or posted as they are. */
export function encode(value: unknown): Uint8Array {
  const bytes = encoder.encode(value);
  if (bytes.buffer.byteLength > KEPT_BUFFER_BYTES) encoder.useBuffer(freshBuffer());
  return bytes;
}

/**
 * For another program (IPC messages): cbor-x writes a number beyond 32 bits, such as a ms
 * timestamp, as a float64, which a client in a typed language reading a u64 refuses; as a
 * BigInt it writes a CBOR integer. (Rows only this program reads skip the extra pass.)
 * A view into the encoder's buffer, as `encode`'s (a message posted to another thread is copied
 * out of it: `encodeMessageToPost`).
 */
export function encodeForPeers(value: unknown): Uint8Array {
  return encode(wideIntegersAsBigInt(value));
}

/** Whole numbers a CBOR integer holds (up to 64 bits), including a timestamp above 2^53 rounded to a number (src/core/timestamp.ts). */
const isCborInteger = (v: number) => Number.isInteger(v) && v < 2 ** 64 && v > -(2 ** 64);

function wideIntegersAsBigInt(v: unknown): unknown {
  if (typeof v === 'number') return isCborInteger(v) && (v > 0xffffffff || v < -0x100000000) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(wideIntegersAsBigInt);
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
  // Every reply a daemon sends passes here: a plain loop (Object.fromEntries of mapped pairs costs
  // ~2.5x), with `__proto__` kept as a key (an error's details may echo a caller's JSON holding it,
  // src/core/redact-url.ts), which `out[k] = …` would make the copy's prototype.
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = wideIntegersAsBigInt((v as Record<string, unknown>)[k]);
    if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
    else out[k] = x;
  }
  return out;
}

export function decode(body: Uint8Array): unknown {
  return decoder.decode(body);
}

/**
 * For the store's rows (`encode`d by this program): a bigint comes back as a bigint, where `decode`
 * would round it to a number. The fold keeps timestamps above 2^53 - 1 so (src/core/timestamp.ts
 * `ExactTs`), and a rounded one would order wrongly.
 */
export function decodeRow(body: Uint8Array): unknown {
  return rowDecoder.decode(body);
}
