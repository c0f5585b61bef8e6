import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer, type Socket } from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { FrameDecoder, SP_PROTO, parseEndpoint } from '../../src/protocol/transport/index.js';

/** A fresh 0700 directory for ipc sockets; remove with the returned cleanup. */
export function runDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'grit-sp-'));
  chmodSync(dir, 0o700);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Opens a plain socket to an SP endpoint (no handshake). */
export function rawConnect(url: string): Promise<Socket> {
  const ep = parseEndpoint(url);
  return new Promise((resolve, reject) => {
    const s = ep.kind === 'ipc' ? createConnection({ path: ep.path }) : createConnection({ host: ep.host, port: ep.port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with the ms until the server closed `s`, or -1 if still open after `ms`. */
export function closedWithin(s: Socket, ms: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    s.on('error', () => {});
    s.on('data', () => {});
    if (s.destroyed) return resolve(0);
    const timer = setTimeout(() => resolve(-1), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function spHandshake(proto: number): Buffer {
  return Buffer.from([0, 0x53, 0x50, 0, proto >> 8, proto & 0xff, 0, 0]);
}

export function frame(payload: Buffer, ipc: boolean, declaredLen?: bigint): Buffer {
  const h = Buffer.alloc(ipc ? 9 : 8);
  if (ipc) h[0] = 1;
  h.writeBigUInt64BE(declaredLen ?? BigInt(payload.length), ipc ? 1 : 0);
  return Buffer.concat([h, payload]);
}

/** A REQ peer on a plain socket: sends requests with the backtrace it is given, as nng's REQ would (a resend included). */
export interface RawReqPeer {
  socket: Socket;
  /** Sends `body` behind `backtrace` (32-bit words: any hops, then the request id with its high bit set). */
  send(backtrace: number[], body: Buffer | string): void;
  /** The replies received so far, backtrace included. */
  replies: Buffer[];
}

export async function rawReqPeer(url: string): Promise<RawReqPeer> {
  const ipc = parseEndpoint(url).kind === 'ipc';
  const socket = await rawConnect(url);
  socket.on('error', () => {});
  const replies: Buffer[] = [];
  const decoder = new FrameDecoder(ipc, 1 << 30);
  const sink = { handshake: () => {}, message: (m: Buffer) => void replies.push(m) };
  socket.on('data', (chunk: Buffer) => decoder.feed(chunk, sink));
  socket.write(spHandshake(SP_PROTO.REQ));
  const send = (backtrace: number[], body: Buffer | string): void => {
    const header = Buffer.alloc(4 * backtrace.length);
    backtrace.forEach((w, i) => header.writeUInt32BE(w >>> 0, 4 * i));
    socket.write(frame(Buffer.concat([header, Buffer.from(body)]), ipc));
  };
  return { socket, send, replies };
}

// ---- nngcat --------------------------------------------------------------

let nngcatChecked: boolean | undefined;

/**
 * True if nngcat can be run. If it cannot: returns false when
 * GRIT_SKIP_NNGCAT=1 (caller skips), otherwise throws so the test fails.
 */
export function nngcatAvailable(): boolean {
  if (nngcatChecked === undefined) {
    const r = spawnSync('nngcat', ['--version'], { encoding: 'utf8' });
    nngcatChecked = !r.error && r.status === 0;
  }
  if (nngcatChecked) return true;
  if (process.env.GRIT_SKIP_NNGCAT === '1') return false;
  throw new Error('nngcat is not installed (Debian: apt-get install -y nng-utils); set GRIT_SKIP_NNGCAT=1 to skip the interop tests');
}

export interface Spawned {
  child: ChildProcess;
  /** Resolves when the process exits (killed after `killAfterMs`). */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }>;
}

export function spawnNngcat(args: string[], killAfterMs = 8_000): Spawned {
  const child = spawn('nngcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
    });
  });
  return { child, done };
}

/**
 * Retries `connect` until it succeeds (the peer, e.g. a spawned `nngcat --listen`,
 * may not be up yet). A complete SP connection is used as the readiness probe on
 * purpose: nng 1.5's listener stalls a following connection for a long time after
 * a probe that connects and drops without handshaking.
 */
export async function connectRetry<T>(connect: () => Promise<T>, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connect();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (Date.now() > deadline || (code !== 'ENOENT' && code !== 'ECONNREFUSED')) throw e;
      await sleep(25);
    }
  }
}
