/**
 * Shared listen/dial plumbing: binds tcp or ipc listeners (with the ipc
 * safety checks), and dials + handshakes client connections.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { TransportError } from './errors.js';
import { formatTcpUrl, parseEndpoint, type Endpoint } from './endpoint.js';
import { SpConnection, type ResolvedLimits } from './connection.js';

export interface BoundListener {
  server: Server;
  endpoint: Endpoint;
  /** The URL actually bound (tcp port 0 is replaced by the real port). */
  url: string;
  /** ipc only: inode of the socket file we created. */
  ino?: number;
}

/** Probes an existing ipc socket file: true if a live process accepts on it. */
export function probeLive(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path });
    const t = setTimeout(() => {
      s.destroy();
      resolve(true); // something holds it but does not answer quickly: treat as in use
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(t);
      s.destroy();
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(new TransportError('address_in_use', `cannot probe existing socket ${path}: ${err.message}`, { cause: err }));
    });
  });
}

/**
 * Checks the ipc socket's directory and any existing file at the path:
 * - the parent directory must exist, be a directory and not be world-writable;
 * - an existing non-socket file is never replaced;
 * - an existing socket that a live process answers on is never replaced;
 * - a stale socket (nothing answers: ECONNREFUSED) is unlinked.
 */
export async function prepareIpcPath(path: string): Promise<void> {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw TransportError.from(e, `ipc socket directory ${dir}`);
  }
  if (!st.isDirectory()) throw new TransportError('insecure', `ipc socket parent ${dir} is not a directory`);
  if ((st.mode & 0o002) !== 0) {
    throw new TransportError(
      'insecure',
      `refusing to listen on ${path}: directory ${dir} is world-writable (mode ${(st.mode & 0o7777).toString(8)}); use a 0700 run directory`,
    );
  }
  let existing;
  try {
    existing = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw TransportError.from(e, `ipc socket path ${path}`);
  }
  if (!existing.isSocket()) {
    throw new TransportError('insecure', `refusing to replace ${path}: it exists and is not a socket`);
  }
  if (await probeLive(path, 1_000)) {
    throw new TransportError('address_in_use', `${path} is in use by a live process`);
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw TransportError.from(e, `removing stale socket ${path}`);
  }
}

const LISTEN_BACKLOG = 4096;

function listenOnce(server: Server, arg: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    // A deep accept queue: a burst of connects (many CLIs at once) must not get EAGAIN.
    server.listen({ ...arg, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Binds a listener for `url`; `onSocket` receives every accepted socket. */
export async function bindListener(url: string, onSocket: (s: Socket) => void): Promise<BoundListener> {
  const endpoint = parseEndpoint(url);
  const server = createServer({ pauseOnConnect: false }, onSocket);
  if (endpoint.kind === 'ipc') {
    await prepareIpcPath(endpoint.path);
    // Create the socket file 0600 from the start (bind happens synchronously
    // inside listen()); process.umask() is unavailable in worker threads, in
    // which case the chmod below still closes the gap quickly.
    let oldMask: number | undefined;
    try {
      oldMask = process.umask(0o177);
    } catch {
      oldMask = undefined;
    }
    let p: Promise<void>;
    try {
      p = listenOnce(server, { path: endpoint.path });
    } finally {
      if (oldMask !== undefined) process.umask(oldMask);
    }
    try {
      await p;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw code === 'EADDRINUSE'
        ? new TransportError('address_in_use', `${endpoint.path} is in use`, { cause: e })
        : TransportError.from(e, `listen ${url}`);
    }
    chmodSync(endpoint.path, 0o600);
    const ino = lstatSync(endpoint.path).ino;
    return { server, endpoint, url, ino };
  }
  try {
    await listenOnce(server, { host: endpoint.host, port: endpoint.port });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw code === 'EADDRINUSE'
      ? new TransportError('address_in_use', `${url} is in use`, { cause: e })
      : TransportError.from(e, `listen ${url}`);
  }
  const addr = server.address();
  const port = addr && typeof addr === 'object' ? addr.port : endpoint.port;
  return { server, endpoint: { ...endpoint, port }, url: formatTcpUrl(endpoint.host, port) };
}

/** Whether the ipc socket file at the listener's path is still the one it bound. */
export function ownsIpcPath(l: BoundListener): boolean {
  try {
    return l.endpoint.kind !== 'ipc' || lstatSync(l.endpoint.path).ino === l.ino;
  } catch {
    return false;
  }
}

/**
 * Stops a bound listener; for ipc, node unlinks the socket file itself. It unlinks the path
 * whatever is there now: a listener whose file was removed or replaced (another process's socket
 * there now) is left to end with this process instead, unref'd.
 */
export function closeListener(l: BoundListener): Promise<void> {
  return new Promise((resolve) => {
    if (!l.server.listening) return resolve();
    if (!ownsIpcPath(l)) {
      l.server.unref();
      return resolve();
    }
    l.server.close(() => resolve());
    // (server.close waits for open connections; callers destroy them separately.)
    if (l.endpoint.kind === 'ipc' && l.ino !== undefined) {
      // Belt and braces: if node did not remove our file, remove it (only if it is still ours).
      const path = l.endpoint.path;
      const ino = l.ino;
      setImmediate(() => {
        try {
          if (lstatSync(path).ino === ino) unlinkSync(path);
        } catch {
          /* already gone */
        }
      });
    }
  });
}

/**
 * Dials `url`, exchanges SP handshakes (ours: `localProto`, required peer:
 * `peerProto`) and resolves with a ready connection. Rejects with a
 * TransportError ('ECONNREFUSED', 'ENOENT', 'timeout', 'protocol', ...).
 */
export function dial(
  url: string,
  localProto: number,
  peerProto: number,
  limits: ResolvedLimits,
  connectTimeoutMs: number,
): Promise<SpConnection> {
  const endpoint = parseEndpoint(url);
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket =
      endpoint.kind === 'ipc'
        ? createConnection({ path: endpoint.path })
        : createConnection({ host: endpoint.host, port: endpoint.port });
    const timer = setTimeout(() => fail(new TransportError('timeout', `connecting to ${url} timed out`)), connectTimeoutMs);
    const fail = (err: TransportError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onErr = (e: Error) => fail(TransportError.from(e, `connect ${url}`));
    socket.once('error', onErr);
    socket.once('connect', () => {
      socket.off('error', onErr);
      const conn = new SpConnection(socket, endpoint.kind === 'ipc', localProto, peerProto, limits);
      conn.once('ready', () => {
        if (settled) return conn.close();
        settled = true;
        clearTimeout(timer);
        resolve(conn);
      });
      conn.once('close', (err?: TransportError) => fail(err ?? new TransportError('closed', `connection to ${url} closed during handshake`)));
      conn.start();
    });
  });
}
