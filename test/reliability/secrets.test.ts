/**
 * Permissions and secrets: a signing key is written 0600 (in a 0700 directory) whatever the
 * umask, doctor flags a key others can read, and the private key never reaches anything that
 * leaves the actor's `keys/` directory: WAL and snapshot objects (locally and on the remote), the
 * store, exports, configs, and every command's output (stdout and stderr, human and JSON). In a
 * repository shared with a group (`core.sharedRepository`), everything else grit makes under
 * `.git/grit` is shared as git shares its own files, so that the other members can use it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/core/store.js';
import { rebuildCopyName } from '../../src/commands/temp-files.js';
import { sharedPermOf } from '../../src/git/shared-perm.js';
import { startDaemon } from '../helpers/daemon.js';
import { GRIT_BIN } from '../helpers/paths.js';
import { git, grit, gritOk, gritDoctor, tempDir, type GritResult } from '../helpers/repo.js';
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

test('a signing key is 0600 in a 0700 keys/ even under umask 000; doctor flags a readable key', async () => {
  const { clones } = await network(1, { init: false });
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

test('the private key never enters the WAL, snapshots, the remote, the store, exports, configs or any output', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(1, { init: false });
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

/**
 * What in `dir` (itself included) has another mode than `expected` gives for it (by its path relative to `dir`),
 * as `path: actual, expected` in octal; the bits compared are the permissions and setgid.
 */
function wrongModes(dir: string, expected: (rel: string, isDir: boolean) => number): string[] {
  return ['.', ...readdirSync(dir, { recursive: true, encoding: 'utf8' })].flatMap((rel) => {
    const st = lstatSync(join(dir, rel));
    const [actual, want] = [st.mode & 0o2777, expected(rel, st.isDirectory())];
    return actual === want ? [] : [`${rel}: ${actual.toString(8)}, expected ${want.toString(8)}`];
  });
}

test('core.sharedRepository: what grit makes under .git/grit (actors, stores, lease, configs, caches) is shared as git shares its files; the key stays its owner\'s', { timeout: 120_000 }, async () => {
  const old = process.umask(0o077); // group and other bits can come from grit alone
  try {
    // git's modes under this umask: a 0600 setting gives the group nothing, and so no setgid either.
    for (const [shared, dirMode, fileMode] of [['group', 0o2770, 0o660], ['0640', 0o2750, 0o640], ['0600', 0o700, 0o600], [null, 0o700, 0o600]] as const) {
      const repo = tempDir();
      git(repo, 'init', '-q', ...(shared ? [`--shared=${shared}`] : []));
      const actorDir = gritOk(repo, ['init', '--no-agents-md', '--generate-key']).actor.data_dir;
      gritOk(repo, ['issue', 'create', '--title', 'shared']);
      gritOk(repo, ['actor', 'init', '--label', 'second']);
      gritOk(repo, ['snapshot']);
      gritOk(repo, ['lock', 'acquire', '--resource', 'repo:', '--local']);
      // The copy of the store a rebuild makes and may put back in its place.
      const store = Store.open(actorDir, { sharedPerm: sharedPermOf(join(repo, '.git')) });
      await store.copyTo(join(actorDir, rebuildCopyName(process.pid)));
      await store.close();
      const gritDir = join(repo, '.git', 'grit');
      // keys/ and its key are private whatever the setting (a directory made in a setgid one inherits the bit).
      const expected = (rel: string, isDir: boolean) => (/\/keys(\/|$)/.test(rel) ? (isDir ? 0o700 | (dirMode & 0o2000) : 0o600) : isDir ? dirMode : fileMode);
      const daemon = await startDaemon({ cwd: repo });
      try {
        gritOk(repo, ['issue', 'create', '--title', 'through the daemon'], { env: daemon.env });
        const made = readdirSync(gritDir, { recursive: true, encoding: 'utf8' }).map((rel) => rel.replace(/^actors\/[0-9a-f]{32}\//, 'actors/<id>/'));
        for (const name of ['config.toml', 'repository-id', 'snapshot-verdicts', 'lock-resources', 'actors/<id>/config.toml', 'actors/<id>/keys/signing.key', 'actors/<id>/store.mdb', 'actors/<id>/store.mdb-lock', 'actors/<id>/daemon.lock', 'actors/<id>/store.unsynced', `actors/<id>/${rebuildCopyName(process.pid)}`]) {
          assert.ok(made.includes(name), `${shared}: ${name} is there to check (${made.join(', ')})`);
        }
        assert.deepEqual(wrongModes(gritDir, expected), [], `core.sharedRepository = ${shared}`);
      } finally {
        await daemon.stop();
      }
    }
  } finally {
    process.umask(old);
  }
});

/** Two users of one group (uids 65533 and 65534, group 65534) in repositories made in `tempDir`s, through `setpriv`; null when it is not there. */
function groupOfTwo(): { owner: number; member: number; repo(): string; as(uid: number, repo: string, args: string[]): GritResult; sh(uid: number, repo: string, script: string): void } | null {
  const group = 65534;
  const home = tempDir();
  writeFileSync(join(home, 'gitconfig'), '[safe]\n\tdirectory = *\n'); // the other member's repository
  chmodSync(join(home, 'gitconfig'), 0o644);
  chmodSync(home, 0o755);
  const env = { ...process.env, HOME: home, GIT_CONFIG_GLOBAL: join(home, 'gitconfig'), GRIT_NO_DAEMON: '1', NO_COLOR: '1' };
  const run = (uid: number, cwd: string, command: string[]) => spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${group}`, '--clear-groups', ...command], { cwd, encoding: 'utf8', env });
  if (run(65533, home, ['true']).error) return null;
  return {
    owner: 65533,
    member: 65534,
    repo() {
      const dir = tempDir();
      chownSync(dir, 65533, group);
      chmodSync(dir, 0o2770);
      return dir;
    },
    as(uid, repo, args) {
      const r = run(uid, repo, [process.execPath, GRIT_BIN, ...args, '--json']);
      let json: any = null;
      try {
        json = JSON.parse(r.stdout);
      } catch {
        /* not JSON */
      }
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
    },
    sh(uid, repo, script) {
      const r = run(uid, repo, ['sh', '-ec', script]);
      assert.equal(r.status, 0, `uid ${uid}: ${script}: ${r.stderr}`);
    },
  };
}

test('in a repository shared with a group, each member reads through the default actor\'s store and writes as an actor of their own', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('not root: cannot switch to other users to try');
  const users = groupOfTwo();
  if (!users) return t.skip('setpriv unavailable');
  const { owner, member } = users;
  const ok = (uid: number, repo: string, args: string[]) => {
    const r = users.as(uid, repo, args);
    assert.equal(r.code, 0, `uid ${uid}: grit ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.json.data;
  };
  const old = process.umask(0o077);
  try {
    const repo = users.repo();
    users.sh(owner, repo, 'git init -q --shared=group');
    ok(owner, repo, ['init', '--no-agents-md', '--generate-key']);
    ok(owner, repo, ['issue', 'create', '--title', 'by the owner']);
    assert.equal(ok(member, repo, ['issue', 'list']).total, 1, "the member reads through the default actor's store");
    ok(member, repo, ['actor', 'init', '--label', 'member', '--generate-key']);
    ok(member, repo, ['issue', 'create', '--title', 'by the member', '--actor', 'member']);
    assert.deepEqual(ok(owner, repo, ['issue', 'list']).issues.map((i: { title: string }) => i.title).sort(), ['by the member', 'by the owner']);
    assert.equal(ok(owner, repo, ['db', 'verify']).signatures_valid, 2, "the owner knows the member's key from its actor's config");
    assert.equal(ok(member, repo, ['issue', 'list', '--actor', 'member']).total, 2);
  } finally {
    process.umask(old);
  }
});

test('a repository shared after grit made its files: they stay as they were (exit 5, naming what this user cannot write, no rebuild offered) until its owner shares them as docs/troubleshooting.md says', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('not root: cannot switch to other users to try');
  const users = groupOfTwo();
  if (!users) return t.skip('setpriv unavailable');
  const { owner, member } = users;
  const old = process.umask(0o022);
  try {
    const repo = users.repo();
    users.sh(owner, repo, 'git init -q');
    assert.equal(users.as(owner, repo, ['init', '--no-agents-md', '--generate-key']).code, 0);
    assert.equal(users.as(owner, repo, ['issue', 'create', '--title', 'before sharing']).code, 0);
    const actorDir = join(repo, '.git/grit/actors', users.as(owner, repo, ['actor', 'current']).json.data.actor.actor_id);
    const refused = (path: string) => {
      const r = users.as(member, repo, ['issue', 'list']);
      assert.deepEqual([r.code, r.json?.error?.details?.path], [5, path], `${r.stdout}${r.stderr}`);
      assert.match(r.json.error.message, / is not writable by this user: /);
      const store = users.as(member, repo, ['doctor']).json.data.checks.find((c: { id: string }) => c.id === 'store_integrity');
      assert.equal(store.status, 'error');
      assert.doesNotMatch(store.plan, /rebuild|delete/, 'a rebuild by each member would not help');
    };
    users.sh(owner, repo, 'git config core.sharedRepository group');
    refused(actorDir);
    // Half the way: directories only. The store's files are still the owner's alone.
    users.sh(owner, repo, 'find .git -type d -exec chmod g+ws {} +');
    refused(join(actorDir, 'store.mdb'));
    // The rest, as docs/troubleshooting.md says (the keys put back to their owner's alone).
    users.sh(owner, repo, 'chmod -R g+rwX .git && chmod -R go= .git/grit/actors/*/keys');
    assert.equal(users.as(member, repo, ['issue', 'list']).json?.data?.total, 1);
    const keys = users.as(owner, repo, ['doctor']).json.data.checks.find((c: { id: string }) => c.id === 'actor_config');
    assert.equal(keys.status, 'ok', keys.message);
    // The member acts as the owner's actor: its key is there, just not theirs to read.
    const theirs = users.as(member, repo, ['doctor']).json.data.checks.find((c: { id: string }) => c.id === 'actor_config');
    assert.match(theirs.message, /keys\/signing\.key cannot be read by this user \(permission denied\): only its owner can write as this actor/);
    assert.doesNotMatch(theirs.message, /but no /);
  } finally {
    process.umask(old);
  }
});
