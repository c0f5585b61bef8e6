/**
 * `grit mcp`: the Model Context Protocol over stdio. Loaded only by that command, since the SDK
 * (and its schema validators) cost more start-up time than any other grit command pays.
 *
 * Every tool runs a grit command function through runLocal, the same path as the CLI, and
 * answers with the CLI's `--json` envelope: as text for any client, and as structured content.
 * A failure is an MCP tool error (isError) whose envelope carries the grit error code.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { GritError, invalidArgs, toGritError } from '../core/errors.js';
import { inKeyTerms, refuseDeepArgs, type Args } from '../commands/args.js';
import type { ContextOptions } from '../commands/context.js';
import { isCommandName } from '../commands/registry.js';
import { runLocal } from '../commands/run.js';
import { LineTransport } from './stdio.js';
import { TOOLS, type Runner, type ToolSpec } from './tools.js';

const INSTRUCTIONS = [
  'grit is the issue tracker of this git repository. Issue ids accept any unique prefix of 4+ hex characters.',
  'Before starting work, check issue_list and take a lock (lock_acquire) on what you change; close issues you finish.',
  'memory_store keeps a note for later sessions, memory_query finds it again.',
  'context_query finds where a symbol is defined once context_index has indexed the code.',
].join(' ');

/** The tools on offer: those whose command is in the registry of this build. */
export function availableTools(): ToolSpec[] {
  return TOOLS.filter((t) => isCommandName(t.ipc));
}

/**
 * Tool calls run one at a time, in the order they arrive, each whole (memory_query's several
 * commands too, so no call runs between them): each opens the actor's store, and agents call
 * tools in sequence anyway. A call whose signal is aborted (the client cancelled it) before its
 * turn comes is not run: its promise rejects with the signal's reason.
 */
function oneAtATime(): <T>(task: () => Promise<T>, signal: AbortSignal) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task, signal) => {
    const result = tail.then(() => {
      signal.throwIfAborted();
      return task();
    });
    tail = result.catch(() => undefined);
    return result;
  };
}

/**
 * What became of a call the client cancelled (`notifications/cancelled`), for standard error:
 * the SDK sends no reply for it, as the MCP spec asks, so this line is all there is to say that
 * a call which had started ran to its end (docs/mcp.md "Cancellation").
 */
function cancelNote(id: RequestId, tool: string, reason: unknown, started: boolean): string {
  const why = typeof reason === 'string' && reason !== '' ? ` (${reason})` : '';
  const what = started ? 'after it had started: it ran to its end, and no reply is sent' : 'before it started: not run';
  return `request ${JSON.stringify(id)} (${tool}) cancelled${why} ${what}`;
}

/**
 * `arguments` is an object or absent: the transport answers any other shape with -32602. `dropped`:
 * keys the client sent that the SDK's parse left out of `raw` (`__proto__`), unknown to every tool.
 */
function checkArgs(tool: ToolSpec, raw: Args, dropped: string[] = []): Args {
  const allowed = Object.keys(tool.input.properties);
  const unknown = [...dropped, ...Object.keys(raw).filter((k) => !allowed.includes(k))];
  if (unknown.length) {
    throw invalidArgs(`unknown argument${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} for ${tool.name}`, {
      unknown,
      allowed,
    }, `${tool.name} takes ${allowed.join(', ') || 'no arguments'}`);
  }
  // Before a tool's own code reads them (memory_store reads labels), as the command would.
  refuseDeepArgs(tool.name, raw);
  return raw;
}

/**
 * The command functions, shared with the CLI, name arguments in their messages as the CLI spells
 * them; a tool's caller knows them by the tool's argument names.
 */
const inToolTerms = (err: GritError, tool: ToolSpec): GritError => inKeyTerms(err, Object.keys(tool.input.properties));

function reply(envelope: Record<string, unknown>, isError: boolean): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(envelope) }], structuredContent: envelope, isError };
}

export async function callTool(run: Runner, name: string, rawArgs: Args = {}, dropped: string[] = []): Promise<CallToolResult> {
  const tool = availableTools().find((t) => t.name === name);
  try {
    if (!tool) throw invalidArgs(`unknown tool ${name}`, { tool: name, tools: availableTools().map((t) => t.name) }, 'tools/list lists the tools');
    const args = checkArgs(tool, rawArgs, dropped);
    const data = await (tool.call ? tool.call(run, args) : run(tool.ipc, args));
    return reply({ schema_version: 1, ok: true, data }, false);
  } catch (err) {
    const error = tool ? inToolTerms(toGritError(err), tool) : toGritError(err);
    return reply({ schema_version: 1, ok: false, error: error.toJSON() }, true);
  }
}

/**
 * `log` takes one line for standard error: what the client's messages got wrong, and cancellations.
 * `dropped`: the transport's `droppedArguments`, the keys of a call's arguments the SDK left out.
 */
export function createServer(
  options: ContextOptions,
  version: string,
  log: (line: string) => void,
  dropped: (id: RequestId) => string[] = () => [],
): { server: Server; idle: () => Promise<void> } {
  const run: Runner = (ipc, args) => runLocal(ipc, args, options);
  const inTurn = oneAtATime();
  const inFlight = new Set<Promise<unknown>>();
  const server = new Server({ name: 'grit', version }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: availableTools().map((t) => ({ name: t.name, description: t.description, inputSchema: t.input })),
  }));
  server.setRequestHandler(CallToolRequestSchema, (req, { signal, requestId }) => {
    let started = false;
    const droppedKeys = dropped(requestId);
    const call = inTurn(() => {
      started = true;
      return callTool(run, req.params.name, req.params.arguments, droppedKeys);
    }, signal);
    inFlight.add(call);
    const settled = () => {
      inFlight.delete(call);
      if (signal.aborted) log(cancelNote(requestId, req.params.name, signal.reason, started));
    };
    void call.then(settled, settled);
    return call;
  });
  server.onerror = (err) => log(err.message);
  const idle = async () => {
    // Requests read just before the end of input are dispatched on a later tick: let them start.
    await new Promise((r) => setImmediate(r));
    while (inFlight.size) await Promise.allSettled([...inFlight]);
  };
  return { server, idle };
}

/**
 * Serves until the client closes standard input, answering what it asked before that: a client
 * may pipe requests in and close at once (`printf … | grit mcp`).
 */
export async function serveMcp(options: ContextOptions, version: string): Promise<void> {
  // Standard output carries only the protocol: anything else the server has to say goes here.
  const transport = new LineTransport();
  const { server, idle } = createServer(options, version, (line) => process.stderr.write(`grit mcp: ${line}\n`), (id) => transport.droppedArguments(id));
  const closed = new Promise<void>((resolve) => (server.onclose = resolve));
  await server.connect(transport);
  process.stdin.once('end', () => void idle().then(() => server.close()));
  await closed;
}
