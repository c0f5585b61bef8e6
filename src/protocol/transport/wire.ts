/**
 * SP (nng "scalability protocols") wire format: connection handshake and
 * message framing for the tcp:// and ipc:// transports.
 *
 *   handshake (both sides, 8 bytes): 0x00 'S' 'P' 0x00, u16 BE protocol id, 0x00 0x00
 *   tcp frame:  u64 BE length, payload
 *   ipc frame:  u8 0x01 (message type), u64 BE length, payload
 */
import { TransportError } from './errors.js';

/** SP protocol ids (16-bit, as carried in the handshake). */
export const SP_PROTO = {
  PUB: 0x20,
  SUB: 0x21,
  REQ: 0x30,
  REP: 0x31,
} as const;

/** The protocol a peer must speak for each of ours. */
export const SP_PEER: Readonly<Record<number, number>> = {
  [SP_PROTO.PUB]: SP_PROTO.SUB,
  [SP_PROTO.SUB]: SP_PROTO.PUB,
  [SP_PROTO.REQ]: SP_PROTO.REP,
  [SP_PROTO.REP]: SP_PROTO.REQ,
};

export const HANDSHAKE_SIZE = 8;
export const IPC_MSG_TYPE = 0x01;

export function protoName(proto: number): string {
  for (const [k, v] of Object.entries(SP_PROTO)) if (v === proto) return `${k.toLowerCase()}0`;
  return `0x${proto.toString(16).padStart(4, '0')}`;
}

export function encodeHandshake(proto: number): Buffer {
  const b = Buffer.alloc(HANDSHAKE_SIZE);
  b[1] = 0x53; // 'S'
  b[2] = 0x50; // 'P'
  b.writeUInt16BE(proto, 4);
  return b;
}

/** Validates an 8-byte SP handshake and returns the sender's protocol id. */
export function parseHandshake(b: Buffer): number {
  if (b.length !== HANDSHAKE_SIZE || b[0] !== 0 || b[1] !== 0x53 || b[2] !== 0x50 || b[3] !== 0 || b[6] !== 0 || b[7] !== 0) {
    throw new TransportError('protocol', `invalid SP handshake ${b.toString('hex')}`);
  }
  return b.readUInt16BE(4);
}

/** Frame header for a payload of `len` bytes. */
export function encodeFrameHeader(len: number, ipc: boolean): Buffer {
  if (ipc) {
    const h = Buffer.allocUnsafe(9);
    h[0] = IPC_MSG_TYPE;
    h.writeBigUInt64BE(BigInt(len), 1);
    return h;
  }
  const h = Buffer.allocUnsafe(8);
  h.writeBigUInt64BE(BigInt(len), 0);
  return h;
}

export interface DecoderSink {
  /** Called once, with the peer's protocol id, when its 8-byte handshake is complete. */
  handshake(peerProto: number): void;
  /** Called for each complete message payload (an owned copy). */
  message(payload: Buffer): void;
  /**
   * Called, when the decoder keeps oversized frames' heads, once such a frame has been read to
   * its end: its first bytes (an owned copy) and the size its header declared.
   */
  oversized?(head: Buffer, declaredBytes: number): void;
}

/**
 * Incremental decoder for one connection's inbound byte stream: first the
 * handshake, then frames. Never buffers more than the bytes actually received
 * for the current frame. A frame header declaring more than `maxMessageSize`
 * throws TransportError('too_large') before any of its payload is buffered;
 * unless `oversizedHead` is given: then such a frame is read and discarded,
 * only its first `oversizedHead` bytes kept, and handed to `sink.oversized`,
 * so that the peer can be answered and the connection goes on.
 * Throws TransportError('protocol') on malformed input. After a throw the
 * decoder must not be fed again (the connection is to be dropped).
 */
export class FrameDecoder {
  private readonly hdr = Buffer.alloc(9);
  private hdrLen = 0;
  private handshaken = false;
  private bodyLen = -1; // -1 while reading a header
  private parts: Buffer[] = [];
  private got = 0;
  /** The current frame is over the limit: only its head is kept. */
  private skipping = false;
  /** Number of complete frames decoded so far (the handshake does not count). */
  framesCompleted = 0;
  /** Set to stop decoding the remainder of the current chunk (e.g. the connection closed). */
  stopped = false;

  constructor(
    private readonly ipc: boolean,
    private readonly maxMessageSize: number,
    private readonly oversizedHead?: number,
  ) {}

  /** True while a handshake or frame has been started but not completed. */
  get partial(): boolean {
    return this.hdrLen > 0 || this.bodyLen >= 0;
  }

  get handshakeDone(): boolean {
    return this.handshaken;
  }

  /** Bytes currently held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.hdrLen + (this.skipping ? Math.min(this.got, this.oversizedHead ?? 0) : this.got);
  }

  feed(chunk: Buffer, sink: DecoderSink): void {
    let off = 0;
    while (off < chunk.length && !this.stopped) {
      if (this.bodyLen < 0) {
        const want = !this.handshaken ? HANDSHAKE_SIZE : this.ipc ? 9 : 8;
        const n = Math.min(want - this.hdrLen, chunk.length - off);
        chunk.copy(this.hdr, this.hdrLen, off, off + n);
        this.hdrLen += n;
        off += n;
        if (this.hdrLen < want) return;
        this.hdrLen = 0;
        if (!this.handshaken) {
          const proto = parseHandshake(this.hdr.subarray(0, HANDSHAKE_SIZE));
          this.handshaken = true;
          sink.handshake(proto);
          continue;
        }
        let p = 0;
        if (this.ipc) {
          if (this.hdr[0] !== IPC_MSG_TYPE) {
            throw new TransportError('protocol', `unknown ipc message type 0x${this.hdr[0].toString(16)}`);
          }
          p = 1;
        }
        const len = this.hdr.readBigUInt64BE(p);
        this.skipping = len > BigInt(this.maxMessageSize);
        if (this.skipping && (this.oversizedHead === undefined || len > BigInt(Number.MAX_SAFE_INTEGER))) {
          throw new TransportError('too_large', `peer declared a ${len}-byte message; limit is ${this.maxMessageSize}`);
        }
        const n2 = Number(len);
        if (n2 === 0) {
          this.framesCompleted++;
          sink.message(Buffer.alloc(0));
          continue;
        }
        this.bodyLen = n2;
        this.got = 0;
        this.parts = [];
      } else {
        const n = Math.min(this.bodyLen - this.got, chunk.length - off);
        const keep = this.skipping ? Math.max(0, Math.min(n, this.oversizedHead! - this.got)) : n;
        // An oversized frame's head is copied: holding its chunk would hold the whole chunk.
        if (keep > 0) this.parts.push(this.skipping ? Buffer.from(chunk.subarray(off, off + keep)) : chunk.subarray(off, off + keep));
        this.got += n;
        off += n;
        if (this.got === this.bodyLen) {
          const parts = this.parts;
          const len = this.bodyLen;
          const skipped = this.skipping;
          this.parts = [];
          this.bodyLen = -1;
          this.got = 0;
          this.skipping = false;
          this.framesCompleted++;
          if (skipped) {
            sink.oversized?.(Buffer.concat(parts), len);
            continue;
          }
          // Always hand out an exact-size copy so a retained message never pins a larger socket chunk.
          const msg = parts.length === 1 ? Buffer.from(parts[0]) : Buffer.concat(parts, len);
          sink.message(msg);
        }
      }
    }
  }
}
