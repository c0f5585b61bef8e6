/**
 * Node built-ins that only some commands use, loaded when first used rather than when the module
 * that uses them loads. The local command bundle (scripts/bundle.js) initialises the whole store
 * and WAL layer for every command, so an import at the top of, say, the pack writer would load
 * zlib for an `issue list` that writes no pack: ~1-2 ms each on this project's hosts, paid by
 * every local command (docs/performance.md, "Daemon and CLI start-up"). test/cli/fast checks that
 * a local read loads none of them.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

function lazy<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load(name) as T);
}

export const childProcess = lazy<typeof import('node:child_process')>('node:child_process');
export const net = lazy<typeof import('node:net')>('node:net');
export const workerThreads = lazy<typeof import('node:worker_threads')>('node:worker_threads');
export const zlib = lazy<typeof import('node:zlib')>('node:zlib');
export const fsPromises = lazy<typeof import('node:fs/promises')>('node:fs/promises');
