/**
 * An error reply built without the CBOR codec (cbor-x, loaded lazily: messages.ts): what the
 * daemon answers when that codec cannot be loaded, or encoding a reply failed. Encoding it cannot
 * fail, so that no request goes unanswered (SPEC §7: a request that cannot be served gets an
 * error reply; unanswered, a client waits for ever).
 */
import { IPC_SCHEMA_VERSION, type IpcErrorBody } from './messages.js';

/** What a reply's fields hold here: JSON's values but arrays (none is needed). */
type Plain = null | boolean | number | string | { [key: string]: Plain };

/** `{ipc_schema_version: 1, request_id, ok: false, error}`, as JSON or as CBOR (RFC 8949). */
export function plainErrorReply(request_id: string | number | null, error: IpcErrorBody, format: 'json' | 'cbor'): Uint8Array {
  const reply = { ipc_schema_version: IPC_SCHEMA_VERSION, request_id, ok: false, error: { code: error.code, message: error.message, details: plainOf(error.details) } };
  return format === 'json' ? Buffer.from(JSON.stringify(reply)) : Buffer.concat(cborOf(reply));
}

/** The details' plain values (text, numbers, booleans, null); the rest is left out, never thrown on. */
function plainOf(details: Record<string, unknown>): { [key: string]: Plain } {
  const out: { [key: string]: Plain } = {};
  for (const [k, v] of Object.entries(details)) {
    if (v === null || typeof v === 'boolean' || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) out[k] = v;
  }
  return out;
}

/** The head of a CBOR data item: its major type and its argument (RFC 8949 §3). */
function head(major: number, n: number): Buffer {
  const m = major << 5;
  if (n < 24) return Buffer.from([m | n]);
  if (n < 0x100) return Buffer.from([m | 24, n]);
  if (n < 0x10000) return Buffer.from([m | 25, n >> 8, n & 0xff]);
  if (n < 0x100000000) return Buffer.from([m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  const b = Buffer.alloc(9);
  b[0] = m | 27;
  b.writeBigUInt64BE(BigInt(n), 1);
  return b;
}

function cborOf(v: Plain): Buffer[] {
  if (v === null) return [Buffer.from([0xf6])];
  if (typeof v === 'boolean') return [Buffer.from([v ? 0xf5 : 0xf4])];
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return [v >= 0 ? head(0, v) : head(1, -1 - v)];
    const f = Buffer.alloc(9);
    f[0] = 0xfb;
    f.writeDoubleBE(v, 1);
    return [f];
  }
  if (typeof v === 'string') {
    const text = Buffer.from(v, 'utf8');
    return [head(3, text.length), text];
  }
  const entries = Object.entries(v);
  return [head(5, entries.length), ...entries.flatMap(([k, x]) => [...cborOf(k), ...cborOf(x)])];
}
