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
  loading ??= import('hash-wasm')
    .then(({ createBLAKE2b }) => Promise.all([createBLAKE2b(256), createBLAKE2b(128)]))
    .then(
      ([h256, h128]) => {
        wasm256 = h256 as unknown as Hasher;
        wasm128 = h128 as unknown as Hasher;
      },
      () => {
        /* no WebAssembly: the JS implementation serves */
      },
    );
  return loading;
}

export function blake2b256(data: Uint8Array): Uint8Array {
  // The hasher is reused: init/update/digest run synchronously, so calls never interleave.
  if (wasm256) return wasm256.init().update(data).digest('binary');
  return blake2b(data, { dkLen: 32 });
}

/** The derivation of context issue ids, checked for every ContextUpdated a rebuild applies. */
export function blake2b128(data: Uint8Array): Uint8Array {
  if (wasm128) return wasm128.init().update(data).digest('binary');
  return blake2b(data, { dkLen: 16 });
}
