import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { COMMANDS, isCommandName } from '../../src/commands/registry.js';
import { TOOLS } from '../../src/mcp/tools.js';
import { GRIT_BIN } from '../helpers/paths.js';
import { git, gritOk, tempDir, tempRepo, gritInit } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';

/** A result's envelope: the same JSON the CLI prints with --json. */
function envelope(result: any): any {
  assert.equal(result.content[0].type, 'text');
  const parsed = JSON.parse(result.content[0].text);
  assert.deepEqual(result.structuredContent, parsed);
  return parsed;
}

async function ok(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const result: any = await client.callTool({ name, arguments: args });
  const env = envelope(result);
  assert.equal(result.isError, false, `${name} failed: ${result.content[0].text}`);
  assert.equal(env.ok, true);
  return env.data;
}

async function fails(client: Client, name: string, args: Record<string, unknown>): Promise<any> {
  const result: any = await client.callTool({ name, arguments: args });
  assert.equal(result.isError, true, `${name} should fail: ${result.content[0].text}`);
  const env = envelope(result);
  assert.equal(env.ok, false);
  return env.error;
}

describe('grit mcp', () => {
  let repo: string;
  let client: Client;
  let stderr = '';

  before(async () => {
    repo = tempRepo();
    await gritInit(repo);
    const env: Record<string, string> = { ...(process.env as Record<string, string>), NO_COLOR: '1', GRIT_NO_DAEMON: '1' };
    delete env.GRIT_HOME;
    const transport = new StdioClientTransport({ command: process.execPath, args: [GRIT_BIN, 'mcp'], cwd: repo, env, stderr: 'pipe' });
    transport.stderr?.on('data', (d) => (stderr += d));
    client = new Client({ name: 'grit-test', version: '1.0.0' });
    await client.connect(transport);
  });

  after(async () => {
    await client?.close();
  });

  it('lists the tools whose commands exist, with their argument schemas', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    const expected = TOOLS.filter((t) => isCommandName(t.ipc)).map((t) => t.name).sort();
    assert.deepEqual(names, expected);
    for (const must of ['issue_create', 'issue_list', 'issue_show', 'issue_update', 'issue_comment', 'issue_close',
      'label_add', 'label_remove', 'lock_acquire', 'lock_release', 'lock_status', 'sync', 'memory_store', 'memory_query']) {
      assert.ok(names.includes(must), `missing ${must}`);
    }
    for (const maybe of ['issue_dep_topo', 'context_query', 'context_set']) {
      const ipc = TOOLS.find((t) => t.name === maybe)!.ipc;
      assert.equal(names.includes(maybe), isCommandName(ipc), `${maybe} listed iff ${ipc} is registered`);
    }
    const create = tools.find((t) => t.name === 'issue_create')!;
    assert.deepEqual(create.inputSchema.required, ['title']);
    assert.equal((create.inputSchema.properties as any).labels.type, 'array');
  });

  it('creates, comments on and closes an issue, as the CLI sees it', async () => {
    const created = await ok(client, 'issue_create', { title: 'Parser drops the last line', body: 'see input.txt', labels: ['bug'] });
    assert.match(created.issue_id, /^[0-9a-f]{32}$/);
    const prefix = created.issue_id.slice(0, 8);
    await ok(client, 'issue_comment', { issue_id: prefix, body: 'reproduced on main' });
    await ok(client, 'label_add', { issue_id: prefix, label: 'parser' });
    const closed = await ok(client, 'issue_close', { issue_id: prefix });
    assert.equal(closed.state, 'closed');

    const shown = await ok(client, 'issue_show', { issue_id: created.issue_id });
    assert.equal(shown.issue.state, 'closed');
    assert.deepEqual(shown.issue.comments.map((c: any) => c.body), ['reproduced on main']);
    assert.deepEqual([...shown.issue.labels].sort(), ['bug', 'parser']);

    // The same data as the CLI's --json: one store, one set of command functions.
    assert.deepEqual(gritOk(repo, ['issue', 'show', prefix]), shown);
    const listed = await ok(client, 'issue_list', { state: 'closed' });
    assert.deepEqual(listed, gritOk(repo, ['issue', 'list', '--state', 'closed']));
    assert.equal(listed.total, 1);
  });

  it('answers failures as tool errors carrying the grit error code', async () => {
    const missing = await fails(client, 'issue_show', { issue_id: 'ffffffff' });
    assert.equal(missing.code, 'not_found');
    assert.equal(missing.details.suggestion, 'run `grit issue list` to see issue ids');
    assert.equal((await fails(client, 'issue_create', { title: '  ' })).code, 'invalid_args');
    assert.equal((await fails(client, 'issue_create', { title: 'x', priority: 1 })).code, 'invalid_args');
    assert.equal((await fails(client, 'issue_list', { state: 'done' })).code, 'invalid_args');
    assert.equal((await fails(client, 'no_such_tool', {})).code, 'invalid_args');
    // The server keeps serving after errors.
    assert.equal(typeof (await ok(client, 'issue_list')).total, 'number');
  });

  it('names the argument an unknown or malformed issue id came in (details.field): issue_dep_add takes two', async () => {
    const { issue_id } = await ok(client, 'issue_create', { title: 'depends on a missing one' });
    const field = async (tool: string, args: Record<string, unknown>) => {
      const error = await fails(client, tool, args);
      return [error.code, error.details.field];
    };
    // Before, the missing target was `details.issue_id` alone, beside a good issue_id argument.
    assert.deepEqual(await field('issue_dep_add', { issue_id, target: 'ffffffff', dep_type: 'blocks' }), ['not_found', 'target']);
    assert.deepEqual(await field('issue_dep_add', { issue_id, target: 'zz', dep_type: 'blocks' }), ['invalid_args', 'target']);
    assert.deepEqual(await field('issue_dep_add', { issue_id: 'ffffffff', target: issue_id, dep_type: 'blocks' }), ['not_found', 'issue_id']);
    assert.deepEqual(await field('issue_show', { issue_id: 'zz' }), ['invalid_args', 'issue_id']);
    assert.deepEqual(await field('lock_acquire', { resource: 'issue:ffffffff' }), ['not_found', 'resource']);
  });

  it('offers each tool exactly the arguments its command reads', () => {
    for (const tool of TOOLS.filter((t) => !t.call && isCommandName(t.ipc))) {
      // ttl_ms is the IPC's other spelling of ttl, which takes a number of seconds as well; cwd is
      // the CLI's directory, which a tool's caller does not have.
      const reads = COMMANDS[tool.ipc].args.filter((a) => a !== 'ttl_ms' && a !== 'cwd');
      assert.deepEqual(Object.keys(tool.input.properties).sort(), [...reads].sort(), tool.name);
    }
  });

  it('names the missing required argument by its tool name, as a tool error', async () => {
    for (const tool of (await client.listTools()).tools) {
      const required = (tool.inputSchema.required ?? []) as string[];
      const result: any = await client.callTool({ name: tool.name, arguments: {} });
      const error = envelope(result).error;
      if (required.length === 0) {
        assert.notEqual(error?.code, 'invalid_args', `${tool.name} needs no argument: ${error?.message}`);
        continue;
      }
      assert.equal(result.isError, true, tool.name);
      assert.equal(error.code, 'invalid_args', `${tool.name}: ${error.message}`);
      assert.doesNotMatch(error.message, /--|<\w+>/, `${tool.name}: no CLI spelling`);
      // issue_update says first that it has nothing to update (title or body).
      if (tool.name === 'issue_update') continue;
      assert.ok(required.includes(error.details.field), `${tool.name}: ${error.details.field} is not required in the schema`);
      assert.ok(error.message.startsWith(`${error.details.field} `), `${tool.name}: ${error.message}`);
    }
  });

  it('reports an argument of the wrong type as invalid_args naming the argument, for every tool', async () => {
    const { issue_id } = await ok(client, 'issue_create', { title: 'typed' });
    const good: Record<string, unknown> = { issue_id, target: issue_id, dep_type: 'related_to', resource: 'path:typed', title: 't', body: 'b', label: 'l', key: 'k', value: 'v', query: 'q' };
    const wrong = (s: any): unknown => (s.type === 'string' ? 5 : s.type === 'array' ? 5 : s.type === 'integer' ? 'many' : s.type === 'boolean' ? 'yes' : true);
    for (const tool of (await client.listTools()).tools) {
      const properties = tool.inputSchema.properties as Record<string, any>;
      const base = Object.fromEntries(Object.keys(properties).filter((k) => k in good).map((k) => [k, good[k]]));
      for (const [key, schema] of Object.entries(properties)) {
        const args = { ...base, [key]: wrong(schema) };
        const error = await fails(client, tool.name, args);
        assert.equal(error.code, 'invalid_args', `${tool.name} ${key}: ${error.message}`);
        assert.equal(error.details.field, key, `${tool.name} ${key}: ${JSON.stringify(error)}`);
        assert.match(error.message, new RegExp(`^${key} `), `${tool.name} ${key}`);
        assert.doesNotMatch(error.message, /--|<\w+>/, `${tool.name} ${key}: no CLI spelling`);
      }
    }
    // Only the prose is renamed: the command line in backquotes is what to type at a shell.
    const nothing = await fails(client, 'issue_update', { issue_id });
    assert.deepEqual([nothing.message, nothing.details.field, nothing.details.suggestion], [
      'nothing to update: give title or body',
      'title',
      'give title or body, for example `grit issue update <id> --title "…"`',
    ]);
    // The hint names the argument as the tool does, and fits a JSON number: no advice on typing digits.
    const limit = await fails(client, 'context_query', { query: 'q', limit: 1.5 });
    assert.deepEqual([limit.message, limit.details.suggestion], ['limit must be a whole number from 1 to 10000', 'give limit a whole number from 1 to 10000, such as 50']);
  });

  it('refuses an argument nested thousands deep as invalid_args, for every argument of every tool, not internal_error', async () => {
    const { issue_id } = await ok(client, 'issue_create', { title: 'deep' });
    const good: Record<string, unknown> = { issue_id, target: issue_id, dep_type: 'related_to', resource: 'path:deep', title: 't', body: 'b', label: 'l', key: 'k', value: 'v', query: 'q' };
    // JSON.parse reads any depth; an error that echoed the value (details.value) overflowed the stack copying it.
    const deep = JSON.parse(`${'['.repeat(3000)}1${']'.repeat(3000)}`);
    for (const tool of (await client.listTools()).tools) {
      const properties = tool.inputSchema.properties as Record<string, any>;
      const base = Object.fromEntries(Object.keys(properties).filter((k) => k in good).map((k) => [k, good[k]]));
      for (const key of Object.keys(properties)) {
        const error = await fails(client, tool.name, { ...base, [key]: deep });
        assert.deepEqual([error.code, error.message], ['invalid_args', `arguments of ${tool.name} are nested more than 16 deep`], `${tool.name} ${key}`);
      }
    }
  });

  it('refuses an argument named __proto__ as unknown (the SDK\'s parse drops it), and echoes one inside a value as a key', async () => {
    // Sent as the JSON text a client writes: an object literal's __proto__ would set its prototype.
    const args = JSON.parse('{"title": "proto", "__proto__": {"labels": ["x"]}}');
    const unknown = await fails(client, 'issue_create', args);
    assert.deepEqual([unknown.code, unknown.message, unknown.details.unknown], ['invalid_args', 'unknown argument __proto__ for issue_create', ['__proto__']]);
    assert.equal(unknown.details.allowed.includes('__proto__'), false);
    const nested = await fails(client, 'issue_list', JSON.parse('{"label": {"__proto__": {"polluted": 1}}}'));
    assert.deepEqual([nested.code, nested.details.field, JSON.stringify(nested.details.value)], ['invalid_args', 'label', '{"__proto__":{"polluted":1}}']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual((await ok(client, 'issue_list', {})).issues.filter((i: any) => i.title === 'proto'), []);
  });

  it('stores and finds memories by a substring of title or body', async () => {
    await ok(client, 'memory_store', { title: 'Tests need GRIT_NO_DAEMON', body: 'otherwise they race the daemon' });
    await ok(client, 'memory_store', { title: 'Build before testing', body: 'npm run build writes the manifest', labels: ['howto'] });
    await ok(client, 'issue_create', { title: 'Not a memory: the daemon is slow' });

    const all = await ok(client, 'memory_query');
    assert.equal(all.total, 2);
    const hit = await ok(client, 'memory_query', { query: 'MANIFEST' });
    assert.deepEqual(hit.memories.map((m: any) => m.title), ['Build before testing']);
    assert.deepEqual([...hit.memories[0].labels].sort(), ['howto', 'memory']);
    const daemon = await ok(client, 'memory_query', { query: 'daemon' });
    assert.deepEqual(daemon.memories.map((m: any) => m.title), ['Tests need GRIT_NO_DAEMON']);
    assert.equal((await ok(client, 'memory_query', { query: 'nothing like this' })).total, 0);
    // One text is not a list of labels, as for issue_create: refused, and nothing stored.
    for (const tool of ['memory_store', 'issue_create']) {
      const one = await fails(client, tool, { title: 'Labels as one text', labels: 'howto' });
      assert.deepEqual([one.code, one.message, one.details.field], ['invalid_args', 'labels must be a list of labels', 'labels'], tool);
    }
    assert.equal((await ok(client, 'memory_query')).total, 2);
  });

  it('orders issues by their dependencies', { skip: !isCommandName('IssueDepTopo') && 'no IssueDepTopo in this build' }, async () => {
    const first = await ok(client, 'issue_create', { title: 'Lay the foundation', labels: ['house'] });
    const second = await ok(client, 'issue_create', { title: 'Build the walls', labels: ['house'] });
    await ok(client, 'issue_dep_add', { issue_id: second.issue_id, target: first.issue_id, dep_type: 'depends_on' });
    const topo = await ok(client, 'issue_dep_topo', { label: 'house' });
    assert.deepEqual(topo.order.map((i: any) => i.title), ['Lay the foundation', 'Build the walls']);
    assert.deepEqual(topo, gritOk(repo, ['issue', 'dep', 'topo', '--label', 'house']));
    const cycle = await fails(client, 'issue_dep_add', { issue_id: first.issue_id, target: second.issue_id, dep_type: 'depends_on' });
    assert.equal(cycle.code, 'conflict');
  });

  it('syncs with a remote, and reports a missing one as git_error', async () => {
    const missing = await fails(client, 'sync', {});
    assert.equal(missing.code, 'git_error');
    const remote = tempDir();
    git(remote, 'init', '-q', '--bare');
    git(repo, 'remote', 'add', 'origin', remote);
    const synced = await ok(client, 'sync', { push: true });
    assert.ok(synced.pushed > 0, `pushed ${synced.pushed}`);
    assert.equal(git(remote, 'rev-parse', 'refs/grit/wal').trim(), synced.wal_head);
    git(repo, 'remote', 'remove', 'origin');
  });

  it('takes, shows and releases a lock', async () => {
    const taken = await ok(client, 'lock_acquire', { resource: 'path:src/parser', ttl: '10m' });
    assert.equal(taken.lock.resource, 'path:src/parser');
    assert.equal(taken.remote, null);
    const status = await ok(client, 'lock_status');
    assert.deepEqual(status.locks.map((l: any) => [l.resource, l.mine]), [['path:src/parser', true]]);
    await ok(client, 'lock_release', { resource: 'path:src/parser' });
    assert.equal((await ok(client, 'lock_status')).locks.length, 0);
    assert.equal(stderr, '', 'nothing on stderr');
  });

  it('reads a JSON number ttl as seconds, as the CLI does, for acquire and renew', async () => {
    const before = Date.now();
    const taken = await ok(client, 'lock_acquire', { resource: 'path:docs', ttl: 3600 });
    const inHour = (ms: number) => ms >= before + 3600_000 && ms <= Date.now() + 3600_000;
    assert.ok(inHour(taken.lock.expires_unix_ms), `an hour, not 3.6 s: ${taken.lock.expires_unix_ms - before} ms`);
    const renewed = await ok(client, 'lock_renew', { resource: 'path:docs', ttl: 7200 });
    assert.ok(renewed.lock.expires_unix_ms >= before + 7200_000);
    const schema = (await client.listTools()).tools.find((t) => t.name === 'lock_acquire')!.inputSchema as any;
    assert.match(schema.properties.ttl.description, /number of seconds/);
    assert.equal((await fails(client, 'lock_acquire', { resource: 'path:x', ttl: 0.5 })).code, 'invalid_args');
    await ok(client, 'lock_release', { resource: 'path:docs' });
  });

  it('limits context_query results with limit, as the CLI does', async () => {
    writeFileSync(join(repo, 'parsers.ts'), ['parseA', 'parseB', 'parseC'].map((f) => `export function ${f}() {}\n`).join(''));
    git(repo, 'add', 'parsers.ts');
    gritOk(repo, ['context', 'index']);
    const two = await ok(client, 'context_query', { query: 'parse', limit: 2 });
    assert.equal(two.results.length, 2);
    assert.equal(two.truncated, true);
    assert.deepEqual(two, gritOk(repo, ['context', 'query', 'parse', '--limit', '2']));
    assert.equal((await ok(client, 'context_query', { query: 'parse' })).results.length, 3);
    assert.equal((await fails(client, 'context_query', { query: 'parse', limit: 0 })).code, 'invalid_args');
    const schema = (await client.listTools()).tools.find((t) => t.name === 'context_query')!.inputSchema as any;
    assert.deepEqual([schema.properties.limit.type, schema.properties.limit.minimum, schema.properties.limit.maximum], ['integer', 1, 10_000]);
  });

  it('takes an absolute path inside the worktree for context_index (a tool sends no cwd); one outside is refused by name', async () => {
    writeFileSync(join(repo, 'abs.ts'), 'export function absolutely() {}\n');
    git(repo, 'add', 'abs.ts');
    assert.equal((await ok(client, 'context_index', { path: join(repo, 'abs.ts') })).indexed, 1);
    const outside = await fails(client, 'context_index', { path: '/etc' });
    assert.deepEqual([outside.code, outside.message], ['invalid_args', `/etc is outside the worktree ${repo}`]);
    // Not "relative to this one": a tool's caller has no directory of its own here.
    const missing = await fails(client, 'context_index', { path: 'no/such/dir' });
    assert.deepEqual([missing.code, missing.details.field, missing.details.suggestion], ['not_found', 'path', 'give a directory inside the repository, relative to its root']);
  });

  it('reads back what context_set stored with context_project', async () => {
    await ok(client, 'context_set', { key: 'build.command', value: 'npm run build' });
    assert.equal((await ok(client, 'context_project', { key: 'build.command' })).value, 'npm run build');
    const all = await ok(client, 'context_project');
    assert.ok(all.entries.some((e: any) => e.key === 'build.command' && e.value === 'npm run build'));
    assert.equal((await fails(client, 'context_project', { key: 'no.such.key' })).code, 'not_found');
  });
});

/** Runs `grit mcp` on these input lines (objects are sent as JSON) and reads back its replies by id. */
function pipe(repo: string, lines: Array<string | object>): { replies: any[]; stderr: string } {
  const r = spawnSync(process.execPath, [GRIT_BIN, 'mcp'], {
    cwd: repo,
    input: lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n',
    encoding: 'utf8',
    env: { ...process.env, GRIT_NO_DAEMON: '1', NO_COLOR: '1' },
    timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return { replies: r.stdout.trim().split('\n').map((l) => JSON.parse(l)), stderr: r.stderr };
}

describe('grit mcp and the code index', () => {
  it('context_index indexes as `grit context index` does, so context_query finds what it said was not indexed', async () => {
    const repo = tempRepo();
    await gritInit(repo);
    mkdirSync(join(repo, 'src'));
    writeFileSync(join(repo, 'src', 'parsers.ts'), 'export function parseA() {}\n');
    writeFileSync(join(repo, 'tool.py'), 'def parse_b():\n    pass\n');
    git(repo, 'add', '.');
    const call = (id: number, name: string, args: object) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
    const { replies, stderr } = pipe(repo, [
      initialize(),
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      call(2, 'context_query', { query: 'parse' }),
      call(3, 'context_index', { path: 'src' }),
      call(4, 'context_query', { query: 'parse' }),
      call(5, 'context_index', {}),
      call(6, 'context_index', { path: 'nosuch' }),
    ]);
    assert.equal(stderr, '');
    const reply = new Map(replies.map((m) => [m.id, m]));
    const data = (id: number) => JSON.parse(reply.get(id).result.content[0].text).data;
    // What an agent reads first says how to get an index.
    assert.match(reply.get(0).result.instructions, /context_query .* context_index/);
    const query = reply.get(1).result.tools.find((t: any) => t.name === 'context_query');
    assert.match(query.description, /"indexed": false .*context_index/);

    assert.deepEqual(data(2), { query: 'parse', results: [], truncated: false, indexed: false });
    assert.deepEqual([data(3).files, data(3).indexed, data(3).languages], [1, 1, { typescript: 1 }]);
    assert.deepEqual(data(4).results.map((r: any) => [r.path, r.symbol]), [['src/parsers.ts', 'parseA']]);
    assert.equal(data(4).indexed, true);
    assert.deepEqual([data(5).files, data(5).indexed, data(5).unchanged], [2, 1, 1]);
    const missing = JSON.parse(reply.get(6).result.content[0].text);
    assert.equal(reply.get(6).result.isError, true);
    assert.equal(missing.error.code, 'not_found');
    // The CLI sees the same index, and its reply has the same shape.
    const cli = gritOk(repo, ['context', 'index']);
    assert.deepEqual([cli.files, cli.indexed, cli.unchanged], [2, 0, 2]);
    assert.deepEqual(Object.keys(cli).sort(), Object.keys(data(5)).sort());
    assert.deepEqual(gritOk(repo, ['context', 'query', 'parse']).results.map((r: any) => r.symbol).sort(), ['parseA', 'parse_b']);
  });
});

describe('grit mcp with piped input', () => {
  it('answers every request written before standard input closed, then exits', () => {
    const repo = tempRepo();
    const lines = [
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pipe', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'issue_create', arguments: { title: 'piped' } } },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'issue_list', arguments: {} } },
      // A call of several commands, then one that would overtake it if calls ran by command.
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'memory_store', arguments: { title: 'm1' } } },
      { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'memory_store', arguments: { title: 'm2' } } },
      { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'memory_query', arguments: {} } },
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'issue_list', arguments: {} } },
      { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'issue_list', arguments: { bogus: 1 } } },
    ];
    const { replies } = pipe(repo, lines);
    assert.deepEqual(replies.map((m) => m.id), [1, 2, 3, 4, 5, 6, 7, 8], 'one call at a time, in the order they came');
    const listed = JSON.parse(replies[2].result.content[0].text);
    assert.deepEqual(listed.data.issues.map((i: any) => i.title), ['piped']);
  });
});

describe('grit mcp and text with a lone surrogate', () => {
  it('refuses a split emoji (an escape \\ud83d without its pair) naming the argument, and writes nothing; a whole one is written', async () => {
    const repo = tempRepo();
    await gritInit(repo);
    const call = (id: number, name: string, args: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":{${args}}}}`;
    const { replies } = pipe(repo, [
      initialize(),
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      call(1, 'issue_create', '"title":"emoji \\ud83d cut"'),
      call(2, 'memory_store', '"title":"m","labels":["\\udc00"]'),
      call(3, 'issue_create', '"title":"emoji \\ud83d\\ude00 whole"'),
    ]);
    const envelopes = replies.filter((m) => m.id > 0).map((m) => JSON.parse(m.result.content[0].text));
    assert.deepEqual(envelopes.map((e) => e.ok), [false, false, true]);
    for (const [e, field] of [[envelopes[0], 'command.IssueCreate.title'], [envelopes[1], 'command.IssueCreate.labels[1]']]) {
      assert.equal(e.error.code, 'invalid_args');
      assert.equal(e.error.details.field, field);
      assert.match(e.error.message, /is not valid UTF-8: it holds a lone surrogate \(U\+D(83D|C00)\)/);
    }
    assert.deepEqual(gritOk(repo, ['issue', 'list', '--no-daemon']).issues.map((i: any) => i.title), ['emoji 😀 whole']);
    assert.deepEqual(gritOk(repo, ['db', 'check', '--no-daemon']).errors, []);
  });
});

const initialize = (protocolVersion = '2025-06-18') => ({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'test', version: '1' } } });
const callTool = (id: number, name: string, args: object) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
const cancel = (requestId: number, reason: string) => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason } });

/** `grit mcp` with standard input kept open: each message is written when the test says, and a reply can be awaited by its id. */
function live(repo: string) {
  const child = spawn(process.execPath, [GRIT_BIN, 'mcp'], { cwd: repo, env: { ...process.env, GRIT_NO_DAEMON: '1', NO_COLOR: '1' } });
  const replies: any[] = [];
  const arrived = new Set<() => void>();
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  createInterface({ input: child.stdout }).on('line', (line) => {
    replies.push(JSON.parse(line));
    for (const check of arrived) check();
  });
  return {
    send: (message: object) => child.stdin.write(JSON.stringify(message) + '\n'),
    reply: (id: number) =>
      new Promise<any>((resolve) => {
        const check = () => {
          const found = replies.find((m) => m.id === id);
          if (found) arrived.delete(check), resolve(found);
        };
        arrived.add(check);
        check();
      }),
    end: async () => {
      child.stdin.end();
      const [code] = await once(child, 'exit');
      return { code, replies, stderr };
    },
  };
}

describe('grit mcp and cancelled calls', () => {
  it('does not run a call cancelled before it started (the QA repro)', () => {
    const repo = tempRepo();
    const { replies, stderr } = pipe(repo, [
      initialize(),
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      callTool(1, 'issue_list', {}),
      callTool(2, 'issue_create', { title: 'cancelled-write' }),
      cancel(2, 'user pressed stop'),
    ]);
    assert.deepEqual(replies.map((m) => m.id), [0, 1]);
    assert.equal(gritOk(repo, ['issue', 'list']).total, 0, 'the cancelled create did not run');
    assert.equal(stderr, 'grit mcp: request 2 (issue_create) cancelled (user pressed stop) before it started: not run\n');
  });

  it('lets a running call finish without a reply, and skips the one queued behind it', { timeout: 60_000 }, async () => {
    const repo = tempRepo();
    await gritInit(repo);
    const server = live(repo);
    server.send(initialize());
    await server.reply(0);
    // The WAL ref's lock, held as another writer would: the first create waits for it, running.
    const lock = join(repo, '.git', 'refs', 'grit', 'wal.lock');
    mkdirSync(join(repo, '.git', 'refs', 'grit'), { recursive: true });
    writeFileSync(lock, '');
    const packs = join(repo, '.git', 'objects', 'pack');
    const packed = () => (existsSync(packs) ? readdirSync(packs).length : 0);
    const before = packed();
    server.send(callTool(1, 'issue_create', { title: 'running when cancelled' }));
    server.send(callTool(2, 'issue_create', { title: 'queued when cancelled' }));
    server.send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    await server.reply(3);
    // Running: it has written its event's objects and waits for the lock to move the WAL ref.
    await until('the first create running (its pack written)', () => packed() > before);
    server.send(cancel(1, 'stop'));
    server.send(cancel(2, 'stop'));
    server.send({ jsonrpc: '2.0', id: 4, method: 'ping' });
    await server.reply(4);
    rmSync(lock);
    const { code, replies, stderr } = await server.end();
    assert.equal(code, 0, stderr);
    assert.deepEqual(replies.map((m) => m.id), [0, 3, 4], 'no reply for a cancelled call');
    const titles = gritOk(repo, ['issue', 'list']).issues.map((i: any) => i.title);
    assert.deepEqual(titles, ['running when cancelled'], 'the running call ran to its end; the queued one never ran');
    assert.equal(
      stderr,
      'grit mcp: request 1 (issue_create) cancelled (stop) after it had started: it ran to its end, and no reply is sent\n' +
        'grit mcp: request 2 (issue_create) cancelled (stop) before it started: not run\n',
    );
  });
});

describe('grit mcp answers broken messages as JSON-RPC 2.0 asks, and keeps serving', () => {
  it('a line that is not JSON is a Parse error with id null', () => {
    const { replies, stderr } = pipe(tempRepo(), ['{not json', { jsonrpc: '2.0', id: 1, method: 'ping' }]);
    assert.deepEqual(replies.find((m) => m.id === null)?.error.code, -32700);
    assert.deepEqual(replies.find((m) => m.id === 1)?.result, {});
    assert.equal(replies.length, 2);
    assert.match(stderr, /^grit mcp: Parse error: .*\n$/);
  });

  it('JSON that is no JSON-RPC message is an Invalid Request, with its id when it has one', () => {
    const { replies } = pipe(tempRepo(), ['[1]', '{"id":7}', { jsonrpc: '2.0', id: 1, method: 'ping' }]);
    assert.deepEqual(replies.map((m) => [m.id, m.error?.code ?? 'ok']).sort(), [[1, 'ok'], [7, -32600], [null, -32600]].sort());
  });

  it('params that do not fit the method are Invalid params, in one line naming the field', () => {
    const { replies } = pipe(tempRepo(), [
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: {} },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'issue_list', arguments: 'x' } },
      { jsonrpc: '2.0', id: 4, method: 'initialize', params: {} },
      { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'issue_list', arguments: {} } },
    ]);
    const byId = new Map(replies.map((m) => [m.id, m]));
    for (const [id, field] of [[2, 'params.name'], [3, 'params.arguments'], [4, 'params.protocolVersion']] as const) {
      const { error } = byId.get(id);
      assert.equal(error.code, -32602, JSON.stringify(error));
      assert.ok(!error.message.includes('\n'), `one line: ${error.message}`);
      assert.match(error.message, new RegExp(`^Invalid params for \\S+: .*${field}: `));
    }
    assert.equal(byId.get(5).result.isError, false);
  });

  it('a _meta.progressToken that is neither a string nor an integer is Invalid params naming it, not an Invalid Request naming nothing', () => {
    const { replies, stderr } = pipe(tempRepo(), [
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { progressToken: {} } } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'issue_list', arguments: {}, _meta: { progressToken: 1.5 } } },
      { jsonrpc: '2.0', id: 3, method: 'ping', params: { _meta: 7 } },
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'issue_list', arguments: {}, _meta: { progressToken: 'p1' } } },
      { jsonrpc: '2.0', id: 5, method: 'tools/list', params: { _meta: { progressToken: 9 } } },
      // params itself not an object is JSON-RPC's own Invalid Request, as before.
      { jsonrpc: '2.0', id: 6, method: 'tools/list', params: 7 },
    ]);
    const byId = new Map(replies.map((m) => [m.id, m]));
    for (const [id, method] of [[1, 'tools/list'], [2, 'tools/call']] as const) {
      assert.deepEqual(byId.get(id).error, { code: -32602, message: `Invalid params for ${method}: params._meta.progressToken: a progress token is a string or an integer` });
    }
    assert.equal(byId.get(3).error.code, -32602);
    assert.match(byId.get(3).error.message, /^Invalid params for ping: params\._meta: /);
    assert.equal(byId.get(4).result.isError, false, 'a string token is taken');
    assert.ok(Array.isArray(byId.get(5).result.tools), 'an integer token is taken');
    assert.equal(byId.get(6).error.code, -32600);
    assert.match(stderr, /^grit mcp: Invalid params for tools\/list: params\._meta\.progressToken: /m);
  });
});

describe('grit mcp and JSON-RPC batches, by the protocol version agreed', () => {
  const ping = (id: number) => ({ jsonrpc: '2.0', id, method: 'ping' });
  const batch = [
    ping(1),
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    callTool(3, 'issue_create', { title: 'from a batch' }),
    { jsonrpc: '2.0', id: 4, method: 'tools/call', params: {} },
    { ...initialize(), id: 5 },
    7,
  ];

  it('answers a batch under 2025-03-26 with one array: a reply to each request, in one line', () => {
    const repo = tempRepo();
    // Piped right behind initialize: the batch is read once the version is agreed.
    const { replies } = pipe(repo, [initialize('2025-03-26'), batch, ping(6)]);
    assert.equal(replies.length, 3, JSON.stringify(replies));
    assert.equal(replies[0].result.protocolVersion, '2025-03-26');
    const array: any[] = replies.find(Array.isArray) ?? assert.fail('no array among the replies');
    const byId = new Map(array.map((m: any) => [m.id, m]));
    assert.deepEqual([...byId.keys()].sort(), [1, 2, 3, 4, 5, null].sort(), 'one reply per request, none for the notification');
    assert.deepEqual(byId.get(1).result, {});
    assert.ok(byId.get(2).result.tools.some((t: any) => t.name === 'issue_create'));
    assert.equal(byId.get(3).result.isError, false);
    assert.equal(byId.get(4).error.code, -32602, 'a member is checked as a line on its own would be');
    assert.equal(byId.get(5).error.code, -32600, 'initialize may not be in a batch (2025-03-26 lifecycle)');
    assert.equal(byId.get(null).error.code, -32600);
    assert.deepEqual(gritOk(repo, ['issue', 'list']).issues.map((i: any) => i.title), ['from a batch']);
  });

  it('under 2025-03-26, answers nothing for a batch of notifications, and one error for an empty batch', () => {
    const { replies } = pipe(tempRepo(), [initialize('2025-03-26'), [{ jsonrpc: '2.0', method: 'notifications/initialized' }], [], ping(1)]);
    assert.deepEqual(replies.map((m) => [m.id, m.error?.code ?? 'ok']), [[0, 'ok'], [null, -32600], [1, 'ok']]);
  });

  it('under 2025-03-26, does not wait for a request of a batch that is cancelled before it runs', () => {
    const repo = tempRepo();
    const { replies } = pipe(repo, [initialize('2025-03-26'), [callTool(1, 'issue_create', { title: 'cancelled' }), cancel(1, 'stop'), ping(2)]]);
    assert.deepEqual(replies[1].map((m: any) => m.id), [2]);
    assert.equal(gritOk(repo, ['issue', 'list']).total, 0);
  });

  for (const version of ['2024-11-05', '2025-06-18']) {
    it(`refuses a batch under ${version}, which has none, and runs nothing in it`, () => {
      const repo = tempRepo();
      const { replies, stderr } = pipe(repo, [initialize(version), batch, ping(6)]);
      assert.equal(replies[0].result.protocolVersion, version);
      assert.deepEqual(replies.slice(1).map((m) => [m.id, m.error?.code ?? 'ok']), [[null, -32600], [6, 'ok']]);
      assert.match(replies[1].error.message, new RegExp(`only in protocol version 2025-03-26; this session speaks ${version}$`));
      assert.match(stderr, /^grit mcp: Invalid Request: a JSON-RPC batch/);
      assert.equal(gritOk(repo, ['issue', 'list']).total, 0);
    });
  }

  it('refuses a batch before initialize: no version is agreed yet', () => {
    const { replies } = pipe(tempRepo(), [[ping(1)], ping(2)]);
    assert.deepEqual(replies.map((m) => [m.id, m.error?.code ?? 'ok']), [[null, -32600], [2, 'ok']]);
    assert.match(replies[0].error.message, /no protocol version is agreed yet \(initialize first\)$/);
  });
});

describe('grit mcp start-up', () => {
  /** A server that cannot serve says why and exits as any command would on that error, before reading any request. */
  function refusesToStart(cwd: string, flags: string[], status: number, stderr: RegExp): void {
    const r = spawnSync(process.execPath, [GRIT_BIN, 'mcp', ...flags], {
      cwd,
      input: '',
      encoding: 'utf8',
      env: { ...process.env, GRIT_NO_DAEMON: '1', NO_COLOR: '1' },
      timeout: 20_000,
    });
    assert.equal(r.status, status, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, stderr);
  }

  it('refuses to serve outside a repository instead of serving tools that all fail', () => {
    const plain = tempDir();
    refusesToStart(tempDir(), ['--repo', plain], 5, new RegExp(`^error: not a git repository: ${plain}`));
  });

  it('a --repo that is no directory is the command line\'s mistake (invalid_args), not "not a git repository"', () => {
    refusesToStart(tempDir(), ['--repo', '/nonexistent/grit-repo'], 2, /^error: --repo \/nonexistent\/grit-repo: no such directory\nhint: give --repo the repository's directory/);
    const file = join(tempDir(), 'f');
    writeFileSync(file, '');
    refusesToStart(tempDir(), ['--repo', file], 2, /^error: --repo .*\/f: not a directory\n/);
  });

  it('refuses to serve as an actor the repository does not have', async () => {
    const repo = tempRepo();
    await gritInit(repo);
    refusesToStart(repo, ['--actor', 'nosuch'], 3, /^error: no actor nosuch in this repository .*\nhint: run `grit actor list`\n$/);
  });

  it('refuses an empty --actor or --data-dir (a variable unset) rather than serve as the default actor', async () => {
    const repo = tempRepo();
    await gritInit(repo);
    refusesToStart(repo, ['--actor', ''], 2, /^error: --actor must not be empty\nhint: give --actor an actor's id or label/);
    refusesToStart(repo, ['--data-dir='], 2, /^error: --data-dir must not be empty\n/);
  });
});

describe('grit mcp writing to a client that reads slowly', () => {
  it('waits for one drain of its output however many replies are waiting: no MaxListenersExceededWarning', async () => {
    const { LineTransport } = await import('../../src/mcp/stdio.js');
    // An output that takes a line only when the test says, as a pipe to a client that is busy.
    const pending: (() => void)[] = [];
    const output = new Writable({ highWaterMark: 16, write: (_chunk, _enc, done) => void pending.push(done) });
    const transport = new LineTransport(new PassThrough(), output);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const sent = Array.from({ length: 30 }, (_, i) => transport.send({ jsonrpc: '2.0', id: i, result: { text: 'x'.repeat(100) } }));
      assert.ok(output.listenerCount('drain') <= 1, `${output.listenerCount('drain')} drain listeners`);
      while (pending.length) pending.shift()!();
      await Promise.all(sent);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings.map((w) => w.name), []);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
