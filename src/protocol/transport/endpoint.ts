import { isAbsolute } from 'node:path';
import { TransportError } from './errors.js';

/** A parsed SP endpoint address. */
export type Endpoint =
  | { readonly kind: 'ipc'; readonly path: string; readonly url: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly url: string };

/** Longest Unix domain socket path Linux accepts (sun_path is 108 bytes incl. NUL). */
export const MAX_IPC_PATH_BYTES = 107;

/**
 * Parses `ipc:///absolute/path` or `tcp://host:port` (host may be an IPv4
 * address, a name, or a bracketed IPv6 address such as `[::1]`; port 0 means
 * "pick a free port" when listening). Throws TransportError('invalid_url').
 */
export function parseEndpoint(url: string): Endpoint {
  if (typeof url !== 'string') throw new TransportError('invalid_url', 'endpoint URL must be a string');
  if (url.startsWith('ipc://')) {
    const path = url.slice('ipc://'.length);
    if (!path || !isAbsolute(path)) {
      throw new TransportError('invalid_url', `ipc endpoint needs an absolute path (ipc:///abs/path), got ${JSON.stringify(url)}`);
    }
    if (path.includes('\0')) throw new TransportError('invalid_url', 'ipc path contains a NUL byte');
    if (Buffer.byteLength(path) > MAX_IPC_PATH_BYTES) {
      throw new TransportError('invalid_url', `ipc path is longer than ${MAX_IPC_PATH_BYTES} bytes: ${path}`);
    }
    return { kind: 'ipc', path, url };
  }
  if (url.startsWith('tcp://')) {
    const rest = url.slice('tcp://'.length);
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-_]+):(\d{1,5})$/.exec(rest);
    if (!m) throw new TransportError('invalid_url', `tcp endpoint must look like tcp://host:port, got ${JSON.stringify(url)}`);
    const port = Number(m[2]);
    if (port > 65535) throw new TransportError('invalid_url', `tcp port out of range in ${JSON.stringify(url)}`);
    const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
    return { kind: 'tcp', host, port, url };
  }
  throw new TransportError(
    'invalid_url',
    `unsupported endpoint ${JSON.stringify(url)}: expected ipc:///abs/path or tcp://host:port`,
  );
}

/** Formats an endpoint back into a URL (used to report the real port after listening on port 0). */
export function formatTcpUrl(host: string, port: number): string {
  return host.includes(':') ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}
