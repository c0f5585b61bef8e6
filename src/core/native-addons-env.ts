/**
 * Settings for how the native addons load, made by grit's own executables (bin/grit.cjs, the
 * daemon) before lmdb is first required. A program that embeds grit's API keeps its environment
 * as it is. Child processes inherit them: git reads neither, and a node program a git hook runs
 * finds its addons as before (`LIBC` names this machine's C library), msgpackr's only through its
 * JavaScript unpacker.
 * - `LIBC`: lmdb's addon loader (node-gyp-build-optional-packages) otherwise asks detect-libc
 *   which C library node runs on, and detect-libc loads child_process and net to be able to ask
 *   `getconf` (never needed here: it reads node's ELF interpreter first, as this does).
 * - `MSGPACKR_NATIVE_ACCELERATION_DISABLED`: msgpackr's native unpacker is a second addon to find
 *   and load; it speeds up MessagePack reads, and the store's rows are plain CBOR (only its small
 *   `meta` entry is MessagePack).
 * Measured in docs/performance.md ("Daemon and CLI start-up").
 */
import { closeSync, openSync, readSync } from 'node:fs';

export function prepareNativeAddons(env: NodeJS.ProcessEnv = process.env): void {
  env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';
  if (env.LIBC === undefined && process.platform === 'linux') {
    const family = libcOfThisNode();
    if (family) env.LIBC = family;
  }
}

/** The C library named by the ELF interpreter of node's own binary; null when it cannot tell. */
function libcOfThisNode(): 'glibc' | 'musl' | null {
  let fd: number | undefined;
  try {
    fd = openSync('/proc/self/exe', 'r');
    const head = Buffer.alloc(2048);
    const text = head.subarray(0, readSync(fd, head, 0, head.length, 0)).toString('latin1');
    return text.includes('/ld-musl-') ? 'musl' : text.includes('/ld-linux-') ? 'glibc' : null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
