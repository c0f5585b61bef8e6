/**
 * The stdio transport of `grit mcp`: one JSON-RPC message per line, as the SDK's own. Unlike the
 * SDK's, it answers a line it cannot pass on, as JSON-RPC 2.0 asks (§5.1), and keeps reading:
 * - not JSON: Parse error (-32700, id null);
 * - JSON but no JSON-RPC message: Invalid Request (-32600, with the line's id when it has one);
 * - a request whose params do not fit its method: Invalid params (-32602), one line naming what is
 *   wrong. The SDK would answer that with -32603 Internal error and its schema check's dump.
 * Each such line is also reported through `onerror` (the server writes it on stderr).
 *
 * It also takes JSON-RPC batches (§6), in the one protocol version of MCP that has them (below).
 */
import { createInterface, type Interface } from 'node:readline';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ClientRequestSchema,
  ErrorCode,
  isJSONRPCNotification,
  isJSONRPCRequest,
  JSONRPCMessageSchema,
  JSONRPCRequestSchema,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';

/** The SDK's schema of each request a client may send, by method. */
const REQUEST_SCHEMAS = new Map(ClientRequestSchema.options.map((schema) => [schema.shape.method.value as string, schema]));

/**
 * The protocol versions in which a client may send a batch: 2025-03-26 added JSON-RPC batching
 * (its changelog; its stdio transport: a message may be "a JSON-RPC batch containing one or more
 * requests and/or notifications") and 2025-06-18 removed it again. 2024-11-05 never had it.
 */
const BATCH_VERSIONS: ReadonlySet<string> = new Set(['2025-03-26']);

interface Issue {
  path: PropertyKey[];
  message: string;
}

const oneLine = (issues: Issue[]): string => issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');

function idOf(json: unknown): RequestId | null {
  const id = typeof json === 'object' && json !== null ? (json as { id?: unknown }).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** The id a response answers; undefined for a request or a notification. */
function answers(message: JSONRPCMessage): RequestId | undefined {
  return 'result' in message || 'error' in message ? (message.id as RequestId) : undefined;
}

/** What to do with one message read: pass it on to the server, or answer it with an error. */
type Checked = { ok: true; message: JSONRPCMessage } | { ok: false; refusal: Refusal };

interface Refusal {
  id: RequestId | null;
  code: ErrorCode;
  message: string;
}

/**
 * What is wrong with a request's `params` when that alone kept it from being a JSON-RPC message:
 * the SDK's message schema checks `params._meta` (a `progressToken` of `{}`, say), and its failure
 * read as "not a JSON-RPC 2.0 message" (-32600), which names nothing. Null when the envelope
 * itself is wrong (no method or id, `params` not an object: JSON-RPC's own Invalid Request).
 */
function paramsIssues(json: unknown): { id: RequestId; method: string; issues: Issue[] } | null {
  const fit = JSONRPCRequestSchema.safeParse(json);
  if (fit.success || !fit.error.issues.every((i) => i.path[0] === 'params' && i.path.length > 1)) return null;
  const { id, method } = json as { id: RequestId; method: string };
  return { id, method, issues: fit.error.issues.map((i) => (i.path.at(-1) === 'progressToken' && i.path.at(-2) === '_meta' ? { ...i, message: PROGRESS_TOKEN } : i)) };
}

/** MCP's ProgressToken: `string | number`, an integer as its text says and the SDK checks. */
const PROGRESS_TOKEN = 'a progress token is a string or an integer';

function check(json: unknown): Checked {
  const parsed = JSONRPCMessageSchema.safeParse(json);
  if (!parsed.success) {
    const bad = paramsIssues(json);
    if (bad) return { ok: false, refusal: { id: bad.id, code: ErrorCode.InvalidParams, message: `Invalid params for ${bad.method}: ${oneLine(bad.issues)}` } };
    const what = 'Invalid Request: not a JSON-RPC 2.0 message (jsonrpc "2.0" with a method, or a result or error, and an id)';
    return { ok: false, refusal: { id: idOf(json), code: ErrorCode.InvalidRequest, message: what } };
  }
  const message = parsed.data;
  if (isJSONRPCRequest(message)) {
    const fit = REQUEST_SCHEMAS.get(message.method)?.safeParse(message);
    if (fit && !fit.success) {
      const what = `Invalid params for ${message.method}: ${oneLine(fit.error.issues)}`;
      return { ok: false, refusal: { id: message.id, code: ErrorCode.InvalidParams, message: what } };
    }
  }
  return { ok: true, message };
}

/** A batch being answered: the requests of it still to be answered, and the replies so far. */
interface Batch {
  waiting: Set<RequestId>;
  replies: JSONRPCMessage[];
}

export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private lines: Interface | null = null;
  /** The protocol version of this session: the one named in grit's reply to `initialize`. */
  private version: string | null = null;
  /**
   * The id of an `initialize` not answered yet. Lines read meanwhile wait in `held` until it is,
   * so that a batch piped in right behind it is judged by the version that was agreed.
   */
  private initializing: RequestId | null = null;
  private held: string[] = [];
  /** Each request of a batch not answered yet → its batch. */
  private batches = new Map<RequestId, Batch>();
  /** Each `tools/call` not yet handled whose `arguments` hold a key the SDK's parse drops → those keys. */
  private dropped = new Map<RequestId, string[]>();
  /**
   * Settles at the output's next `drain`, shared by every write made while it is full: a listener
   * per write (replies piling up for a client that reads slowly) passed Node's ten and printed a
   * MaxListenersExceededWarning, "possible memory leak", on grit mcp's stderr.
   */
  private drained: Promise<void> | null = null;

  constructor(
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stdout,
  ) {}

  async start(): Promise<void> {
    this.lines = createInterface({ input: this.input, crlfDelay: Infinity });
    this.lines.on('line', (line) => this.receive(line));
  }

  send(message: JSONRPCMessage): Promise<void> {
    const id = answers(message);
    const batch = id === undefined ? undefined : this.batches.get(id);
    if (id !== undefined && batch) {
      batch.replies.push(message);
      this.settle(batch, id);
      return Promise.resolve();
    }
    const sent = this.write(message);
    if (id !== undefined && id === this.initializing) this.initialized(message);
    return sent;
  }

  async close(): Promise<void> {
    this.lines?.close();
    this.lines = null;
    this.onclose?.();
  }

  private write(payload: JSONRPCMessage | JSONRPCMessage[]): Promise<void> {
    if (this.output.write(JSON.stringify(payload) + '\n')) return Promise.resolve();
    this.drained ??= new Promise((resolve) =>
      this.output.once('drain', () => {
        this.drained = null;
        resolve();
      }),
    );
    return this.drained;
  }

  /** The reply to `initialize` is out: it names the session's version; the lines held meanwhile are read now. */
  private initialized(reply: JSONRPCMessage): void {
    const version = 'result' in reply ? (reply.result as { protocolVersion?: unknown }).protocolVersion : undefined;
    if (typeof version === 'string') this.version = version;
    this.initializing = null;
    const held = this.held;
    this.held = [];
    for (const line of held) this.receive(line);
  }

  private receive(line: string): void {
    if (line.trim() === '') return;
    if (this.initializing !== null) {
      this.held.push(line);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      return this.refuse({ id: null, code: ErrorCode.ParseError, message: `Parse error: ${(err as Error).message}` });
    }
    if (Array.isArray(json)) return this.receiveBatch(json);
    const checked = check(json);
    if (!checked.ok) return this.refuse(checked.refusal);
    if (isJSONRPCRequest(checked.message) && checked.message.method === 'initialize') this.initializing = checked.message.id;
    this.pass(checked.message);
  }

  /**
   * A batch is answered, as JSON-RPC 2.0 §6 asks, with one array holding a reply to each of its
   * requests (none for its notifications, and nothing at all when it has no request), once the
   * last of them is answered. Each member is checked as a line on its own would be.
   */
  private receiveBatch(members: unknown[]): void {
    if (this.version === null || !BATCH_VERSIONS.has(this.version)) {
      const session = this.version === null ? 'no protocol version is agreed yet (initialize first)' : `this session speaks ${this.version}`;
      const message = `Invalid Request: a JSON-RPC batch, which MCP has only in protocol version ${[...BATCH_VERSIONS].join(', ')}; ${session}`;
      return this.refuse({ id: null, code: ErrorCode.InvalidRequest, message });
    }
    if (members.length === 0) return this.refuse({ id: null, code: ErrorCode.InvalidRequest, message: 'Invalid Request: an empty batch' });
    const batch: Batch = { waiting: new Set(), replies: [] };
    const checked = members.map((member): Checked => {
      const c = check(member);
      // MCP 2025-03-26, lifecycle: "The initialize request MUST NOT be part of a JSON-RPC batch".
      if (c.ok && isJSONRPCRequest(c.message) && c.message.method === 'initialize') {
        const message = 'Invalid Request: initialize must be sent on its own, not in a batch';
        return { ok: false, refusal: { id: c.message.id, code: ErrorCode.InvalidRequest, message } };
      }
      return c;
    });
    // The refusals are in, and every request is waited for, before any member is passed on: the
    // SDK answers some requests at once (an unknown method), and must not complete the batch early.
    const passed: JSONRPCMessage[] = [];
    for (const c of checked) {
      if (!c.ok) {
        batch.replies.push(this.refusal(c.refusal));
        this.onerror?.(new Error(c.refusal.message));
        continue;
      }
      if (isJSONRPCRequest(c.message)) {
        batch.waiting.add(c.message.id);
        this.batches.set(c.message.id, batch);
      }
      passed.push(c.message);
    }
    for (const message of passed) this.pass(message);
    this.flush(batch);
  }

  /**
   * The keys of a `tools/call`'s `arguments` that the SDK's own parse of the request drops before
   * the server sees them (`__proto__`, which zod leaves out of the object it builds), asked once
   * per request. The server refuses them as unknown arguments, as it does any other, rather than
   * run the tool without a word about them.
   */
  droppedArguments(id: RequestId): string[] {
    const keys = this.dropped.get(id) ?? [];
    this.dropped.delete(id);
    return keys;
  }

  /**
   * Passes a message on to the server. A cancelled request of a batch is not waited for: the SDK
   * sends no reply to a request cancelled before it is answered (docs/mcp.md "Cancellation").
   */
  private pass(message: JSONRPCMessage): void {
    if (isJSONRPCRequest(message) && message.method === 'tools/call') {
      const args = message.params?.arguments;
      if (typeof args === 'object' && args !== null && Object.hasOwn(args, '__proto__')) this.dropped.set(message.id, ['__proto__']);
    }
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      const batch = id === undefined ? undefined : this.batches.get(id);
      if (id !== undefined && batch) this.settle(batch, id);
    }
    this.onmessage?.(message);
  }

  /** Request `id` of `batch` needs no more waiting for. */
  private settle(batch: Batch, id: RequestId): void {
    this.batches.delete(id);
    batch.waiting.delete(id);
    this.flush(batch);
  }

  /** Writes the batch's replies once none is waited for (taking them out: a batch is answered once). */
  private flush(batch: Batch): void {
    if (batch.waiting.size > 0 || batch.replies.length === 0) return;
    void this.write(batch.replies.splice(0));
  }

  private refusal({ id, code, message }: Refusal): JSONRPCMessage {
    // JSON-RPC 2.0 answers a request it cannot identify with id null; the SDK's type has no null.
    return { jsonrpc: '2.0', id: id as RequestId, error: { code, message } };
  }

  private refuse(refusal: Refusal): void {
    void this.write(this.refusal(refusal));
    this.onerror?.(new Error(refusal.message));
  }
}
