/**
 * One SP connection (an nng "pipe") over a node:net socket: sends our
 * handshake, validates the peer's, frames/deframes messages and enforces
 * the per-connection limits and timeouts. Used by every socket type.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { TransportError } from './errors.js';
import { FrameDecoder, encodeFrameHeader, encodeHandshake, protoName } from './wire.js';

export interface ConnectionLimits {
  /** Largest message payload accepted (bytes). Default 4 MiB. */
  maxMessageSize?: number;
  /** The peer must complete its 8-byte handshake within this time (ms). Default 5000. */
  handshakeTimeoutMs?: number;
  /**
   * Each frame, once its first byte has arrived, must be complete within this
   * time (ms), or the connection is dropped (slow-loris defence). Default 30000.
   */
  frameTimeoutMs?: number;
  /** Drop the connection after this long (ms) with no traffic at all; 0 = never. Default 0. */
  idleTimeoutMs?: number;
}

export const DEFAULT_LIMITS = {
  maxMessageSize: 4 * 1024 * 1024,
  handshakeTimeoutMs: 5_000,
  frameTimeoutMs: 30_000,
  idleTimeoutMs: 0,
} as const;

export type ResolvedLimits = Required<ConnectionLimits>;

export function resolveLimits(o: ConnectionLimits | undefined): ResolvedLimits {
  const r = {
    maxMessageSize: o?.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize,
    handshakeTimeoutMs: o?.handshakeTimeoutMs ?? DEFAULT_LIMITS.handshakeTimeoutMs,
    frameTimeoutMs: o?.frameTimeoutMs ?? DEFAULT_LIMITS.frameTimeoutMs,
    idleTimeoutMs: o?.idleTimeoutMs ?? DEFAULT_LIMITS.idleTimeoutMs,
  };
  for (const [k, v] of Object.entries(r)) {
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`transport option ${k} must be a non-negative integer, got ${v}`);
  }
  return r;
}

let nextConnectionId = 1;

/**
 * Events: 'ready' (handshake done), 'message' (payload: Buffer),
 * 'oversized' (head: Buffer, declaredBytes: number; only with `oversizedHead`, see FrameDecoder),
 * 'drain' (socket write buffer drained), 'close' (err?: TransportError; once).
 * Never emits 'error'.
 */
export class SpConnection extends EventEmitter {
  readonly id = nextConnectionId++;
  readonly remote: string;
  ready = false;
  closed = false;
  /** Why the connection ended (undefined for an orderly local close). */
  closeError: TransportError | undefined;

  private readonly decoder: FrameDecoder;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private frameTimer: NodeJS.Timeout | undefined;
  private frameTimerMark = -1;
  private readonly pauseReasons = new Set<string>();

  constructor(
    readonly socket: Socket,
    readonly ipc: boolean,
    readonly localProto: number,
    readonly peerProto: number,
    readonly limits: ResolvedLimits,
    /** Read a frame over maxMessageSize to its end, keeping this many of its first bytes, instead of dropping the connection. */
    oversizedHead?: number,
  ) {
    super();
    this.remote = ipc ? 'ipc' : `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.decoder = new FrameDecoder(ipc, limits.maxMessageSize, oversizedHead);
  }

  /** Attaches to the socket, sends our handshake and arms the handshake timer. */
  start(): void {
    const s = this.socket;
    s.setNoDelay?.(true);
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (err) => this.close(TransportError.from(err)));
    s.on('end', () => this.close(new TransportError('closed', 'peer closed the connection')));
    s.on('close', () => this.close(new TransportError('closed', 'connection closed')));
    s.on('drain', () => this.emit('drain'));
    if (this.limits.idleTimeoutMs > 0) {
      s.setTimeout(this.limits.idleTimeoutMs, () => this.close(new TransportError('timeout', 'idle timeout')));
    }
    if (this.limits.handshakeTimeoutMs > 0) {
      this.handshakeTimer = setTimeout(
        () => this.close(new TransportError('timeout', 'peer did not complete the SP handshake in time')),
        this.limits.handshakeTimeoutMs,
      );
    }
    s.write(encodeHandshake(this.localProto));
  }

  /**
   * Sends one message made of the concatenation of `parts`. Returns false if closed.
   * `onWritten` runs once the whole message has been handed to the operating system (never if
   * its write fails): from then on the peer may read it, even if the connection fails next.
   */
  send(parts: readonly Buffer[], onWritten?: () => void): boolean {
    if (this.closed || !this.ready) return false;
    let len = 0;
    for (const p of parts) len += p.length;
    const s = this.socket;
    s.cork();
    let last = encodeFrameHeader(len, this.ipc);
    for (const p of parts) {
      if (p.length === 0) continue;
      s.write(last);
      last = p;
    }
    // Chunks go out in order: the last one's callback says that the whole message has.
    s.write(last, onWritten && ((err) => !err && onWritten()));
    s.uncork();
    return true;
  }

  /** True when the socket's write buffer is above its high-water mark. */
  get writeBacklogged(): boolean {
    return this.socket.writableNeedDrain;
  }

  get writeBufferBytes(): number {
    return this.socket.writableLength;
  }

  /** Stops reading from the socket until every `reason` has been resumed. */
  pauseReading(reason: string): void {
    if (this.closed) return;
    this.pauseReasons.add(reason);
    this.socket.pause();
    this.clearFrameTimer(); // a stall we caused is not the peer's fault
  }

  resumeReading(reason: string): void {
    if (!this.pauseReasons.delete(reason) || this.pauseReasons.size > 0 || this.closed) return;
    this.socket.resume();
    this.frameTimerMark = -1;
    this.updateFrameTimer();
  }

  /** Graceful close: flushes queued writes, then ends the socket. */
  end(): void {
    if (this.closed) return;
    this.socket.end();
    // If the peer never reads, don't wait for ever.
    const t = setTimeout(() => this.close(), 2_000);
    t.unref();
  }

  /** Drops the connection now. Idempotent; emits 'close' once. */
  close(err?: TransportError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    this.decoder.stopped = true;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.clearFrameTimer();
    this.socket.destroy();
    this.emit('close', err);
    this.removeAllListeners('message');
    this.removeAllListeners('oversized');
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.decoder.feed(chunk, this.sink);
    } catch (e) {
      this.close(TransportError.from(e));
      return;
    }
    if (!this.closed) this.updateFrameTimer();
  }

  private readonly sink = {
    handshake: (proto: number): void => {
      if (proto !== this.peerProto) {
        throw new TransportError(
          'protocol',
          `peer speaks ${protoName(proto)}, expected ${protoName(this.peerProto)} (we are ${protoName(this.localProto)})`,
        );
      }
      if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
      this.handshakeTimer = undefined;
      this.ready = true;
      this.emit('ready');
    },
    message: (payload: Buffer): void => {
      this.emit('message', payload);
    },
    oversized: (head: Buffer, declaredBytes: number): void => {
      this.emit('oversized', head, declaredBytes);
    },
  };

  private updateFrameTimer(): void {
    if (this.limits.frameTimeoutMs <= 0 || !this.decoder.handshakeDone) return;
    if (!this.decoder.partial) {
      this.clearFrameTimer();
      return;
    }
    if (this.pauseReasons.size > 0) return;
    // (Re)arm when a new frame has started since the timer was armed.
    if (this.frameTimer && this.frameTimerMark === this.decoder.framesCompleted) return;
    this.clearFrameTimer();
    this.frameTimerMark = this.decoder.framesCompleted;
    this.frameTimer = setTimeout(
      () => this.close(new TransportError('timeout', `frame not completed within ${this.limits.frameTimeoutMs} ms`)),
      this.limits.frameTimeoutMs,
    );
  }

  private clearFrameTimer(): void {
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
  }
}
