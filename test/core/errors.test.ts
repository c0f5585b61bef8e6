import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutText, GritError, quoted, type ErrorCode } from '../../src/core/errors.js';

test("one rule for exit codes: the code's own, or 5 for the environment, carried through toJSON/fromJSON (a daemon's reply)", () => {
  const own: [ErrorCode, number][] = [['invalid_args', 2], ['not_found', 3], ['conflict', 4], ['db_busy', 5], ['io_error', 1], ['git_error', 1], ['wal_error', 1], ['ipc_error', 1], ['internal_error', 1]];
  for (const [code, exit] of own) {
    // One code of the union at a time: invalid_args takes a suggestion, which every code may carry.
    const err = new GritError(code as 'conflict', 'x', { suggestion: 'y' });
    assert.equal(err.exitCode, exit, code);
    assert.equal(GritError.fromJSON(err.toJSON()).exitCode, exit, code);
    assert.deepEqual(err.toJSON().details, { suggestion: 'y' }, code);
  }
  const env = new GritError('git_error', 'not a git repository', { environment: true, suggestion: 'git init' });
  assert.equal(env.exitCode, 5);
  assert.deepEqual(env.toJSON().details, { suggestion: 'git init', exit_code: 5 });
  const back = GritError.fromJSON(env.toJSON());
  assert.deepEqual([back.code, back.exitCode, back.suggestion, back.details], ['git_error', 5, 'git init', {}]);
  // The caller's codes keep 2 and 3 whatever a reply says: agents read them as "fix the command" and "not there".
  for (const code of ['invalid_args', 'not_found'] as const) {
    assert.equal(GritError.fromJSON({ code, message: 'x', details: { exit_code: 5 } }).exitCode, code === 'invalid_args' ? 2 : 3);
  }
});

test('credentials in URLs are redacted in an error\'s message, details and hint: passwords, http(s) user names (tokens); ssh users stay', () => {
  const err = new GritError('git_error', 'git push to https://user:s3cr3t@h/x.git failed', {
    details: { remote: 'https://ghp_t0ken@github.com/o/r', nested: [{ url: 'ssh://git@h/x.git' }, 'git@h:x.git', 7], buf: Buffer.from('https://u:p@h/') },
    suggestion: '`git ls-remote https://x-access-token:abc@github.com/o/r` (quoted)',
  });
  assert.equal(err.message, 'git push to https://user:***@h/x.git failed');
  assert.deepEqual(err.toJSON().details, {
    remote: 'https://***@github.com/o/r',
    nested: [{ url: 'ssh://git@h/x.git' }, 'git@h:x.git', 7],
    buf: Buffer.from('https://u:p@h/'),
    suggestion: '`git ls-remote https://x-access-token:***@github.com/o/r` (quoted)',
  });
  // A password with an @ in it goes whole; an @ after the authority is no credential.
  assert.equal(new GritError('git_error', "'https://u:p@ss@h/x' https://h/x?a=b@c").message, "'https://u:***@h/x' https://h/x?a=b@c");
});

test('a key __proto__ in the details (a caller\'s JSON echoed as details.value) stays a key, through the encoding for peers too: it sets no prototype', async () => {
  const { decode, encodeForPeers } = await import('../../src/core/plain-cbor.js');
  const value = JSON.parse('{"__proto__": {"polluted": "https://u:pw@host/x"}}');
  const err = new GritError('not_found', 'x', { details: { value } });
  const echoed = err.details.value as object;
  assert.equal(Object.getPrototypeOf(echoed), Object.prototype);
  assert.equal(JSON.stringify(err.toJSON().details), '{"value":{"__proto__":{"polluted":"https://u:***@host/x"}}}');
  const copy = decode(encodeForPeers(err.toJSON())) as { details: { value: Record<string, unknown> } };
  // cbor-x reads a map key __proto__ back as __proto_ (its own guard); what matters is that it is there.
  assert.deepEqual(Object.keys(copy.details.value), ['__proto_']);
});

test("a caller's value in the details of invalid_args and not_found is cut past 1024 characters, once, through toJSON/fromJSON; other codes keep theirs", () => {
  const big = 'x'.repeat(5000);
  for (const code of ['invalid_args', 'not_found'] as const) {
    const err = new GritError(code as 'not_found', 'bad', { details: { value: big, nested: [{ id: big }], short: 'ok', n: 7 }, suggestion: 'y' });
    const cut = `${'x'.repeat(1024)}… (5000 characters)`;
    assert.deepEqual(err.details, { value: cut, nested: [{ id: cut }], short: 'ok', n: 7 });
    assert.deepEqual(GritError.fromJSON(err.toJSON()).details, err.details, 'cut once, not again');
  }
  assert.equal(new GritError('git_error', 'x', { details: { stderr: big } }).details.stderr, big);
  assert.equal(cutText('y'.repeat(96)), 'y'.repeat(96), 'not cut when that saves nothing');
  assert.equal(quoted('é'.repeat(300)), `"${'é'.repeat(200)}…" (300 characters)`);
});
