import { createRequire } from 'node:module';
import { blake2b } from '@noble/hashes/blake2.js';

interface Hasher {
  init(): Hasher;
  update(data: Uint8Array): Hasher;
  digest(format: 'binary'): Uint8Array;
}

let wasm256: Hasher | null = null;
let wasm128: Hasher | null = null;
let loading: Promise<void> | null = null;

/**
 * BLAKE2b-256 compiled to WebAssembly (hash-wasm) is about 8x faster than @noble/hashes' JS on
 * event-sized inputs, which is most of the cost of verifying event ids in a rebuild or a large
 * sync (docs/performance.md). WebAssembly loads asynchronously, so bulk readers await this first;
 * everything else, and everything before it resolves (or if it cannot load), hashes in JS. Both
 * give the same bytes (test/core/hash-vectors.test.ts checks each against the SPEC vectors).
 */
export function loadFastHash(): Promise<void> {
  loading ??= Promise.resolve()
    .then(requireBlake2b)
    .then(({ createBLAKE2b }) => Promise.all([createBLAKE2b(256), createBLAKE2b(128)]))
    .then(
      ([h256, h128]) => {
        wasm256 = h256;
        wasm128 = h128;
      },
      () => {
        /* no WebAssembly: the JS implementation serves */
      },
    );
  return loading;
}

/**
 * hash-wasm's BLAKE2b-only build (16 KB), required: its index holds every algorithm (280 KB), and
 * importing CommonJS from an ES module or the bundle starts node's ES module loader, which parses
 * the file for its exports first (~30 ms of start-up for a rebuild or a sync).
 */
function requireBlake2b(): { createBLAKE2b(bits: number): Promise<Hasher> } {
  return createRequire(import.meta.url)('hash-wasm/dist/blake2b.umd.min.js');
}

export function blake2b256(data: Uint8Array): Uint8Array {
  // The hasher is reused: init/update/digest run synchronously, so calls never interleave.
  if (wasm256) return wasm256.init().update(data).digest('binary');
  return blake2b(data, { dkLen: 32 });
}

/**
 * BLAKE2b-256 of `head` followed by `body`, without joining them first: a bulk reader checks each
 * event id this way, and a fresh array per event cost several times the hashing itself.
 */
export function blake2b256Of(head: Uint8Array, body: Uint8Array): Uint8Array {
  if (wasm256) return wasm256.init().update(head).update(body).digest('binary');
  return blake2b.create({ dkLen: 32 }).update(head).update(body).digest();
}

/** The derivation of context issue ids, checked for every ContextUpdated a rebuild applies. */
export function blake2b128(data: Uint8Array): Uint8Array {
  if (wasm128) return wasm128.init().update(data).digest('binary');
  return blake2b(data, { dkLen: 16 });
}
