/**
 * `grit mcp`: the Model Context Protocol over stdio. Loaded only by that command, since the SDK
 * (and its schema validators) cost more start-up time than any other grit command pays.
 *
 * Every tool runs a grit command function through runLocal, the same path as the CLI, and
 * answers with the CLI's `--json` envelope: as text for any client, and as structured content.
 * A failure is an MCP tool error (isError) whose envelope carries the grit error code.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GritError, invalidArgs, toGritError } from '../core/errors.js';
import { cliName, type Args } from '../commands/args.js';
import type { ContextOptions } from '../commands/context.js';
import { isCommandName } from '../commands/registry.js';
import { runLocal } from '../commands/run.js';
import { LineTransport } from './stdio.js';
import { TOOLS, type Runner, type ToolSpec } from './tools.js';

const INSTRUCTIONS = [
  'grit is the issue tracker of this git repository. Issue ids accept any unique prefix of 4+ hex characters.',
  'Before starting work, check issue_list and take a lock (lock_acquire) on what you change; close issues you finish.',
  'memory_store keeps a note for later sessions, memory_query finds it again.',
].join(' ');

/** The tools on offer: those whose command is in the registry of this build. */
export function availableTools(): ToolSpec[] {
  return TOOLS.filter((t) => isCommandName(t.ipc));
}

/**
 * Tool calls run one at a time, in the order they arrive, each whole (memory_query's several
 * commands too, so no call runs between them): each opens the actor's store, and agents call
 * tools in sequence anyway.
 */
function oneAtATime(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const result = tail.then(task);
    tail = result.catch(() => undefined);
    return result;
  };
}

/** `arguments` is an object or absent: the transport answers any other shape with -32602. */
function checkArgs(tool: ToolSpec, raw: Args): Args {
  const allowed = Object.keys(tool.input.properties);
  const unknown = Object.keys(raw).filter((k) => !allowed.includes(k));
  if (unknown.length) {
    throw invalidArgs(`unknown argument${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} for ${tool.name}`, {
      unknown,
      allowed,
    }, `${tool.name} takes ${allowed.join(', ') || 'no arguments'}`);
  }
  return raw;
}

/** A flag (`--dep-type`) or a positional argument (`<id>`) as a command's message names it. */
const CLI_TOKEN = /(?<![\w:-])(--[a-z0-9][a-z0-9-]*|<[a-z_-]+>)(?![\w-])/g;

/**
 * The command functions, shared with the CLI, name arguments in their messages as the CLI spells
 * them (`args.ts` cliName); a tool's caller knows them by the tool's argument names, so each such
 * name of one of the tool's arguments is given as that argument (`dep_type`, `issue_id`) instead.
 */
function inToolTerms(err: GritError, tool: ToolSpec): GritError {
  const keys = new Map(Object.keys(tool.input.properties).map((key) => [cliName(key), key]));
  const message = err.message.replace(CLI_TOKEN, (token) => keys.get(token) ?? token);
  if (message === err.message) return err;
  return GritError.fromJSON({ ...err.toJSON(), message });
}

function reply(envelope: Record<string, unknown>, isError: boolean): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(envelope) }], structuredContent: envelope, isError };
}

export async function callTool(run: Runner, name: string, rawArgs: Args = {}): Promise<CallToolResult> {
  const tool = availableTools().find((t) => t.name === name);
  try {
    if (!tool) throw invalidArgs(`unknown tool ${name}`, { tool: name, tools: availableTools().map((t) => t.name) }, 'tools/list lists the tools');
    const args = checkArgs(tool, rawArgs);
    const data = await (tool.call ? tool.call(run, args) : run(tool.ipc, args));
    return reply({ schema_version: 1, ok: true, data }, false);
  } catch (err) {
    const error = tool ? inToolTerms(toGritError(err), tool) : toGritError(err);
    return reply({ schema_version: 1, ok: false, error: error.toJSON() }, true);
  }
}

export function createServer(options: ContextOptions, version: string): { server: Server; idle: () => Promise<void> } {
  const run: Runner = (ipc, args) => runLocal(ipc, args, options);
  const inTurn = oneAtATime();
  const inFlight = new Set<Promise<unknown>>();
  const server = new Server({ name: 'grit', version }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: availableTools().map((t) => ({ name: t.name, description: t.description, inputSchema: t.input })),
  }));
  server.setRequestHandler(CallToolRequestSchema, (req) => {
    const call = inTurn(() => callTool(run, req.params.name, req.params.arguments));
    inFlight.add(call);
    void call.finally(() => inFlight.delete(call));
    return call;
  });
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
  const { server, idle } = createServer(options, version);
  const closed = new Promise<void>((resolve) => (server.onclose = resolve));
  // Standard output carries only the protocol: what went wrong with the client's messages goes here.
  server.onerror = (err) => process.stderr.write(`grit mcp: ${err.message}\n`);
  await server.connect(new LineTransport());
  process.stdin.once('end', () => void idle().then(() => server.close()));
  await closed;
}
