/**
 * Arguments a command does not read, or of the wrong type, are refused before it runs, through
 * the daemon and in process alike, and the table of what each command reads keeps up with what
 * the CLI and the MCP tools send.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import type { Args } from '../../src/commands/args.js';
import { COMMANDS, isCommandName } from '../../src/commands/registry.js';
import { runLocal } from '../../src/commands/run.js';
import { ACTIONS } from '../../src/cli/actions.js';
import { TOOLS, type JsonSchema } from '../../src/mcp/tools.js';
import { decodeReply, type IpcErrorBody, type IpcReply } from '../../src/protocol/messages.js';
import { ReqClient } from '../../src/protocol/transport/index.js';
import { encode } from '../../src/core/plain-cbor.js';
import { startDaemon } from '../helpers/daemon.js';
import { gritOk, tempRepo, gritInit } from '../helpers/repo.js';

const misspelt = { title: 'x', lables: ['bug'] };

function refusesLables(err: any): boolean {
  assert.equal(err.code, 'invalid_args');
  assert.deepEqual(err.details.unknown, ['lables']);
  assert.equal(err.details.command, 'IssueCreate');
  assert.deepEqual(err.details.allowed, ['title', 'body', 'labels']);
  assert.match(err.suggestion, /IssueCreate takes title, body, labels/);
  return true;
}

test('through the daemon, an unknown argument is invalid_args and nothing is written', async () => {
  const daemon = await startDaemon();
  const repo = tempRepo();
  await gritInit(repo);
  try {
    const client = await daemon.client('json');
    const target = { repoRoot: repo };
    try {
      await assert.rejects(client.request('IssueCreate', misspelt, target), refusesLables);
      assert.equal((await client.issueList({}, target)).total, 0);
      // Commands the supervisor runs itself, or in place rather than in a worker, are checked too.
      for (const name of ['DaemonStatus', 'DaemonStop', 'ActorList']) {
        await assert.rejects(client.request(name, { verbose: true }, target), (e: any) => e.code === 'invalid_args' && e.details.unknown[0] === 'verbose');
      }
      // A request about the daemon itself is for no repository: it needs no target (SPEC §7 `DaemonStatus {}`); any other does.
      assert.equal((await client.request<{ running: boolean }>('DaemonStatus', {})).running, true);
      await assert.rejects(client.request('IssueList', {}), (e: any) => e.code === 'invalid_args' && /no repository given/.test(e.message));
      // A target in the IPC's own spelling is the caller's mistake, refused before it is sent.
      await assert.rejects(client.request('IssueList', {}, { repo_root: repo } as never), (e: any) => {
        assert.equal(e.code, 'invalid_args');
        assert.equal(e.message, 'unknown target option repo_root (write repoRoot, not repo_root)');
        assert.deepEqual(e.details.unknown, ['repo_root']);
        assert.match(e.suggestion, /repoRoot/);
        return true;
      });
      await assert.rejects(client.request('IssueList', {}, { repoRoot: repo, actorId: 7 } as never), (e: any) => e.code === 'invalid_args' && e.details.field === 'actorId');
      // A relative path is the caller's to resolve: refused before it is sent, not the daemon's ipc_error.
      for (const [bad, field] of [[{ repoRoot: 'rel/path' }, 'repoRoot'], [{ repoRoot: repo, cwd: 'rel' }, 'cwd'], [{ repoRoot: repo, dataDir: 'actors/x' }, 'dataDir']] as const) {
        await assert.rejects(client.request('IssueList', {}, bad), (e: any) => e.code === 'invalid_args' && e.exitCode === 2 && e.details.field === field);
      }
      // With a cwd to take it from, a relative repoRoot is the daemon's to resolve.
      assert.equal((await client.issueList({}, { repoRoot: basename(repo), cwd: dirname(repo) })).total, 0);
      await client.issueCreate({ title: 'spelt right', labels: ['bug'] }, target);
      assert.equal((await client.issueList({ label: 'bug' }, target)).total, 1);
    } finally {
      client.close();
    }
  } finally {
    await daemon.stop();
  }
});

/**
 * A daemon of its own, a repository set up, and `fn` given a raw REQ socket to the daemon and
 * `send`, which sends it a JSON request for that repository (the fields given over the defaults).
 */
async function overTheSocket(fn: (io: { repo: string; raw: ReqClient; send: (fields: Record<string, unknown>) => Promise<IpcReply> }) => Promise<void>): Promise<void> {
  const daemon = await startDaemon();
  const repo = tempRepo();
  await gritInit(repo);
  const raw = await ReqClient.connect(daemon.endpoint);
  const send = async (fields: Record<string, unknown>) =>
    decodeReply(await raw.request(Buffer.from(JSON.stringify({ ipc_schema_version: 1, request_id: 'raw', repo_root: repo, ...fields })), { timeoutMs: 20_000 }));
  try {
    await fn({ repo, raw, send });
  } finally {
    raw.close();
    await daemon.stop();
  }
}

/** The error of a reply that must be one. */
function refused(reply: IpcReply, what: string): IpcErrorBody {
  assert.equal(reply.ok, false, `${what}: ${JSON.stringify(reply)}`);
  return reply.ok ? null! : reply.error;
}

test('over the socket, a list argument that is not a list (labels as one text) is invalid_args naming it, in JSON and CBOR', () =>
  overTheSocket(async ({ repo, raw, send }) => {
    const sendAs = async (labels: unknown, json: boolean) => {
      const request = { ipc_schema_version: 1, request_id: 'typed', repo_root: repo, command: { IssueCreate: { title: 't', labels } } };
      return json ? send(request) : decodeReply(await raw.request(Buffer.from(encode(request)), { timeoutMs: 20_000 }));
    };
    for (const json of [true, false]) {
      for (const labels of ['bug', { 0: 'bug' }, 5, true]) {
        const what = `${JSON.stringify(labels)} as ${json ? 'JSON' : 'CBOR'}`;
        const reply = await sendAs(labels, json);
        const error = refused(reply, what);
        assert.deepEqual([error.code, error.message, error.details.field], ['invalid_args', 'labels must be a list of labels', 'labels'], what);
        assert.equal(reply.request_id, 'typed');
      }
    }
    const listed = await send({ command: { IssueList: {} } });
    assert.equal(listed.ok && (listed.data as { total: number }).total, 0, 'nothing written');
    assert.equal((await sendAs(['bug', 'bug'], true)).ok, true, 'a list is taken');
  }));

test('over the socket, messages name arguments by the request\'s keys, with advice for the value sent; the CLI\'s flag names only when the request asks for them (arg_names: cli)', () =>
  overTheSocket(async ({ repo, send }) => {
    const said = async (command: Record<string, Args>, fields: Record<string, unknown> = {}) => {
      const e = refused(await send({ cwd: repo, ...fields, command }), JSON.stringify(command));
      return [e.message, e.details.field, e.details.suggestion];
    };
    // A JSON number gets the range; text, how to write it (no CLI flag, which ttl_ms is not: the CLI's is --ttl).
    assert.deepEqual(await said({ LockAcquire: { resource: 'repo:', local: true, ttl_ms: 1.5 } }), [
      'ttl_ms must be a whole number from 1000 to 2592000000',
      'ttl_ms',
      'give ttl_ms a whole number from 1000 to 2592000000, such as 1000',
    ]);
    assert.match((await said({ LockAcquire: { resource: 'repo:', local: true, ttl_ms: '1.5' } }))[2] as string, /^give ttl_ms a whole number .* in digits only/);
    assert.deepEqual(await said({ Sync: { pull: 'yes' } }), ['pull must be true or false', 'pull', 'pass pull as a boolean']);
    assert.deepEqual(await said({ Export: { since: 'yesterday' } }), [
      'since must be a unix ms timestamp, an RFC 3339 (ISO 8601) date or date-time (2025-01-01, 2025-01-01T12:00, 2025-01-01T12:00:30.5Z, 2025-01-01T12:00+02:00; a time without an offset is UTC), or a 64-hex event id',
      'since',
      'give since a date such as 2025-01-01 or a date-time such as 2025-01-01T12:00Z, or a unix ms timestamp (a whole number, 0 or more) such as 1735689600000',
    ]);
    assert.deepEqual((await said({ IssueDepAdd: { issue_id: 'abcd', target: 'abcd' } })).slice(0, 2), ['dep_type is required (one of blocks, depends_on, related_to)', 'dep_type']);
    // Advice for the command line stays as it is: in backquotes, or naming a flag only the CLI has.
    assert.equal((await said({ IssueCreate: { title: 't', labels: 'bug' } }))[2], 'send a list, even of one label (on the command line, `--label` once per label)');
    assert.deepEqual(await said({ IssueComment: { issue_id: 'abcd' } }), ['body is required', 'body', 'give --body "…", or --body-file <file> (--body-file - reads standard input)']);
    // What the CLI asks for: its flags, as its user typed them.
    assert.deepEqual(await said({ Sync: { pull: 'yes' } }, { arg_names: 'cli' }), ['--pull must be true or false', 'pull', 'pass --pull as a boolean']);
    assert.equal(refused(await send({ arg_names: 'flags', command: { IssueList: {} } }), 'arg_names flags').code, 'ipc_error');
    for (const umask of [-1, 0o1000, 1.5, '022']) assert.equal(refused(await send({ umask, command: { IssueList: {} } }), `umask ${umask}`).code, 'ipc_error');
    // A JSON number since is a timestamp, as the CLI's digits are.
    gritOk(repo, ['issue', 'create', '--title', 'counted']);
    const exported = async (since: number) => {
      const reply = await send({ command: { Export: { since, output: '-' } } });
      return reply.ok && (reply.data as { event_count: number }).event_count;
    };
    assert.deepEqual([await exported(0), await exported(Date.now() + 60_000)], [1, 0]);
    assert.deepEqual(await said({ Export: { since: -1, output: '-' } }), ['since must be a whole number, 0 or more', 'since', 'give since a whole number, 0 or more, such as 1735689600000']);
  }));

test('over the socket, an empty actor_id or data_dir is invalid_args naming it, never the default actor, and nothing is written', () =>
  overTheSocket(async ({ repo, send }) => {
    // The default actor's route cached first: an empty selector must not be taken for none.
    assert.equal((await send({ command: { ActorCurrent: {} } })).ok, true);
    for (const [fields, message, field] of [
      [{ actor_id: '' }, 'actor_id must not be empty', 'actor_id'],
      [{ actor_id: ' ' }, 'actor_id must not be empty', 'actor_id'],
      // Not taken as the cwd it would resolve against.
      [{ data_dir: '', cwd: repo }, 'data_dir must not be empty', 'data_dir'],
      [{ data_dir: '' }, 'data_dir must not be empty', 'data_dir'],
    ] as const) {
      const error = refused(await send({ ...fields, command: { IssueCreate: { title: 'as whom?' } } }), JSON.stringify(fields));
      assert.deepEqual([error.code, error.message, error.details.field], ['invalid_args', message, field], JSON.stringify(fields));
    }
    assert.equal(gritOk(repo, ['issue', 'list']).total, 0, 'nothing written');
  }));

test('in process (runLocal), an unknown argument is invalid_args and nothing is written', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await assert.rejects(runLocal('IssueCreate', misspelt, { cwd: repo }), refusesLables);
  assert.equal(((await runLocal('IssueList', {}, { cwd: repo })) as { total: number }).total, 0);
  // Allowed arguments may still be null or undefined.
  await runLocal('IssueCreate', { title: 'x', body: null, labels: undefined }, { cwd: repo });
  assert.equal(((await runLocal('IssueList', { state: null }, { cwd: repo })) as { total: number }).total, 1);
});

function allows(ipc: string, args: Args, by: string): void {
  assert.ok(isCommandName(ipc), `${by}: no command ${ipc}`);
  for (const key of Object.keys(args)) assert.ok(COMMANDS[ipc].args.includes(key), `${by} sends ${key}, which ${ipc} does not allow`);
}

test('every argument a CLI action sends is allowed for its command', async () => {
  // toArgs builds its object literally, so its keys are there even when the flags are not given;
  // `context set` refuses a line with neither a value nor --value-file before it sends anything.
  const given: Record<string, Args> = { 'context:set': { value: '' } };
  for (const [id, action] of Object.entries(ACTIONS)) allows(action.ipc, await action.toArgs({ args: given[id] ?? {}, flags: {} }), `CLI ${id}`);
});

test('every argument an MCP tool sends is allowed for its command', async () => {
  const sample = (s: JsonSchema): unknown => (s.type === 'boolean' ? true : s.type === 'array' ? ['x'] : ((s.enum as string[] | undefined)?.[0] ?? 'x'));
  // Enough of a reply for the tools that run several commands (memory_query lists, then shows).
  const reply = { issues: [{ issue_id: 'ab'.repeat(16) }], issue: { title: 'x', body: 'x', labels: [], state: 'open', updated_ts: 0 } };
  for (const tool of TOOLS) {
    const given = Object.fromEntries(Object.entries(tool.input.properties).map(([k, s]) => [k, sample(s)]));
    const sent: Array<[string, Args]> = [];
    const run = async (ipc: string, args: Args) => {
      sent.push([ipc, args]);
      return reply;
    };
    await (tool.call ? tool.call(run, given) : run(tool.ipc, given));
    assert.ok(sent.length > 0, `${tool.name} ran nothing`);
    for (const [ipc, args] of sent) allows(ipc, args, `MCP ${tool.name}`);
  }
});

test('text with a lone surrogate (a JSON \\ud800 escape) is invalid_args naming the field as CBOR does: raw JSON, GritClient json and cbor, in process; nothing is written', async () => {
  const daemon = await startDaemon();
  const repo = tempRepo();
  await gritInit(repo);
  const refused = (what: string, field: string, message: RegExp) => (e: any) => {
    assert.equal(e.code, 'invalid_args', what);
    assert.equal(e.details.field, field, what);
    assert.match(e.message, message, what);
    return true;
  };
  const lone = /^(title|labels\[1\]) is not valid UTF-8: it holds a lone surrogate \(U\+D[89A-F][0-9A-F]{2}\)/;
  const raw = await ReqClient.connect(daemon.endpoint);
  const target = { repoRoot: repo };
  const [json, cbor] = [await daemon.client('json'), await daemon.client('cbor')];
  try {
    // As nngcat sends it: the escape itself in the request's bytes, which are valid UTF-8.
    for (const [args, field] of [
      ['"title":"lone \\ud800 x"', 'command.IssueCreate.title'],
      ['"title":"split \\ud83d emoji"', 'command.IssueCreate.title'],
      ['"title":"t","labels":["ok","cut \\udc00"]', 'command.IssueCreate.labels[1]'],
    ]) {
      const body = `{"ipc_schema_version":1,"request_id":"s","repo_root":${JSON.stringify(repo)},"command":{"IssueCreate":{${args}}}}`;
      const reply = await decodeReply(await raw.request(Buffer.from(body), { timeoutMs: 20_000 }));
      assert.equal(reply.ok, false, args);
      if (!reply.ok) refused(args, field, lone)(reply.error);
      assert.equal(reply.request_id, 's');
    }
    await assert.rejects(json.request('IssueCreate', { title: 'surr \ud83d x' }, target), refused('GritClient json', 'command.IssueCreate.title', lone));
    // CBOR cannot carry the surrogate: the client's encoder writes its bytes, which are not UTF-8.
    await assert.rejects(cbor.request('IssueCreate', { title: 'surr \ud83d x' }, target), refused('GritClient cbor', 'command.IssueCreate.title', /^title is not valid UTF-8/));
    await assert.rejects(json.request('IssueComment', { issue_id: 'abcd', body: 'x \udfff' }, target), refused('a comment', 'command.IssueComment.body', /^body is not valid UTF-8/));
    await assert.rejects(runLocal('IssueCreate', { title: 'in process \ud800' }, { cwd: repo }), refused('runLocal', 'command.IssueCreate.title', lone));
    // A pair, escaped or not, is text like any other, and the writer's store holds what its WAL does.
    await json.issueCreate({ title: 'pair \ud83d\ude00 ok', labels: ['\ud83d\udc1b'] }, target);
    const listed = await json.issueList({}, target);
    assert.deepEqual(listed.issues.map((i: any) => [i.title, i.labels]), [['pair 😀 ok', ['🐛']]]);
    const check = gritOk(repo, ['db', 'check'], { env: daemon.env });
    assert.deepEqual([check.corrupt_count, check.errors], [0, []]);
  } finally {
    raw.close();
    json.close();
    cbor.close();
    await daemon.stop();
  }
});
