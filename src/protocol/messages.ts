/**
 * The IPC envelopes of SPEC §7. A request is CBOR unless its first byte is `{`, in which case it
 * is JSON and the reply is JSON too (so `nngcat` can script grit). Decoding never throws: a
 * malformed request becomes an error reply, which the caller sends back like any other.
 */
import { isAbsolute, resolve } from 'node:path';
import { isForwarded } from '../core/forwarded-env.js';
import { GritError, toGritError, type ErrorCode } from '../core/errors.js';
import { inKeyTerms, refuseDeepArgs, type Args } from '../commands/args.js';
import { COMMANDS, isCommandName } from '../commands/registry.js';
import { afterMaybeRun, answeredBySupervisor } from '../commands/routing.js';
import { invalidUtf8Path } from './cbor-utf8.js';
import { isProgressToken } from './progress.js';

export const IPC_SCHEMA_VERSION = 1;

/** The largest request the daemon reads (the CLI runs a larger one in-process instead). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/**
 * The largest reply the daemon sends (an issue with a huge body, an export to stdout). A larger
 * one is refused with an error that makes the CLI run the command in-process.
 */
export const MAX_REPLY_BYTES = 256 * 1024 * 1024;
/** Room for a message's routing header (nng's backtrace words) beside its body. */
export const HEADER_ROOM = 4096;

export type WireFormat = 'cbor' | 'json';

/** A request as it travels: `command` holds exactly one `{Name: {args}}` entry. */
export interface IpcRequest {
  ipc_schema_version: number;
  request_id: string | number;
  /** Absent only from the requests about the daemon itself (routing.ts `answeredBySupervisor`). */
  repo_root?: string;
  actor_id?: string | null;
  data_dir?: string | null;
  /** grit's own addition: the caller's working directory, for commands that take relative paths. */
  cwd?: string | null;
  /**
   * grit's own addition: the build of grit that sends it (src/core/build-info.ts). A daemon of
   * another build declines the request and stops, so the caller's own build takes over.
   */
  client_build?: string | null;
  /**
   * grit's own addition: the caller's values of the variables a command reads while it runs
   * (src/core/forwarded-env.ts); the command runs with them, and without those the caller lacks.
   * Absent: the daemon's own.
   */
  env?: Record<string, string> | null;
  /**
   * grit's own addition: how the reply's messages name arguments. `cli` (the CLI sends it): as its
   * flags (`--title is required`); absent or `keys`: by the request's own keys (`title is required`).
   */
  arg_names?: ArgNames | null;
  /**
   * grit's own addition: a token under which the daemon publishes the command's progress on its
   * PUB socket while it runs (src/protocol/progress.ts), for a client that draws it. Absent: none is.
   */
  progress?: string | null;
  /**
   * grit's own addition: the caller's umask (0 to 0o777), which the files a command makes for it
   * (an export) are made with. Absent: the daemon's own.
   */
  umask?: number | null;
  command: Record<string, Args>;
}

export type ArgNames = 'cli' | 'keys';

/** A request for a repository: every one but those about the daemon itself, which checkRequest lets go without. */
export type RepoRequest = CommandRequest & { repo_root: string };

/** A request once checked: the command split into its name and arguments. */
export interface CommandRequest {
  request_id: string | number;
  /** Null only for a request about the daemon itself (routing.ts `answeredBySupervisor`), which may go without. */
  repo_root: string | null;
  actor_id: string | null;
  data_dir: string | null;
  cwd: string | null;
  client_build: string | null;
  env: Record<string, string> | null;
  arg_names: ArgNames;
  progress: string | null;
  umask: number | null;
  name: string;
  args: Args;
}

export interface IpcErrorBody {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/**
 * `warnings`, grit's addition to SPEC §7's reply: what the command said on stderr had it run in
 * the client's process (a signature policy applying events with bad signatures, a damaged store
 * rebuilt). Present only when there are some; clients that do not know it ignore it.
 */
export type IpcReply = (
  | { ipc_schema_version: number; request_id: string | number | null; ok: true; data: unknown }
  | { ipc_schema_version: number; request_id: string | number | null; ok: false; error: IpcErrorBody }
) & { warnings?: string[] };

export type Decoded =
  | { format: WireFormat; request: CommandRequest }
  | { format: WireFormat; request_id: string | number | null; error: GritError };

const BRACE = 0x7b;

/** JSON's whitespace (RFC 8259): space, tab, line feed, carriage return. */
const isJsonSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * SPEC §7: a request whose first byte is `{` is JSON. grit also reads one whose first byte after
 * a UTF-8 byte order mark and JSON whitespace is `{` as JSON (a file or a here-doc sent with
 * `nngcat`), and answers it in JSON, which such a client can read. No CBOR request starts with
 * those bytes (it is one map: 0xa0 to 0xbf), so none is taken for JSON.
 */
export function formatOf(body: Uint8Array): WireFormat {
  let i = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  while (i < body.length && isJsonSpace(body[i])) i++;
  return body[i] === BRACE ? 'json' : 'cbor';
}

/** Parses and validates one request body. */
export async function decodeRequest(body: Uint8Array): Promise<Decoded> {
  const format = formatOf(body);
  let decode: (body: Uint8Array) => unknown;
  try {
    decode = format === 'json' ? (b) => JSON.parse(strictUtf8.decode(b)) : (await cbor()).decode;
  } catch (err) {
    return { format, request_id: null, error: codecUnavailable(err) };
  }
  let raw: unknown;
  try {
    raw = decode(body);
  } catch (err) {
    if (err instanceof TypeError && format === 'json') {
      return { format, request_id: null, error: new GritError('invalid_args', 'the JSON request is not valid UTF-8', { suggestion: 'send the request encoded as UTF-8' }) };
    }
    return { format, request_id: null, error: malformed(format, body, err) };
  }
  const request_id = requestIdOf(raw);
  try {
    if (format === 'cbor') refuseInvalidUtf8(body);
    return { format, request: checkRequest(raw) };
  } catch (err) {
    return { format, request_id, error: toGritError(err) };
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text that is not UTF-8 is refused, naming the field, rather than stored with U+FFFD in place of
 * what could not be read (docs/daemon.md). Arguments are named as the command sees them.
 */
function refuseInvalidUtf8(body: Uint8Array): void {
  const path = invalidUtf8Path(body);
  if (path === null) return;
  const field = path.replace(/^command\.[^.[]+\./, '');
  throw new GritError('invalid_args', `${field} is not valid UTF-8 (RFC 8949: a CBOR text string must be)`, {
    details: { field: path },
    suggestion: 'send text as UTF-8, or bytes as a byte string',
  });
}

function checkRequest(raw: unknown): CommandRequest {
  if (!isRecord(raw)) throw ipcError('a request must be a map');
  if (raw.ipc_schema_version !== IPC_SCHEMA_VERSION) {
    // A grit client of another version runs its command itself (`fallback`); the supervisor
    // steps aside for one that names its build (docs/daemon.md, "Upgrades").
    const client_build = typeof raw.client_build === 'string' ? raw.client_build : undefined;
    throw ipcError(`unsupported ipc_schema_version ${JSON.stringify(raw.ipc_schema_version)}; this daemon speaks ${IPC_SCHEMA_VERSION}`, {
      supported: [IPC_SCHEMA_VERSION],
      fallback: true,
      ...(client_build === undefined ? {} : { client_build }),
    });
  }
  const request_id = raw.request_id;
  if (!isRequestId(request_id)) throw badRequestId(request_id);
  const command = raw.command;
  if (!isRecord(command)) throw ipcError('command must be a map {Name: {args}}');
  const names = Object.keys(command);
  if (names.length !== 1) throw ipcError(`command must name exactly one command, got ${names.length}`);
  const name = names[0];
  const repo_root = raw.repo_root ?? (answeredBySupervisor(name) ? null : undefined);
  if (repo_root !== null && (typeof repo_root !== 'string' || repo_root === '')) throw ipcError('repo_root must be a non-empty string');
  const args = command[name] ?? {};
  if (!isRecord(args)) throw new GritError('invalid_args', `arguments of ${name} must be a map`, { suggestion: `send {"${name}": {}} when it takes no arguments` });
  // Here too, before the hand-over to a worker copies them (the command's own check comes after).
  refuseDeepArgs(name, args as Args);
  const cwd = optString(raw, 'cwd');
  if (cwd !== null && !isAbsolute(cwd)) throw ipcError('cwd must be an absolute path');
  const data_dir = optString(raw, 'data_dir');
  const arg_names = optString(raw, 'arg_names') ?? 'keys';
  if (arg_names !== 'cli' && arg_names !== 'keys') throw ipcError('arg_names must be "cli" or "keys"', { arg_names });
  const progress = raw.progress ?? null;
  if (progress !== null && !isProgressToken(progress)) throw ipcError('progress must be a token of 8 to 64 letters, digits, - or _', { progress });
  return {
    request_id,
    repo_root: repo_root === null ? null : absolute(repo_root, cwd, 'repo_root'),
    actor_id: optString(raw, 'actor_id'),
    // An empty one stays empty, for the actor's selection to refuse (data-dir.ts), not made the cwd.
    data_dir: data_dir === null || data_dir === '' ? data_dir : absolute(data_dir, cwd, 'data_dir'),
    cwd,
    client_build: optString(raw, 'client_build'),
    env: forwardedVars(raw.env),
    arg_names,
    progress,
    umask: optUmask(raw),
    name,
    args: args as Args,
  };
}

/** The names the IPC gives the actor's selection, where the CLI has `--actor` (data_dir is spelt alike). */
const IPC_SELECTION = { actor: 'actor_id', data_dir: 'data_dir' };

/**
 * An error reply to a request, naming arguments as its sender does (`arg_names`): the command
 * functions name them as the CLI spells them, which only the CLI asks for.
 */
export function replyErrorTo(request: CommandRequest, err: unknown): IpcReply {
  const error = toGritError(err);
  const keys = isCommandName(request.name) ? COMMANDS[request.name].args : [];
  return replyError(request.request_id, request.arg_names === 'cli' ? error : inKeyTerms(error, keys, IPC_SELECTION));
}

/** A request's `env`: names the daemon forwards only (no other variable of its own is the caller's to set), each to text. */
function forwardedVars(env: unknown): Record<string, string> | null {
  if (env === undefined || env === null) return null;
  if (!isRecord(env)) throw ipcError('env must be a map of variable names to strings, or null');
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string') throw ipcError(`env.${name} must be a string`, { name });
    if (!isForwarded(name)) throw ipcError(`env may not set ${name}: only the variables a command reads are forwarded (docs/daemon.md)`, { name });
  }
  return env as Record<string, string>;
}

/** A path of a request: relative ones are taken from its cwd, never from the daemon's. */
function absolute(path: string, cwd: string | null, field: string): string {
  if (isAbsolute(path)) return path;
  if (cwd === null) throw ipcError(`${field} must be an absolute path (or give cwd, which a relative one is taken from)`, { [field]: path });
  return resolve(cwd, path);
}

export function replyOk(request_id: string | number | null, data: unknown): IpcReply {
  return { ipc_schema_version: IPC_SCHEMA_VERSION, request_id, ok: true, data };
}

export function replyError(request_id: string | number | null, err: unknown): IpcReply {
  return { ipc_schema_version: IPC_SCHEMA_VERSION, request_id, ok: false, error: toGritError(err).toJSON() };
}

export function withWarnings(reply: IpcReply, warnings: string[]): IpcReply {
  return warnings.length ? { ...reply, warnings } : reply;
}

export async function encodeMessage(message: IpcReply | IpcRequest, format: WireFormat): Promise<Uint8Array> {
  return format === 'json' ? Buffer.from(JSON.stringify(message)) : (await cbor()).encodeForPeers(message);
}

/**
 * `encodeMessage`, for a message posted to another thread (a worker's reply): exactly its bytes,
 * in a buffer of their own. Posting a view copies the whole buffer it is into (cbor-x's, grown to
 * megabytes by one large value; Buffer.from's shared pool); written to a socket, a view costs
 * nothing, so only a posted message pays for the copy.
 */
export async function encodeMessageToPost(message: IpcReply | IpcRequest, format: WireFormat): Promise<Uint8Array> {
  const bytes = await encodeMessage(message, format);
  return bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

/** Decodes a reply (client side); a reply that is not one is an ipc_error. */
export async function decodeReply(body: Uint8Array): Promise<IpcReply> {
  const format = formatOf(body);
  let raw: unknown;
  try {
    raw = format === 'json' ? JSON.parse(Buffer.from(body).toString('utf8')) : (await cbor()).decode(body);
  } catch (err) {
    throw ipcError(`malformed reply from the daemon: ${messageOf(err)}`);
  }
  if (!isRecord(raw) || typeof raw.ok !== 'boolean') throw ipcError('the daemon sent something that is not a reply');
  if (raw.ok === false && !isRecord(raw.error)) throw ipcError('the daemon sent an error reply without an error');
  return raw as unknown as IpcReply;
}

/**
 * A request over MAX_REQUEST_BYTES: the daemon has not run it (it read and discarded it, or was
 * never sent it), so the caller may run it in-process.
 */
export function requestTooLarge(what: string, bytes: number): GritError {
  return new GritError('ipc_error', `${what} of ${bytes} bytes exceeds the daemon's limit of 16 MiB (${MAX_REQUEST_BYTES} bytes)`, {
    details: { request_bytes: bytes, limit: MAX_REQUEST_BYTES, fallback: true },
    suggestion: 'run the command with --no-daemon',
  });
}

/**
 * A request the daemon got and did not see through (it died, the client stopped waiting, the
 * daemon's drain deadline cut it short): `details.may_have_run`. A read, or a write that leaves
 * the same run twice (a sync), can simply run again; an issue write may have been written, so look
 * before running it again (routing.ts `afterMaybeRun`). (The CLI runs a read again itself.)
 */
export function mayHaveRun(message: string, name: string, args: Args, details: Record<string, unknown>): GritError {
  return new GritError('ipc_error', message, {
    details: { ...details, may_have_run: true },
    suggestion: afterMaybeRun(name, args),
  });
}

export function ipcError(message: string, details: Record<string, unknown> = {}): GritError {
  return new GritError('ipc_error', message, { details });
}

/**
 * A request that is neither JSON nor CBOR, said in grit's words: the decoder's own (cbor-x: "does
 * not support arrays, maps, or strings with length over 4294967295" for a body starting `[`) say
 * nothing to the sender. A JSON parser's message names the place, and is kept.
 */
function malformed(format: WireFormat, body: Uint8Array, err: unknown): GritError {
  if (format === 'json') return ipcError(`malformed JSON request: ${messageOf(err)}`);
  const first = body.length === 0 ? 'it is empty' : `its first byte is 0x${body[0].toString(16).padStart(2, '0')}`;
  return new GritError('ipc_error', `malformed request: not one whole CBOR data item (RFC 8949), and not JSON, which starts with \`{\` (${first})`, {
    details: { bytes: body.length },
    suggestion: 'send one CBOR map, or a JSON object (SPEC §7)',
  });
}

/**
 * The daemon could not load its CBOR codec (files removed under it by an `npm install` in
 * progress; out of file descriptors): the request was not read, let alone run.
 */
function codecUnavailable(err: unknown): GritError {
  return new GritError('internal_error', `the daemon cannot read CBOR requests: loading its CBOR codec failed (${messageOf(err)})`, {
    details: { fallback: true },
    suggestion: 'send the request again (the codec is loaded again for it), or as JSON; if it goes on, restart the daemon (`grit daemon stop`)',
  });
}

type Codec = typeof import('../core/plain-cbor.js');
// cbor-x costs ~15 ms to load: only CBOR callers pay for it (the CLI speaks JSON).
let codec: Promise<Codec> | undefined;

/**
 * The CBOR codec, loaded on first use. A load that failed is not kept: the next CBOR message
 * tries again (node itself tries again a file that was missing, though not one it could not
 * read for want of file descriptors: the daemon loads it as it starts, `preloadCbor`).
 */
function cbor(): Promise<Codec> {
  return (codec ??= import('../core/plain-cbor.js').catch((err: unknown) => {
    codec = undefined;
    throw err;
  }));
}

/** Loads the CBOR codec now (the daemon, as it starts); a failure is tried again on first use. */
export async function preloadCbor(): Promise<void> {
  await cbor();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function isRequestId(v: unknown): v is string | number {
  return (typeof v === 'string' && v.length <= 256) || Number.isSafeInteger(v);
}

/**
 * Why a request_id is refused. An integer beyond 2^53 − 1 is not echoed rounded (JSON.parse, and
 * so most JSON readers, round it; a reply carrying another id would match no request): it is
 * refused, with the way out, a string.
 */
function badRequestId(v: unknown): GritError {
  const limits = 'a string of up to 256 characters or an integer within ±(2^53 − 1)';
  // Such a number was rounded as it was decoded (JSON.parse, and cbor-x too): echoed as if it were
  // the id sent (…617 read as …2000) it would mislead, so it is said to be rounded.
  const message =
    typeof v === 'bigint'
      ? `request_id ${String(v)} is beyond ±(2^53 − 1), which JSON and CBOR readers cannot all hold exactly`
      : typeof v === 'number' && Number.isInteger(v)
        ? `request_id is an integer beyond ±(2^53 − 1), which JSON and CBOR readers cannot all hold exactly (this one read it rounded, as ${String(v)})`
        : typeof v === 'string'
        ? `request_id is ${v.length} characters long, more than 256`
        : `request_id must be ${limits}, not ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`;
  return new GritError('ipc_error', message, { details: { request_id_limits: limits }, suggestion: 'send a larger id as a string, e.g. "18446744073709551617"' });
}

function requestIdOf(raw: unknown): string | number | null {
  return isRecord(raw) && isRequestId(raw.request_id) ? raw.request_id : null;
}

/** A umask: permission bits, as `umask` prints them in octal (0o022 is 18). */
export const isUmask = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0o777;

function optUmask(raw: Record<string, unknown>): number | null {
  const v = raw.umask;
  if (v === undefined || v === null) return null;
  if (!isUmask(v)) throw ipcError('umask must be a whole number from 0 to 511 (0o777), or null', { umask: v });
  return v;
}

function optString(raw: Record<string, unknown>, key: string): string | null {
  const v = raw[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw ipcError(`${key} must be a string or null`);
  return v;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
