/**
 * The stdio transport of `grit mcp`: one JSON-RPC message per line, as the SDK's own. Unlike the
 * SDK's, it answers a line it cannot pass on, as JSON-RPC 2.0 asks (§5.1), and keeps reading:
 * - not JSON: Parse error (-32700, id null);
 * - JSON but no JSON-RPC message: Invalid Request (-32600, with the line's id when it has one);
 * - a request whose params do not fit its method: Invalid params (-32602), one line naming what is
 *   wrong. The SDK would answer that with -32603 Internal error and its schema check's dump.
 * Each such line is also reported through `onerror` (the server writes it on stderr).
 */
import { createInterface, type Interface } from 'node:readline';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ClientRequestSchema,
  ErrorCode,
  isJSONRPCRequest,
  JSONRPCMessageSchema,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';

/** The SDK's schema of each request a client may send, by method. */
const REQUEST_SCHEMAS = new Map(ClientRequestSchema.options.map((schema) => [schema.shape.method.value as string, schema]));

interface Issue {
  path: PropertyKey[];
  message: string;
}

const oneLine = (issues: Issue[]): string => issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');

function idOf(json: unknown): RequestId | null {
  const id = typeof json === 'object' && json !== null ? (json as { id?: unknown }).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private lines: Interface | null = null;

  constructor(
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stdout,
  ) {}

  async start(): Promise<void> {
    this.lines = createInterface({ input: this.input, crlfDelay: Infinity });
    this.lines.on('line', (line) => this.receive(line));
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.output.write(JSON.stringify(message) + '\n')) resolve();
      else this.output.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    this.lines?.close();
    this.lines = null;
    this.onclose?.();
  }

  private receive(line: string): void {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      return this.refuse(null, ErrorCode.ParseError, `Parse error: ${(err as Error).message}`);
    }
    const parsed = JSONRPCMessageSchema.safeParse(json);
    if (!parsed.success) {
      const what = 'Invalid Request: not a JSON-RPC 2.0 message (jsonrpc "2.0" with a method, or a result or error, and an id)';
      return this.refuse(idOf(json), ErrorCode.InvalidRequest, what);
    }
    const message = parsed.data;
    if (isJSONRPCRequest(message)) {
      const fit = REQUEST_SCHEMAS.get(message.method)?.safeParse(message);
      if (fit && !fit.success) {
        return this.refuse(message.id, ErrorCode.InvalidParams, `Invalid params for ${message.method}: ${oneLine(fit.error.issues)}`);
      }
    }
    this.onmessage?.(message);
  }

  private refuse(id: RequestId | null, code: ErrorCode, message: string): void {
    // JSON-RPC 2.0 answers a request it cannot identify with id null; the SDK's type has no null.
    void this.send({ jsonrpc: '2.0', id: id as RequestId, error: { code, message } });
    this.onerror?.(new Error(message));
  }
}
