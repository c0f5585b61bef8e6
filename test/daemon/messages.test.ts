import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '../../src/core/plain-cbor.js';
import { plainErrorReply } from '../../src/protocol/plain-reply.js';
import { decodeReply, decodeRequest, encodeMessage, encodeMessageToPost, replyError, replyOk } from '../../src/protocol/messages.js';
import { newProgressToken } from '../../src/protocol/progress.js';
import { GritError } from '../../src/core/errors.js';
import { commandEnv, forwardedEnv } from '../../src/core/forwarded-env.js';
import { ReqClient } from '../../src/protocol/transport/index.js';
import { startDaemon } from '../helpers/daemon.js';
import { tempRepo, gritInit } from '../helpers/repo.js';

const valid = {
  ipc_schema_version: 1,
  request_id: 'r1',
  repo_root: '/tmp/x',
  actor_id: null,
  data_dir: null,
  command: { IssueShow: { issue_id: 'abcd' } },
};

test('a JSON request (first byte `{`) decodes as JSON, anything else as CBOR', async () => {
  const json = await decodeRequest(Buffer.from(JSON.stringify(valid)));
  assert.equal(json.format, 'json');
  assert.ok('request' in json);
  assert.deepEqual(json.request, { request_id: 'r1', repo_root: '/tmp/x', actor_id: null, data_dir: null, cwd: null, client_build: null, env: null, arg_names: 'keys', progress: null, umask: null, name: 'IssueShow', args: { issue_id: 'abcd' } });
  const cbor = await decodeRequest(encode(valid));
  assert.equal(cbor.format, 'cbor');
  assert.ok('request' in cbor);
  assert.deepEqual(cbor.request, json.request);
});

test('a progress token is plain, so that a SUB prefix selects it exactly; anything else is an ipc_error', async () => {
  const token = newProgressToken();
  const asked = await decodeRequest(Buffer.from(JSON.stringify({ ...valid, progress: token })));
  assert.ok('request' in asked && asked.request.progress === token);
  for (const progress of ['short', 'x'.repeat(65), 'quote"in-it', 12345678, { token }]) {
    const d = await decodeRequest(Buffer.from(JSON.stringify({ ...valid, progress })));
    assert.ok('error' in d && d.error.code === 'ipc_error' && /progress must be a token/.test(d.error.message), JSON.stringify(progress));
  }
});

test('JSON after a UTF-8 BOM or whitespace is JSON too, and is answered in JSON, also over the socket; no CBOR request is taken for it', async () => {
  const text = JSON.stringify(valid);
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  for (const body of [Buffer.from(` ${text}`), Buffer.from(`\n\r\t ${text}`), Buffer.concat([bom, Buffer.from(text)]), Buffer.concat([bom, Buffer.from(`\n${text}`)])]) {
    const d = await decodeRequest(body);
    assert.equal(d.format, 'json', JSON.stringify(body.toString()));
    assert.ok('request' in d && d.request.name === 'IssueShow', JSON.stringify(d));
  }
  // Anything else before the brace is not JSON's whitespace: CBOR, refused as before.
  for (const body of [Buffer.from(`\f${text}`), Buffer.from(`\u00a0${text}`), Buffer.from(`  `)]) assert.equal((await decodeRequest(body)).format, 'cbor');
  const daemon = await startDaemon();
  const repo = tempRepo();
  await gritInit(repo);
  const raw = await ReqClient.connect(daemon.endpoint);
  try {
    const request = JSON.stringify({ ipc_schema_version: 1, request_id: 'ws', repo_root: repo, command: { IssueList: {} } });
    for (const body of [Buffer.from(`\n  ${request}`), Buffer.concat([bom, Buffer.from(request)])]) {
      const reply = Buffer.from(await raw.request(body, { timeoutMs: 20_000 }));
      assert.equal(reply[0], 0x7b, `a JSON reply: ${reply.toString()}`);
      assert.deepEqual(JSON.parse(reply.toString()).data, { issues: [], total: 0 });
    }
  } finally {
    raw.close();
    await daemon.stop();
  }
});

test('a CBOR reply writes a ms timestamp as a CBOR integer (a typed client reads it as u64), and reads it back as a number', async () => {
  const ts = 1_796_364_146_540;
  const body = await encodeMessage(replyOk(1, { updated_ts: ts, small: 7, negative: -5_000_000_000, fraction: 0.5, bytes: new Uint8Array([1]) }), 'cbor');
  const hex = Buffer.from(body).toString('hex');
  assert.ok(hex.includes('1b' + ts.toString(16).padStart(16, '0')), `major type 0, 8-byte argument: ${hex}`);
  assert.ok(hex.includes('3b' + (5_000_000_000 - 1).toString(16).padStart(16, '0')), `major type 1: ${hex}`);
  assert.ok(!hex.includes('fb' + Buffer.from(new Float64Array([ts]).buffer).reverse().toString('hex')), 'no float64 timestamp');
  const back = await decodeReply(body);
  assert.ok(back.ok);
  const { bytes, ...numbers } = back.data as Record<string, unknown>;
  assert.deepEqual(numbers, { updated_ts: ts, small: 7, negative: -5_000_000_000, fraction: 0.5 });
  assert.deepEqual([...(bytes as Uint8Array)], [1]);
});

test('the CBOR encoder lets go of the buffer a large value grew: what it writes next is in a small one', () => {
  // cbor-x grows its one buffer to 4x the value and never shrinks it: 16 MiB held for good.
  assert.ok(encode({ body: 'x'.repeat(4 << 20) }).buffer.byteLength >= 4 << 20);
  const next = encode({ issue_id: 'abcd', title: 'small' });
  assert.ok(next.buffer.byteLength <= 1 << 20, `a ${next.length}-byte row written in a ${next.buffer.byteLength}-byte buffer`);
});

test('an IPC message to post is exactly its bytes, in a buffer of its own (a view would take its whole buffer to the supervisor)', async () => {
  for (const format of ['json', 'cbor'] as const) {
    const body = await encodeMessageToPost(replyOk(7, { n: 1 }), format);
    assert.equal(body.buffer.byteLength, body.length, `${format}: a ${body.length}-byte message in a ${body.buffer.byteLength}-byte buffer`);
  }
});

test('replies come back in the request format and round-trip', async () => {
  for (const format of ['json', 'cbor'] as const) {
    const ok = await decodeReply(await encodeMessage(replyOk(7, { n: 1, s: 'x', l: [1, 2] }), format));
    assert.deepEqual(ok, { ipc_schema_version: 1, request_id: 7, ok: true, data: { n: 1, s: 'x', l: [1, 2] } });
    const bad = await decodeReply(await encodeMessage(replyError(8, new GritError('not_found', 'no issue x')), format));
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.error.code === 'not_found' && bad.error.message === 'no issue x');
  }
});

test('malformed requests become ipc_error or invalid_args replies, keeping the request id when readable', async () => {
  const cases: Array<[string, Uint8Array, string, unknown]> = [
    ['broken JSON', Buffer.from('{"ipc_schema_version":1,'), 'ipc_error', null],
    ['random bytes', Buffer.from([0xff, 0x00, 0x13, 0x99]), 'ipc_error', null],
    ['truncated CBOR', encode(valid).subarray(0, 20), 'ipc_error', null],
    ['empty', new Uint8Array(0), 'ipc_error', null],
    ['an array', encode([1, 2, 3]), 'ipc_error', null],
    ['unknown version', encode({ ...valid, ipc_schema_version: 2 }), 'ipc_error', 'r1'],
    ['missing repo_root', encode({ ...valid, repo_root: undefined }), 'ipc_error', 'r1'],
    ['two commands', encode({ ...valid, command: { IssueList: {}, IssueShow: {} } }), 'ipc_error', 'r1'],
    ['args not a map', encode({ ...valid, command: { IssueList: [1] } }), 'invalid_args', 'r1'],
    ['bad request id', encode({ ...valid, request_id: { a: 1 } }), 'ipc_error', null],
    ['actor_id not text', encode({ ...valid, actor_id: 5 }), 'ipc_error', 'r1'],
    ['a relative repo_root, no cwd', encode({ ...valid, repo_root: 'x' }), 'ipc_error', 'r1'],
    ['a relative data_dir, no cwd', encode({ ...valid, data_dir: 'd' }), 'ipc_error', 'r1'],
    ['a relative cwd', encode({ ...valid, repo_root: 'x', cwd: 'y' }), 'ipc_error', 'r1'],
    ['args nested 5,000 deep', Buffer.from(JSON.stringify({ ...valid, command: { IssueList: { label: 'DEEP' } } }).replace('"DEEP"', '['.repeat(5000) + ']'.repeat(5000))), 'invalid_args', 'r1'],
  ];
  for (const [name, body, code, id] of cases) {
    const d = await decodeRequest(body);
    assert.ok('error' in d, `${name} must be refused`);
    assert.equal(d.error.code, code, name);
    assert.equal(d.request_id, id, name);
  }
});

test("a body that is neither JSON nor CBOR is refused in grit's words, not the decoder's", async () => {
  for (const body of [Buffer.from('[1,2,3]'), encode(valid).subarray(0, 20), new Uint8Array(0)]) {
    const d = await decodeRequest(body);
    assert.ok('error' in d);
    assert.equal(d.error.code, 'ipc_error');
    assert.match(d.error.message, /^malformed request: not one whole CBOR data item \(RFC 8949\), and not JSON, which starts with `\{` \((its first byte is 0x[0-9a-f]{2}|it is empty)\)$/);
    assert.doesNotMatch(d.error.message, /JavaScript|4294967295|Unexpected end/);
    assert.equal(d.error.details.bytes, body.length);
  }
});

test('a request_id beyond 2^53 (JSON would round it) is refused saying so, not echoed changed; an overlong one likewise', async () => {
  const json = await decodeRequest(Buffer.from(JSON.stringify(valid).replace('"r1"', '18446744073709551617')));
  assert.ok('error' in json);
  assert.equal(json.error.code, 'ipc_error');
  assert.equal(json.request_id, null);
  // Not echoed as if it were the id sent: JSON.parse rounded it.
  assert.equal(json.error.message, 'request_id is an integer beyond ±(2^53 − 1), which JSON and CBOR readers cannot all hold exactly (this one read it rounded, as 18446744073709552000)');
  assert.match(json.error.suggestion ?? '', /as a string/);
  // The CBOR decoder reads it as a number too, rounded (2^62 + 1 as 4611686018427388000).
  const cbor = await decodeRequest(encode({ ...valid, request_id: 2n ** 62n + 1n }));
  assert.ok('error' in cbor && /^request_id is an integer beyond ±\(2\^53 − 1\).*\(this one read it rounded, as \d+\)$/.test(cbor.error.message), 'error' in cbor ? cbor.error.message : 'accepted');
  const long = await decodeRequest(encode({ ...valid, request_id: 'x'.repeat(257) }));
  assert.ok('error' in long && long.error.message === 'request_id is 257 characters long, more than 256');
  const ok = await decodeRequest(Buffer.from(JSON.stringify({ ...valid, request_id: '18446744073709551617' })));
  assert.ok('request' in ok && ok.request.request_id === '18446744073709551617');
  assert.ok('request' in (await decodeRequest(encode({ ...valid, request_id: Number.MAX_SAFE_INTEGER }))));
});

test('the error reply built without the codec reads as the codec would have written it, in CBOR and JSON', async () => {
  const err = new GritError('internal_error', 'codec gone: ü ✓ 🚀', { details: { fallback: true, n: 70_000, big: 2 ** 40, neg: -3, f: 0.5, nil: null, list: [1] } }).toJSON();
  for (const id of [null, 'r1', 7, 300, -5_000_000_000]) {
    for (const format of ['cbor', 'json'] as const) {
      const built = plainErrorReply(id, err, format);
      const { list: _dropped, ...details } = err.details;
      assert.deepEqual(await decodeReply(built), { ipc_schema_version: 1, request_id: id, ok: false, error: { code: err.code, message: err.message, details } }, `${format} ${id}`);
      if (format === 'cbor') assert.deepEqual(decode(built), decode(await encodeMessage({ ipc_schema_version: 1, request_id: id, ok: false, error: { ...err, details } }, 'cbor')));
    }
  }
});

test('a request about the daemon itself needs no repo_root; any other does', async () => {
  for (const name of ['DaemonStatus', 'DaemonStop', 'DaemonStart']) {
    const d = await decodeRequest(Buffer.from(JSON.stringify({ ipc_schema_version: 1, request_id: 'r1', command: { [name]: {} } })));
    assert.ok('request' in d, name);
    assert.equal(d.request.repo_root, null);
  }
  const d = await decodeRequest(Buffer.from(JSON.stringify({ ipc_schema_version: 1, request_id: 'r1', command: { ActorList: {} } })));
  assert.ok('error' in d);
  assert.equal(d.error.message, 'repo_root must be a non-empty string');
});

test('relative paths of a request are taken from its cwd, never from the daemon\'s', async () => {
  const d = await decodeRequest(encode({ ...valid, repo_root: '../r', data_dir: 'actors/a', cwd: '/home/u/w' }));
  assert.ok('request' in d);
  assert.equal(d.request.repo_root, '/home/u/r');
  assert.equal(d.request.data_dir, '/home/u/w/actors/a');
});

test("a request's env sets only the variables a command reads, each to text; the command runs with them, the daemon's own for the rest", async () => {
  const env = { GRIT_GIT_TIMEOUT: '5', GRIT_GRAMMAR_RUST: '/g/rust.wasm', SSH_AUTH_SOCK: '/run/agent', GIT_CONFIG_KEY_0: 'a.b' };
  const d = await decodeRequest(encode({ ...valid, env }));
  assert.ok('request' in d);
  assert.deepEqual(d.request.env, env);
  for (const [bad, message] of [
    [{ LD_PRELOAD: '/x.so' }, /^env may not set LD_PRELOAD: only the variables a command reads are forwarded/],
    [{ GRIT_RUN_DIR: '/tmp/other' }, /^env may not set GRIT_RUN_DIR/],
    [{ GRIT_GIT_TIMEOUT: 5 }, /^env\.GRIT_GIT_TIMEOUT must be a string$/],
    [['GRIT_GIT_TIMEOUT=5'], /^env must be a map/],
  ] as const) {
    const refused = await decodeRequest(encode({ ...valid, env: bad }));
    assert.ok('error' in refused, JSON.stringify(bad));
    assert.equal(refused.error.code, 'ipc_error');
    assert.match(refused.error.message, message);
  }
  // The daemon's own value of a forwarded variable never reaches a command whose caller has none.
  const daemons = { PATH: '/bin', SSH_AUTH_SOCK: '/run/daemons-agent', GRIT_GIT_TIMEOUT: '300' };
  assert.deepEqual(commandEnv({ GRIT_GIT_TIMEOUT: '5' }, daemons), { PATH: '/bin', GRIT_GIT_TIMEOUT: '5' });
  assert.equal(commandEnv(null, daemons), daemons, 'a request without env: the daemon\'s');
  assert.deepEqual(forwardedEnv({ PATH: '/bin', GIT_SSH_COMMAND: 'ssh -i k', GRIT_GRAMMAR_GO: '/g.wasm', GRIT_HOME: '/h' }), { GIT_SSH_COMMAND: 'ssh -i k', GRIT_GRAMMAR_GO: '/g.wasm' });
});

test('a reply that is not a reply is an ipc_error for the client', async () => {
  await assert.rejects(decodeReply(Buffer.from('{"hello":1}')), (e: GritError) => e.code === 'ipc_error');
  await assert.rejects(decodeReply(Buffer.from([0xff])), (e: GritError) => e.code === 'ipc_error');
});

test('a CBOR text string that is not valid UTF-8 is invalid_args naming the field, wherever it is; real U+FFFD and a BOM are text like any other', async () => {
  /** `value` encoded, with the (ASCII) marker's bytes, head included, replaced by `bytes`. */
  const withRaw = (value: unknown, marker: string, bytes: number[]) => {
    const body = Buffer.from(encode(value));
    const head = Buffer.from([0x60 | marker.length, ...Buffer.from(marker)]);
    const at = body.indexOf(head);
    assert.ok(at >= 0);
    return Buffer.concat([body.subarray(0, at), Buffer.from(bytes), body.subarray(at + head.length)]);
  };
  const create = (args: Record<string, unknown>) => ({ ...valid, command: { IssueCreate: { title: 't', body: 'b', labels: [], ...args } } });
  const text = (...b: number[]) => [0x60 | b.length, ...b];
  const cases: Array<[string, Uint8Array, string, string]> = [
    ['title', withRaw(create({ title: 'QQQQ' }), 'QQQQ', text(0x41, 0xff, 0xfe, 0x42)), 'title', 'command.IssueCreate.title'],
    ['a lone surrogate', withRaw(create({ body: 'QQQ' }), 'QQQ', text(0xed, 0xa0, 0x80)), 'body', 'command.IssueCreate.body'],
    ['a label', withRaw(create({ labels: ['ok', 'QQ'] }), 'QQ', text(0xc3, 0x28)), 'labels[1]', 'command.IssueCreate.labels[1]'],
    ['an argument name', withRaw(create({ QQ: 1 }), 'QQ', text(0x80, 0x80)), 'a key of command.IssueCreate', 'a key of command.IssueCreate'],
    ['repo_root', withRaw({ ...valid, repo_root: '/QQ' }, '/QQ', text(0x2f, 0xff, 0x41)), 'repo_root', 'repo_root'],
    // Inside an indefinite-length array (cbor-x takes those; indefinite-length strings it refuses).
    ['a label in an indefinite-length array', withRaw(create({ labels: 'QQ' }), 'QQ', [0x9f, ...text(0x61), ...text(0xff), 0xff]), 'labels[1]', 'command.IssueCreate.labels[1]'],
  ];
  for (const [name, body, field, path] of cases) {
    const d = await decodeRequest(body);
    assert.ok('error' in d, `${name} must be refused`);
    assert.equal(d.error.code, 'invalid_args', name);
    assert.equal(d.error.message, `${field} is not valid UTF-8 (RFC 8949: a CBOR text string must be)`, name);
    assert.equal(d.error.details.field, path, name);
    assert.equal(d.request_id, 'r1', name);
  }
  const fine = await decodeRequest(encode(create({ title: '\uFEFFreplacement \uFFFD char', labels: ['é', '✓'] })));
  assert.ok('request' in fine);
  assert.equal(fine.request.args.title, '\uFEFFreplacement \uFFFD char');
  const json = await decodeRequest(Buffer.concat([Buffer.from(JSON.stringify(create({ title: 'QQ' })).split('QQ')[0]), Buffer.from([0xff]), Buffer.from(JSON.stringify(create({ title: 'QQ' })).split('QQ')[1])]));
  assert.ok('error' in json && json.error.code === 'invalid_args' && /not valid UTF-8/.test(json.error.message));
});
