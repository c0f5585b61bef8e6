/**
 * Permissions and secrets: a signing key is written 0600 (in a 0700 directory) whatever the
 * umask, doctor flags a key others can read, and the private key never reaches anything that
 * leaves the actor's `keys/` directory: WAL and snapshot objects (locally and on the remote), the
 * store, exports, configs, and every command's output (stdout and stderr, human and JSON).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GRIT_BIN } from '../helpers/paths.js';
import { git, grit, gritOk, gritDoctor } from '../helpers/repo.js';
import { network } from '../sync/_helpers.js';

/** Every way the 32-byte secret could be written out: raw, hex (either case), base64. */
function secretForms(secretHex: string): Buffer[] {
  const raw = Buffer.from(secretHex, 'hex');
  return [raw, Buffer.from(secretHex.toLowerCase()), Buffer.from(secretHex.toUpperCase()), Buffer.from(raw.toString('base64')), Buffer.from(raw.toString('base64url'))];
}

function assertNoSecret(what: string, bytes: Buffer, forms: Buffer[]): void {
  for (const f of forms) assert.equal(bytes.indexOf(f), -1, `${what} contains the private key`);
}

/** Every object of a repository, inflated: `git cat-file --batch-all-objects --batch`. */
const allObjects = (gitDir: string): Buffer =>
  spawnSync('git', ['--git-dir', gitDir, 'cat-file', '--batch-all-objects', '--batch', '--unordered'], { maxBuffer: 1 << 30 }).stdout;

function filesUnder(dir: string, skip: (rel: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((rel) => !skip(rel))
    .map((rel) => join(dir, rel))
    .filter((p) => statSync(p).isFile());
}

test('a signing key is 0600 in a 0700 keys/ even under umask 000; doctor flags a readable key', () => {
  const { clones } = network(1, { init: false });
  const [repo] = clones;
  const r = spawnSync('sh', ['-c', `umask 000; exec '${process.execPath}' '${GRIT_BIN}' init --no-agents-md --generate-key --json`], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GRIT_NO_DAEMON: '1' },
  });
  const actor = JSON.parse(r.stdout).data.actor;
  const keyFile = join(actor.data_dir, 'keys', 'signing.key');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.equal(statSync(join(actor.data_dir, 'keys')).mode & 0o777, 0o700);
  const second = gritOk(repo, ['actor', 'init', '--generate-key', '--label', 'second']).actor;
  assert.equal(statSync(join(second.data_dir, 'keys', 'signing.key')).mode & 0o777, 0o600);

  chmodSync(keyFile, 0o644);
  const check = gritDoctor(repo).checks.find((c: any) => c.id === 'actor_config');
  assert.equal(check.status, 'warn');
  assert.match(check.message, /readable by other users \(chmod 600 it\)/);
  chmodSync(keyFile, 0o600);
  assert.equal(gritDoctor(repo).checks.find((c: any) => c.id === 'actor_config').status, 'ok');
});

test('the private key never enters the WAL, snapshots, the remote, the store, exports, configs or any output', { timeout: 60_000 }, () => {
  const { remote, clones } = network(1, { init: false });
  const [repo] = clones;
  const outputs: Buffer[] = [];
  const run = (args: string[]) => {
    for (const json of [true, false]) {
      const r = grit(repo, json ? [...args, '--json'] : args);
      outputs.push(Buffer.from(r.stdout), Buffer.from(r.stderr));
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
      if (json) return r.json.data;
    }
  };
  const actor = run(['init', '--no-agents-md', '--generate-key']).actor;
  const secretHex = readFileSync(join(actor.data_dir, 'keys', 'signing.key'), 'utf8').trim();
  const forms = secretForms(secretHex);

  // One of every kind of write and the read, maintenance and sync commands.
  const id = run(['issue', 'create', '--title', 'signed', '--body', 'b', '--label', 'x']).issue_id;
  run(['issue', 'comment', id, '--body', 'c']);
  run(['issue', 'update', id, '--title', 't2']);
  run(['issue', 'label', 'remove', id, '--label', 'x']);
  run(['issue', 'assignee', 'add', id, '--user', 'ann']);
  run(['issue', 'link', 'add', id, '--url', 'https://example.com']);
  run(['issue', 'close', id]);
  for (const args of [['issue', 'show', id], ['issue', 'list'], ['actor', 'show'], ['actor', 'list'], ['actor', 'current'], ['db', 'stats'], ['db', 'check'], ['db', 'verify'], ['doctor'], ['snapshot'], ['sync'], ['lock', 'acquire', '--resource', 'repo:', '--local'], ['lock', 'status'], ['export', '--format', 'json'], ['export', '--format', 'md'], ['rebuild']]) {
    run(args);
  }
  assert.equal(gritOk(repo, ['db', 'verify']).signatures_valid, 7); // the seven writes above

  // Controls: the scan sees inflated object contents, and would find the key where it is.
  const local = allObjects(join(repo, '.git'));
  assert.ok(local.includes('GRITCHNK') && local.includes('snapshot.json'));
  assert.throws(() => assertNoSecret('key file', readFileSync(join(actor.data_dir, 'keys', 'signing.key')), forms));
  assertNoSecret('an object in the local repository', local, forms);
  assertNoSecret('an object on the remote', allObjects(remote), forms);
  assert.ok(git(remote, 'for-each-ref', 'refs/grit/').includes('refs/grit/wal'));
  const keyDir = join(actor.data_dir, 'keys');
  for (const file of [
    ...filesUnder(join(repo, '.git', 'grit'), (rel) => rel.split('/').includes('keys')),
    ...filesUnder(join(repo, '.grit'), () => false),
  ]) {
    assert.ok(!file.startsWith(keyDir));
    assertNoSecret(file, readFileSync(file), forms);
  }
  assertNoSecret('command output', Buffer.concat(outputs), forms);
});
