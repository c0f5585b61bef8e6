/**
 * PUB/SUB ("pub0"/"sub0"). As in nng, topic filtering is done by the
 * subscriber: the publisher sends every message to every subscriber, and the
 * subscriber keeps those whose body starts with one of its subscribed
 * prefixes (an empty prefix matches everything). Delivery is best effort: a
 * subscriber whose send queue is full misses messages.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { TransportError } from './errors.js';
import { SpConnection, resolveLimits, type ConnectionLimits, type ResolvedLimits } from './connection.js';
import { bindListener, closeListener, dial, type BoundListener } from './listener.js';
import { SP_PROTO } from './wire.js';

export interface PubServerOptions extends ConnectionLimits {
  /** Concurrent subscriber connections. Default 1024. */
  maxConnections?: number;
  /** Bytes queued unsent to one subscriber above which its messages are dropped. Default 8 MiB. */
  maxQueuedBytesPerSubscriber?: number;
}

/**
 * Events: 'connection' (id, remote), 'disconnect' (id, err?), 'rejected' (reason),
 * 'dropped' (connectionId) when a slow subscriber misses a message.
 */
export class PubServer extends EventEmitter {
  private readonly conns = new Map<number, SpConnection>();
  private readonly limits: ResolvedLimits;
  private readonly maxConnections: number;
  private readonly maxQueued: number;
  private bound!: BoundListener;
  private closing = false;

  private constructor(opts: PubServerOptions) {
    super();
    this.limits = resolveLimits(opts);
    this.maxConnections = opts.maxConnections ?? 1024;
    this.maxQueued = opts.maxQueuedBytesPerSubscriber ?? 8 * 1024 * 1024;
  }

  /** Listens on `url`; same ipc safety rules as RepServer.listen. */
  static async listen(url: string, opts: PubServerOptions = {}): Promise<PubServer> {
    const srv = new PubServer(opts);
    srv.bound = await bindListener(url, (s) => srv.accept(s));
    srv.bound.server.on('error', (err) => srv.emit('listenerError', err));
    return srv;
  }

  get url(): string {
    return this.bound.url;
  }

  /** Subscribers that completed the handshake. */
  get subscriberCount(): number {
    let n = 0;
    for (const c of this.conns.values()) if (c.ready) n++;
    return n;
  }

  /** Sends `body` to every connected subscriber; returns how many it was queued for. */
  publish(body: Buffer | Uint8Array): number {
    if (body.length > this.limits.maxMessageSize) {
      throw new TransportError('too_large', `message of ${body.length} bytes exceeds maxMessageSize`);
    }
    const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    let n = 0;
    for (const c of this.conns.values()) {
      if (!c.ready) continue;
      if (c.writeBufferBytes > this.maxQueued) {
        this.emit('dropped', c.id);
        continue;
      }
      if (c.send([b])) n++;
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const stopped = closeListener(this.bound);
    for (const c of [...this.conns.values()]) c.close(new TransportError('closed', 'server closed'));
    await stopped;
  }

  private accept(socket: Socket): void {
    if (this.closing || this.conns.size >= this.maxConnections) {
      socket.on('error', () => {});
      socket.destroy();
      this.emit('rejected', this.closing ? 'closing' : 'max_connections');
      return;
    }
    const c = new SpConnection(socket, this.bound.endpoint.kind === 'ipc', SP_PROTO.PUB, SP_PROTO.SUB, this.limits);
    this.conns.set(c.id, c);
    // SUB peers send nothing in sub0; anything they do send is read (so limits apply) and ignored.
    c.once('close', (err?: TransportError) => {
      this.conns.delete(c.id);
      this.emit('disconnect', c.id, err);
    });
    c.start();
    this.emit('connection', c.id, c.remote);
  }
}

export interface SubClientOptions extends ConnectionLimits {
  /** Time allowed for connect + SP handshake (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** Initial topic prefixes. Default: none (nothing is delivered until subscribe()). */
  topics?: Array<string | Buffer>;
}

/**
 * Events: 'message' (body: Buffer) for each message matching a subscription,
 * 'close' (err?: TransportError). Never emits 'error'. No automatic reconnect.
 */
export class SubClient extends EventEmitter {
  private readonly topics = new Map<string, Buffer>();

  private constructor(private readonly conn: SpConnection) {
    super();
    conn.on('message', (m: Buffer) => {
      if (this.matches(m)) this.emit('message', m);
    });
    conn.once('close', (err?: TransportError) => this.emit('close', err));
  }

  static async connect(url: string, opts: SubClientOptions = {}): Promise<SubClient> {
    const conn = await dial(url, SP_PROTO.SUB, SP_PROTO.PUB, resolveLimits(opts), opts.connectTimeoutMs ?? 5_000);
    const c = new SubClient(conn);
    for (const t of opts.topics ?? []) c.subscribe(t);
    return c;
  }

  /** Delivers messages whose body starts with `prefix` ('' = all). */
  subscribe(prefix: string | Buffer): void {
    const b = typeof prefix === 'string' ? Buffer.from(prefix) : Buffer.from(prefix);
    this.topics.set(b.toString('hex'), b);
  }

  unsubscribe(prefix: string | Buffer): void {
    const b = typeof prefix === 'string' ? Buffer.from(prefix) : prefix;
    this.topics.delete(b.toString('hex'));
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  close(): void {
    this.conn.close(new TransportError('closed', 'client closed'));
  }

  private matches(m: Buffer): boolean {
    for (const t of this.topics.values()) {
      if (t.length <= m.length && m.compare(t, 0, t.length, 0, t.length) === 0) return true;
    }
    return false;
  }
}
