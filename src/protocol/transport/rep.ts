/**
 * REP (reply) side of the SP request/reply protocol ("rep0"), as a server
 * that listens on one endpoint and accepts many REQ peers.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { TransportError } from './errors.js';
import type { Endpoint } from './endpoint.js';
import { SpConnection, resolveLimits, type ConnectionLimits, type ResolvedLimits } from './connection.js';
import { bindListener, closeListener, ownsIpcPath, type BoundListener } from './listener.js';
import { SP_PROTO } from './wire.js';

export interface RepServerOptions extends ConnectionLimits {
  /** Concurrent connections; further ones are closed on accept. Default 1024. */
  maxConnections?: number;
  /**
   * Requests handed to the handler but not yet replied, per connection. When
   * reached, the server stops reading that connection (TCP back-pressure)
   * until replies go out. Default 128.
   */
  maxInFlightPerConnection?: number;
  /**
   * Reply bytes a connection may have waiting to be sent (its peer does not read them). Beyond
   * it, the server starts none of that connection's further requests, and stops reading it, until
   * its peer has read them all; other connections are served as before. Default 64 MiB.
   */
  maxUnsentReplyBytes?: number;
  /** Max backtrace hops (32-bit words) in a request header; more → request dropped (nng's maxttl). Default 8. */
  maxHops?: number;
  /** Largest reply sent, header included (a larger one is not sent: `ReplyFn` returns false). Default maxMessageSize. */
  maxReplySize?: number;
  /**
   * Answers requests over maxMessageSize. With it, such a request is read to its end and
   * discarded (memory stays bounded: only its backtrace and first body byte are kept), handed
   * here to be answered, and its connection goes on; without it, the connection is dropped
   * (its peer never gets an answer).
   */
  oversized?: OversizedHandler;
}

export const REP_DEFAULTS = {
  maxConnections: 1024,
  maxInFlightPerConnection: 128,
  maxUnsentReplyBytes: 64 * 1024 * 1024,
  maxHops: 8,
} as const;

/** Per-request information passed to the handler. */
export interface RequestInfo {
  /** Server-local id of the connection the request came on. */
  readonly connectionId: number;
  /** 'ipc' or 'address:port' of the peer. */
  readonly remote: string;
  /** The REQ peer's request id (last header word, high bit set). */
  readonly requestId: number;
  /** Aborted when the request's connection closes (the reply can no longer be delivered). */
  readonly signal: AbortSignal;
}

/**
 * Sends the reply for one request. Returns true if it was queued for sending;
 * false if the request was already answered, its connection is gone, or the
 * reply exceeds maxReplySize (never throws).
 */
export type ReplyFn = (body: Buffer | Uint8Array) => boolean;

/**
 * Called once per request (a request sent again on its connection before its reply is not a new
 * one: its one reply answers both). May reply synchronously or later, in any order
 * relative to other requests. Exceptions/rejections are caught: the request is
 * then dropped (the REQ side times out) and 'handlerError' is emitted.
 */
export type RepHandler = (body: Buffer, reply: ReplyFn, info: RequestInfo) => void | Promise<void>;

/** A request over maxMessageSize: the size of the whole message (routing header included), and its body's first bytes (at least one, if it has any). */
export interface OversizedRequest {
  readonly bytes: number;
  readonly head: Buffer;
}

/** Like RepHandler, for a request too large to be read (RepServerOptions.oversized). */
export type OversizedHandler = (request: OversizedRequest, reply: ReplyFn, info: RequestInfo) => void | Promise<void>;

/** A received request: its message, or (for one over the limit) the message's head and declared size. */
interface Inbound {
  msg: Buffer;
  oversizedBytes?: number;
}

/** A received request, split at the end of its backtrace. */
interface Request {
  /** The backtrace (hops and request id), which its reply carries back. */
  header: Buffer;
  /** `header` as a string: the key of the request among its connection's unanswered ones. */
  key: string;
  body: Buffer;
  oversizedBytes?: number;
}

interface ConnState {
  conn: SpConnection;
  inFlight: number;
  queue: Request[];
  /** The backtraces of its requests received and not yet answered (queued or in flight). */
  unanswered: Set<string>;
  abort: AbortController;
}

/**
 * Events (none is 'error'; nothing is thrown out of the server):
 * - 'connection' (id: number, remote: string)
 * - 'disconnect' (id: number, err: TransportError | undefined)   — err says why (protocol, too_large, timeout...)
 * - 'rejected' (reason: string)                                   — connection refused at accept (limit, closing)
 * - 'droppedRequest' (reason: string, connectionId: number)       — over-TTL ('ttl'), or sent again while unanswered ('resent')
 * - 'handlerError' (err: unknown, info: RequestInfo)
 * - 'listenerError' (err: Error)                                  — accept-level errors from node:net
 */
export class RepServer extends EventEmitter {
  private readonly conns = new Map<number, ConnState>();
  private inFlightTotal = 0;
  private closeCalled = false;
  /** Set once it has stopped serving (after lingering, if it does). */
  private closing = false;
  private drainWaiters: Array<() => void> = [];
  private readonly limits: ResolvedLimits;
  private readonly maxConnections: number;
  private readonly maxInFlight: number;
  private readonly maxUnsentReplyBytes: number;
  private readonly maxHops: number;
  private readonly maxReplySize: number;
  private readonly oversized: OversizedHandler | undefined;
  private bound!: BoundListener;

  private constructor(
    private readonly handler: RepHandler,
    opts: RepServerOptions,
  ) {
    super();
    this.limits = resolveLimits(opts);
    this.maxConnections = opts.maxConnections ?? REP_DEFAULTS.maxConnections;
    this.maxInFlight = Math.max(1, opts.maxInFlightPerConnection ?? REP_DEFAULTS.maxInFlightPerConnection);
    this.maxUnsentReplyBytes = opts.maxUnsentReplyBytes ?? REP_DEFAULTS.maxUnsentReplyBytes;
    this.maxHops = Math.max(1, opts.maxHops ?? REP_DEFAULTS.maxHops);
    this.maxReplySize = opts.maxReplySize ?? this.limits.maxMessageSize;
    this.oversized = opts.oversized;
  }

  /**
   * Listens on `url` (ipc:///abs/path or tcp://host:port; port 0 picks one).
   * ipc: the parent directory must not be world-writable; the socket file is
   * created with mode 0600; a stale socket file is replaced, a live one or a
   * non-socket file makes this reject with code 'insecure'.
   */
  static async listen(url: string, handler: RepHandler, opts: RepServerOptions = {}): Promise<RepServer> {
    const srv = new RepServer(handler, opts);
    srv.bound = await bindListener(url, (s) => srv.accept(s));
    srv.bound.server.on('error', (err) => srv.emit('listenerError', err));
    return srv;
  }

  /** The bound URL (with the real port for tcp://host:0). */
  get url(): string {
    return this.bound.url;
  }

  get endpoint(): Endpoint {
    return this.bound.endpoint;
  }

  /** ipc: whether the socket file at its path is still the one it bound (not removed or replaced since). */
  get holdsPath(): boolean {
    return ownsIpcPath(this.bound);
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Requests handed to the handler and not yet replied (over all connections). */
  get inFlight(): number {
    return this.inFlightTotal;
  }

  /**
   * Resolves true once no request is in flight (immediately if none), or
   * false if `timeoutMs` elapses first. Does not stop accepting requests.
   */
  drain(timeoutMs?: number): Promise<boolean> {
    if (this.inFlightTotal === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      this.drainWaiters.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.drainWaiters = this.drainWaiters.filter((w) => w !== done);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  /**
   * Stops listening (ipc: removes the socket file) and closes every connection.
   * With `drain: true`, stops reading new requests first and waits (up to
   * `drainTimeoutMs`, default 5000) for in-flight replies to be sent. With
   * `lingerMs` too, it first serves the connections it has on, until their peers
   * have closed them (a REQ peer does once answered) or that long has passed: a
   * request that arrived is answered, where one left unread on a closed
   * connection leaves its peer unable to tell whether it ran.
   */
  async close(opts: { drain?: boolean; drainTimeoutMs?: number; lingerMs?: number } = {}): Promise<void> {
    if (this.closeCalled) return;
    this.closeCalled = true;
    const stopped = closeListener(this.bound);
    if (opts.drain && opts.lingerMs) await this.peersGone(opts.lingerMs);
    this.closing = true;
    if (opts.drain) {
      for (const st of this.conns.values()) {
        st.queue.length = 0;
        st.conn.pauseReading('closing');
      }
      await this.drain(opts.drainTimeoutMs ?? 5_000);
      for (const st of this.conns.values()) st.conn.end();
      // give flushed replies a moment to leave, bounded by SpConnection.end's own timeout
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 2_500))]);
    }
    for (const st of [...this.conns.values()]) st.conn.close(new TransportError('closed', 'server closed'));
    await stopped;
  }

  /** Resolves once no connection is left, or after `ms`. */
  private peersGone(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.off('disconnect', check);
        resolve();
      };
      const check = () => this.conns.size === 0 && done();
      const timer = setTimeout(done, ms);
      this.on('disconnect', check);
      check();
    });
  }

  private accept(socket: Socket): void {
    if (this.closing || this.conns.size >= this.maxConnections) {
      socket.on('error', () => {});
      socket.destroy();
      this.emit('rejected', this.closing ? 'closing' : 'max_connections');
      return;
    }
    // An oversized request keeps its backtrace (at most maxHops words) and its body's first byte.
    const head = this.oversized ? this.maxHops * 4 + 1 : undefined;
    const conn = new SpConnection(socket, this.bound.endpoint.kind === 'ipc', SP_PROTO.REP, SP_PROTO.REQ, this.limits, head);
    const st: ConnState = { conn, inFlight: 0, queue: [], unanswered: new Set(), abort: new AbortController() };
    this.conns.set(conn.id, st);
    conn.on('message', (msg: Buffer) => this.onMessage(st, { msg }));
    conn.on('oversized', (msg: Buffer, oversizedBytes: number) => this.onMessage(st, { msg, oversizedBytes }));
    conn.on('drain', () => {
      conn.resumeReading('write');
      this.pump(st);
    });
    conn.once('close', (err?: TransportError) => {
      this.conns.delete(conn.id);
      st.queue.length = 0;
      st.abort.abort(err ?? new TransportError('closed', 'connection closed'));
      // In-flight requests of a dead connection no longer count.
      this.finish(st.inFlight);
      st.inFlight = 0;
      this.emit('disconnect', conn.id, err);
    });
    conn.start();
    this.emit('connection', conn.id, conn.remote);
  }

  private onMessage(st: ConnState, inbound: Inbound): void {
    const request = this.parse(st.conn, inbound);
    if (!request) return;
    // nng's REQ sends a request again, same backtrace, on the same connection, when it has had no
    // reply for its resend time (60 s): the same request, which its one reply answers. Once
    // answered, a repeat is a new request as far as anyone can tell (REQ resends only while waiting).
    if (st.unanswered.has(request.key)) {
      this.emit('droppedRequest', 'resent', st.conn.id);
      return;
    }
    st.unanswered.add(request.key);
    if (st.inFlight >= this.maxInFlight || st.queue.length > 0 || this.repliesPiledUp(st)) {
      st.queue.push(request);
      st.conn.pauseReading('inflight');
      return;
    }
    this.dispatch(st, request);
  }

  /** Splits a request at the end of its backtrace; null (and the request dropped, or its connection) when it has no valid one. */
  private parse(conn: SpConnection, { msg, oversizedBytes }: Inbound): Request | null {
    // Backtrace: 32-bit words up to and including the first with the high bit set.
    let off = 0;
    let hops = 0;
    for (;;) {
      if (off + 4 > msg.length) {
        conn.close(new TransportError('protocol', 'request without a valid SP backtrace header'));
        return null;
      }
      const w = msg.readUInt32BE(off);
      off += 4;
      hops++;
      if (w & 0x80000000) break;
      if (hops >= this.maxHops) {
        this.emit('droppedRequest', 'ttl', conn.id);
        return null;
      }
    }
    const header = Buffer.from(msg.subarray(0, off));
    return { header, key: header.toString('latin1'), body: msg.subarray(off), oversizedBytes };
  }

  private dispatch(st: ConnState, { header, key, body, oversizedBytes }: Request): void {
    const conn = st.conn;
    const info: RequestInfo = {
      connectionId: conn.id,
      remote: conn.remote,
      requestId: header.readUInt32BE(header.length - 4),
      signal: st.abort.signal,
    };
    st.inFlight++;
    this.inFlightTotal++;
    let answered = false;
    const settle = (): boolean => {
      if (answered) return false;
      answered = true;
      st.unanswered.delete(key);
      if (conn.closed) return false; // already uncounted when the connection closed
      st.inFlight--;
      this.finish(1);
      return true;
    };
    const reply: ReplyFn = (out) => {
      if (answered || !(out instanceof Uint8Array)) return false;
      if (header.length + out.length > this.maxReplySize) return false;
      if (!settle()) return false;
      const ok = conn.send([header, Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength)]);
      if (conn.writeBacklogged) conn.pauseReading('write');
      this.pump(st);
      return ok;
    };
    const failed = (err: unknown) => {
      this.emit('handlerError', err, info);
      if (settle()) this.pump(st);
    };
    try {
      const r = oversizedBytes === undefined ? this.handler(body, reply, info) : this.oversized!({ bytes: oversizedBytes, head: body }, reply, info);
      if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(undefined, failed);
    } catch (err) {
      failed(err);
    }
  }

  /**
   * The connection's peer has not read this much of its replies: starting more of its requests
   * would only pile up more of them in this process ('drain' resumes it).
   */
  private repliesPiledUp(st: ConnState): boolean {
    return st.conn.writeBufferBytes >= this.maxUnsentReplyBytes;
  }

  /** Dispatches queued requests while under the in-flight limit and the unsent-replies limit. */
  private pump(st: ConnState): void {
    while (st.queue.length > 0 && st.inFlight < this.maxInFlight && !this.repliesPiledUp(st) && !st.conn.closed && !this.closing) {
      this.dispatch(st, st.queue.shift()!);
    }
    if (st.queue.length === 0 && !this.closing) st.conn.resumeReading('inflight');
  }

  private finish(n: number): void {
    if (n <= 0) return;
    this.inFlightTotal -= n;
    if (this.inFlightTotal === 0 && this.drainWaiters.length > 0) {
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of ws) w();
    }
  }
}
