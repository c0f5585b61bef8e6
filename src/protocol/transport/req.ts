/**
 * REQ (request) side of the SP request/reply protocol ("req0"): one
 * connection, many concurrent (pipelined) requests matched to replies by id.
 */
import { EventEmitter } from 'node:events';
import { TransportError } from './errors.js';
import { resolveLimits, type ConnectionLimits, type SpConnection } from './connection.js';
import { dial } from './listener.js';
import { SP_PROTO } from './wire.js';

export interface ReqClientOptions extends ConnectionLimits {
  /** Time allowed for connect + SP handshake (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** Default per-request timeout (ms) when request() gets none; 0 = none. Default 30000. */
  requestTimeoutMs?: number;
  /** Max requests awaiting replies at once; request() beyond it rejects with code 'busy'. Default 4096. */
  maxPending?: number;
}

export interface RequestOptions {
  /** Reject with code 'timeout' after this many ms (0 = never). Defaults to the client's requestTimeoutMs. */
  timeoutMs?: number;
  /** Abort the wait: rejects with code 'aborted' (a late reply is discarded). */
  signal?: AbortSignal;
}

export const REQ_DEFAULTS = {
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  maxPending: 4096,
} as const;

interface Pending {
  resolve(b: Buffer): void;
  reject(e: TransportError): void;
  timer: NodeJS.Timeout | undefined;
  /** All of the request has been handed to the operating system: the peer may have run it. */
  written: boolean;
  cleanup(): void;
}

/**
 * Rejects a pending request, saying whether the peer may have seen it. Deferred by a tick: a
 * request written at once has its write callback queued with process.nextTick, and a failure in
 * the same tick (a close() right after the request) must still find it written.
 */
function fail(p: Pending, code: TransportError['code'], message: string, cause?: unknown): void {
  p.cleanup();
  process.nextTick(() => p.reject(new TransportError(code, message, { cause, written: p.written })));
}

/**
 * Events: 'close' (err: TransportError | undefined). Never emits 'error'.
 * There is no automatic reconnect: after the connection drops every pending
 * and future request rejects (code of the drop, or 'closed'); connect again.
 */
export class ReqClient extends EventEmitter {
  private readonly pendingMap = new Map<number, Pending>();
  // A random start, as nng does (ids need not be unpredictable: Math.random spares loading crypto).
  private nextId = Math.floor(Math.random() * 0x7fffffff);
  private closeErr: TransportError | undefined;

  private constructor(
    private readonly conn: SpConnection,
    readonly url: string,
    private readonly requestTimeoutMs: number,
    private readonly maxPending: number,
  ) {
    super();
    conn.on('message', (m: Buffer) => this.onReply(m));
    conn.once('close', (err?: TransportError) => {
      const e = err ?? new TransportError('closed', 'connection closed');
      this.closeErr = e;
      const all = [...this.pendingMap.values()];
      this.pendingMap.clear();
      for (const p of all) fail(p, e.code, `request failed: ${e.message}`, e);
      this.emit('close', err);
    });
  }

  /**
   * Connects to a REP endpoint and completes the SP handshake. Rejects with a
   * TransportError: errno codes such as 'ECONNREFUSED'/'ENOENT', 'timeout',
   * or 'protocol' (the peer is not a REP socket / spoke garbage).
   */
  static async connect(url: string, opts: ReqClientOptions = {}): Promise<ReqClient> {
    const limits = resolveLimits(opts);
    const conn = await dial(url, SP_PROTO.REQ, SP_PROTO.REP, limits, opts.connectTimeoutMs ?? REQ_DEFAULTS.connectTimeoutMs);
    return new ReqClient(conn, url, opts.requestTimeoutMs ?? REQ_DEFAULTS.requestTimeoutMs, opts.maxPending ?? REQ_DEFAULTS.maxPending);
  }

  /** Requests awaiting a reply. */
  get pending(): number {
    return this.pendingMap.size;
  }

  get closed(): boolean {
    return this.closeErr !== undefined;
  }

  /**
   * Sends `body` and resolves with the matching reply body. Rejects with
   * TransportError: 'timeout', 'closed' (or the code that dropped the
   * connection: 'protocol', 'too_large', errno), 'too_large' if the request
   * exceeds maxMessageSize, 'busy' if maxPending requests are outstanding,
   * 'aborted' if `signal` fires. The error's `written` says whether the peer may have got the
   * request (false for those refused before sending).
   */
  request(body: Buffer | Uint8Array, opts: RequestOptions = {}): Promise<Buffer> {
    if (this.closeErr) {
      return Promise.reject(new TransportError(this.closeErr.code, `client is closed: ${this.closeErr.message}`, { written: false }));
    }
    if (body.length + 4 > this.conn.limits.maxMessageSize) {
      return Promise.reject(new TransportError('too_large', `request of ${body.length} bytes exceeds maxMessageSize`, { written: false }));
    }
    if (this.pendingMap.size >= this.maxPending) {
      return Promise.reject(new TransportError('busy', `${this.maxPending} requests already pending`, { written: false }));
    }
    if (opts.signal?.aborted) return Promise.reject(new TransportError('aborted', 'request aborted', { written: false }));
    let id: number;
    do {
      id = (this.nextId | 0x80000000) >>> 0;
      this.nextId = (this.nextId + 1) & 0x7fffffff;
    } while (this.pendingMap.has(id));
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    return new Promise<Buffer>((resolve, reject) => {
      const signal = opts.signal;
      const onAbort = () => {
        if (this.pendingMap.get(id) !== p) return;
        this.pendingMap.delete(id);
        fail(p, 'aborted', 'request aborted');
      };
      const p: Pending = {
        resolve,
        reject,
        timer: undefined,
        written: false,
        cleanup: () => {
          if (p.timer) clearTimeout(p.timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          if (this.pendingMap.get(id) !== p) return;
          this.pendingMap.delete(id);
          fail(p, 'timeout', `no reply within ${timeoutMs} ms`);
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pendingMap.set(id, p);
      const hdr = Buffer.allocUnsafe(4);
      hdr.writeUInt32BE(id, 0);
      const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      this.conn.send([hdr, b], () => (p.written = true));
    });
  }

  /** Closes the connection; pending requests reject with code 'closed'. */
  close(): void {
    this.conn.close(new TransportError('closed', 'client closed'));
  }

  private onReply(m: Buffer): void {
    if (m.length < 4 || (m[0] & 0x80) === 0) {
      this.conn.close(new TransportError('protocol', 'reply without a valid request id'));
      return;
    }
    const id = m.readUInt32BE(0);
    const p = this.pendingMap.get(id);
    if (!p) return; // late reply to a timed-out/aborted request
    this.pendingMap.delete(id);
    p.cleanup();
    p.resolve(m.subarray(4));
  }
}
