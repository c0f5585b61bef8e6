/**
 * The CLI through a daemon: every command gives the same output as when run locally. Two
 * repositories run the same script, one through a private daemon and one with --no-daemon; their
 * outputs must match byte for byte once ids and times (different by nature) are masked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, grit, gritOk, tempDir, tempRepo, twoWorktrees, type GritResult, gritInit } from '../helpers/repo.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { Lease, LEASE_MS, readLease } from '../../src/workers/lease.js';
import { ReqClient } from '../../src/protocol/transport/index.js';
import { runCommand } from '../../src/index.js';

let daemon: TestDaemon;
before(async () => {
  daemon = await startDaemon();
});
after(async () => {
  await daemon.stop();
});

/** Ids, hashes and times differ between two runs; everything else must not. */
function mask(s: string): string {
  return s
    .replace(/\b[0-9a-f]{64}\b/g, '<hash64>')
    .replace(/\b[0-9a-f]{40}\b/g, '<oid>')
    .replace(/\b[0-9a-f]{32}\b/g, '<id32>')
    .replace(/\b[0-9a-f]{12}\b/g, '<id12>')
    .replace(/\b[0-9a-f]{8}\b/g, '<id8>')
    .replace(/\b1\d{12}\b/g, '<ts>')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<iso>')
    // How soon a lock expires, said a second or so apart.
    .replace(/\(in \d+(s|m)\)/g, '(in <n>)')
    // How long ago an issue was opened: the two sides run a command apart, and a slow host turns
    // "just now" into "1m ago", which also moves the padding of a table's columns.
    .replace(/\b(just now|\d+(m|h|d|mo|y) ago)\b/g, '<when>')
    .replace(/refs\/grit\/snapshots\/\d+/g, 'refs/grit/snapshots/<ms>')
    .replace(/\/tmp\/grit-test-[^/\s"]+/g, '<tmp>')
    .replace(/"duration_ms":\d+/g, '"duration_ms":<n>')
    // The store file's size: LMDB grows it a page more when a reader (the daemon's) was open
    // during a write, so the two sides can differ by a page with the same contents.
    .replace(/"size_bytes":\d+/g, '"size_bytes":<n>')
    .replace(/^size {10}\d+ KiB$/m, 'size          <n> KiB')
    .replace(/ {2,}/g, ' ');
}

/** `issue list` orders by issue id, which differs between the two sides: compare as sets. */
function unordered(out: string): string {
  const masked = mask(out);
  try {
    const env = JSON.parse(masked.replace(/:<ts>/g, ':"<ts>"'));
    env.data.issues = env.data.issues.map((i: unknown) => JSON.stringify(i)).sort();
    return JSON.stringify(env);
  } catch {
    return masked.split('\n').sort().join('\n');
  }
}

interface Side {
  dir: string;
  env: NodeJS.ProcessEnv;
}

async function side(viaDaemon: boolean): Promise<Side> {
  const remote = join(tempDir('grit-remote-'), 'r.git');
  git(tempDir(), 'init', '-q', '--bare', remote);
  const dir = tempRepo();
  git(dir, 'remote', 'add', 'origin', remote);
  writeFileSync(join(dir, 'notes.txt'), 'attachment body\n');
  writeFileSync(join(dir, 'lib.ts'), 'export function parseLine(s: string): string {\n  return s;\n}\n');
  git(dir, 'add', 'lib.ts');
  await gritInit(dir);
  return { dir, env: viaDaemon ? daemon.env : {} };
}

const run = (s: Side, args: string[]): GritResult => grit(s.dir, args, { env: s.env });

test('every command gives the same output through the daemon as locally', async () => {
  const remote = await side(true);
  const local = await side(false);
  const requestsBefore = ((await (await daemon.client()).status()) as { requests: number }).requests;
  const sides = [remote, local];
  const ids = sides.map((s) => gritOk(s.dir, ['issue', 'create', '--title', 'first', '--label', 'bug'], { env: s.env }).issue_id);
  const scripts: Array<(id: string) => string[]> = [
    () => ['issue', 'create', '--title', 'second', '--body', 'a body', '--label', 'ui'],
    (id) => ['issue', 'update', id, '--title', 'first, renamed'],
    (id) => ['issue', 'comment', id, '--body', 'a comment'],
    (id) => ['issue', 'label', 'add', id, '--label', 'p1'],
    (id) => ['issue', 'label', 'remove', id, '--label', 'bug'],
    (id) => ['issue', 'assignee', 'add', id, '--user', 'ana'],
    (id) => ['issue', 'assignee', 'remove', id, '--user', 'ana'],
    (id) => ['issue', 'link', 'add', id, '--url', 'https://example.com/x', '--note', 'spec'],
    (id) => ['issue', 'attachment', 'add', id, 'notes.txt'],
    (id) => ['issue', 'close', id],
    (id) => ['issue', 'reopen', id],
    () => ['issue', 'list'],
    () => ['issue', 'list', '--state', 'open', '--label', 'p1'],
    (id) => ['issue', 'show', id],
    (id) => ['issue', 'show', id.slice(0, 6)],
    (id) => ['issue', 'dep', 'list', id],
    (id) => ['issue', 'dep', 'add', id, '--target', id, '--type', 'blocks'],
    () => ['context', 'index'],
    () => ['context', 'query', 'parse'],
    () => ['context', 'show', 'lib.ts'],
    () => ['context', 'set', 'build', 'npm run build'],
    () => ['context', 'project'],
    () => ['context', 'project', 'build'],
    () => ['lock', 'acquire', '--resource', 'path:src/a', '--ttl', '60'],
    () => ['lock', 'status'],
    () => ['lock', 'release', '--resource', 'path:src/a'],
    () => ['lock', 'gc'],
    () => ['sync'],
    () => ['snapshot'],
    () => ['snapshot', 'gc'],
    () => ['rebuild'],
    () => ['rebuild', '--from-snapshot'],
    () => ['db', 'stats'],
    () => ['db', 'check'],
    () => ['db', 'verify'],
    () => ['export', '--format', 'md', '--output', 'out/export.md'],
    () => ['doctor'],
    // errors must match too: codes, messages, exit statuses
    () => ['issue', 'show', 'ffffffff'],
    () => ['issue', 'show', 'xyz!'],
    (id) => ['issue', 'update', id],
    () => ['issue', 'create', '--title', ' '],
    () => ['lock', 'release', '--resource', 'bogus'],
  ];
  for (const script of scripts) {
    for (const json of [true, false]) {
      const [a, b] = sides.map((s, i) => {
        const args = script(ids[i]);
        return run(s, json ? [...args, '--json'] : args);
      });
      const what = `${script('<id>').join(' ')}${json ? ' --json' : ''}`;
      assert.equal(a.code, b.code, `exit code of ${what}: ${a.stdout}${a.stderr} vs ${b.stdout}${b.stderr}`);
      const canon = what.startsWith('issue list') ? unordered : mask;
      assert.equal(canon(a.stdout), canon(b.stdout), `stdout of ${what}`);
      assert.equal(mask(a.stderr), mask(b.stderr), `stderr of ${what}`);
    }
  }
  const client = await daemon.client();
  const status = (await client.status()) as { requests: number; workers: { repo_root: string }[] };
  client.close();
  // Every routed command of the daemon side reached it (a few commands run in the CLI itself).
  assert.ok(status.requests - requestsBefore >= scripts.length * 2 - 4, `daemon served ${status.requests - requestsBefore}`);
  assert.ok(status.workers.some((w) => w.repo_root === remote.dir));
  assert.ok(!status.workers.some((w) => w.repo_root === local.dir), '--no-daemon side never reached the daemon');
});

test('an attachment the daemon would read forever (a device, a FIFO) is refused unread, and nothing stays in flight', async () => {
  const s = await side(true);
  const { issue_id } = gritOk(s.dir, ['issue', 'create', '--title', 'x'], { env: s.env });
  execFileSync('mkfifo', [join(s.dir, 'pipe')]);
  // The CLI names the file to the daemon by its absolute path.
  for (const file of ['/dev/zero', join(s.dir, 'pipe')]) {
    const r = grit(s.dir, ['issue', 'attachment', 'add', issue_id, file, '--json'], { env: s.env, timeout: 20_000 });
    assert.equal(r.code, 2, `${file}: ${r.stdout}${r.stderr}`);
    assert.equal(r.json.error.message, `${file} is not a regular file`);
  }
  const workers = gritOk(s.dir, ['daemon', 'status'], { env: s.env }).workers as { repo_root: string; in_flight: number }[];
  assert.deepEqual(workers.filter((w) => w.repo_root === s.dir).map((w) => w.in_flight), [0], 'served by the daemon, and done');
});

test('a repo_root (or an API cwd) that is not a directory, or no longer is one, is invalid_args, never the repository around it', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  writeFileSync(join(repo, 'file'), 'x');
  const raw = await ReqClient.connect(daemon.endpoint);
  try {
    // A typo in a directory of a repository (a dotfiles repository in $HOME, say) was walked up
    // from, and the issue made there.
    for (const [path, why] of [[join(repo, 'typo'), 'no such directory'], [join(repo, 'file'), 'not a directory'], [join(repo, 'file', 'x'), 'not a directory']]) {
      const request = { ipc_schema_version: 1, request_id: 1, repo_root: path, command: { IssueCreate: { title: 'lost' } } };
      const reply = JSON.parse(Buffer.from(await raw.request(Buffer.from(JSON.stringify(request)), { timeoutMs: 20_000 })).toString());
      assert.equal(reply.ok, false, path);
      assert.equal(reply.error.code, 'invalid_args', path);
      assert.equal(reply.error.message, `repo_root ${path}: ${why}`);
      assert.equal(reply.error.details.field, 'repo_root');
      await assert.rejects(runCommand('IssueCreate', { title: 'lost' }, { cwd: path }), (e: any) => e.code === 'invalid_args' && e.message === `cwd ${path}: ${why}`);
    }
    // A worktree removed after a request from it: the daemon's remembered route was still
    // served, and an export into it made its directory again.
    const { main, linked } = await twoWorktrees();
    const ask = async (command: object) =>
      JSON.parse(Buffer.from(await raw.request(Buffer.from(JSON.stringify({ ipc_schema_version: 1, request_id: 2, repo_root: linked, command })), { timeoutMs: 20_000 })).toString());
    assert.equal((await ask({ IssueList: {} })).ok, true);
    git(main, 'worktree', 'remove', '--force', linked);
    const gone = await ask({ Export: {} });
    assert.equal(gone.error?.code, 'invalid_args', JSON.stringify(gone));
    assert.equal(gone.error.message, `repo_root ${linked}: no such directory`);
    assert.equal(existsSync(linked), false, 'nothing was made where the worktree was');
  } finally {
    raw.close();
  }
  assert.equal(gritOk(repo, ['issue', 'list', '--json']).total, 0);
});

test('--no-daemon and GRIT_NO_DAEMON keep a command out of a running daemon', async () => {
  const s = await side(true);
  const client = await daemon.client();
  const before = ((await client.status()) as { requests: number }).requests;
  grit(s.dir, ['issue', 'list', '--no-daemon'], { env: s.env });
  grit(s.dir, ['issue', 'list'], { env: { ...s.env, GRIT_NO_DAEMON: '1' } });
  const afterCount = ((await client.status()) as { requests: number }).requests;
  client.close();
  assert.equal(afterCount - before, 1, 'only the status request itself');
});

test("a command through the daemon reads the caller's GRIT_GRAMMAR_<LANG>, GRIT_GIT_TIMEOUT, git's variables and HOME, for that request only", async () => {
  const s = await side(true);
  const client = await daemon.client();
  const requests = async () => ((await client.status()) as { requests: number }).requests;
  try {
    const before = await requests();
    const missing = gritOk(s.dir, ['context', 'index', '--force'], { env: { ...s.env, GRIT_GRAMMAR_TYPESCRIPT: '/nonexistent/tree-sitter-typescript.wasm' } });
    assert.equal(missing.fallback_files, 1, JSON.stringify(missing));
    assert.match(missing.warnings[0].message, /\/nonexistent\/tree-sitter-typescript\.wasm/);
    // The next request, without it, gets the bundled grammar: nothing stayed behind in the worker.
    assert.deepEqual(gritOk(s.dir, ['context', 'index', '--force'], { env: s.env }).warnings, []);
    const badTimeout = grit(s.dir, ['sync', '--json'], { env: { ...s.env, GRIT_GIT_TIMEOUT: 'abc' } });
    assert.equal(badTimeout.code, 5, badTimeout.stdout);
    assert.match(badTimeout.json.error.message, /^GRIT_GIT_TIMEOUT must be a whole number of seconds/);
    // What git itself reads (configuration in the environment here; ssh and proxies alike).
    const noFile = { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'protocol.file.allow', GIT_CONFIG_VALUE_0: 'never' };
    const refused = grit(s.dir, ['sync', '--json'], { env: { ...s.env, ...noFile } });
    assert.equal(refused.json?.error?.code, 'git_error', refused.stdout);
    assert.match(refused.json.error.details.stderr, /transport 'file' not allowed/);
    // The user's own config, found from the caller's HOME (or XDG_CONFIG_HOME), as git finds it.
    const home = tempDir();
    writeFileSync(join(home, '.gitconfig'), '[protocol "file"]\n\tallow = never\n');
    const byHome = grit(s.dir, ['sync', '--json'], { env: { ...s.env, HOME: home } });
    assert.match(byHome.json?.error?.details?.stderr ?? byHome.stdout, /transport 'file' not allowed/);
    const xdg = tempDir();
    mkdirSync(join(xdg, 'git'));
    writeFileSync(join(xdg, 'git', 'config'), '[protocol "file"]\n\tallow = never\n');
    const byXdg = grit(s.dir, ['sync', '--json'], { env: { ...s.env, XDG_CONFIG_HOME: xdg } });
    assert.match(byXdg.json?.error?.details?.stderr ?? byXdg.stdout, /transport 'file' not allowed/);
    assert.equal(gritOk(s.dir, ['sync'], { env: s.env }).pushed > 0, true, 'the next sync, without them, runs as before');
    assert.equal(await requests(), before + 8, 'all seven served by the daemon (and this status request)');
  } finally {
    client.close();
  }
});

test('export -o - runs in the CLI, written to its stdout as it is made; a client of the daemon gets it in the reply', async () => {
  const s = await side(true);
  gritOk(s.dir, ['issue', 'create', '--title', 'exported'], { env: s.env });
  const client = await daemon.client();
  const requests = async () => ((await client.status()) as { requests: number }).requests;
  try {
    const before = await requests();
    const out = grit(s.dir, ['export', '-o', '-'], { env: s.env });
    const json = grit(s.dir, ['export', '--format', 'csv', '-o', '-', '--json'], { env: s.env });
    assert.equal(await requests(), before + 1, 'only the status request itself');
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout).issues.map((i: any) => i.title), ['exported']);
    assert.match(json.json.data.content, /,exported,open,/);

    const reply = (await client.request('Export', { format: 'csv', output: '-' }, { repoRoot: s.dir })) as any;
    assert.equal(reply.output_path, '-');
    assert.equal(reply.content, json.json.data.content);
    // A file is still the daemon's to write.
    const file = join(tempDir(), 'x.json');
    assert.equal(gritOk(s.dir, ['export', '-o', file], { env: s.env }).output_path, file);
    assert.equal(await requests(), before + 4);
    // Read from the worker's store as it writes: the bytes of the CLI's own export, but the time.
    const local = join(tempDir(), 'y.json');
    gritOk(s.dir, ['export', '-o', local, '--no-daemon'], { env: s.env });
    const undated = (path: string) => readFileSync(path, 'utf8').replace(/"generated_ts": \d+/, '');
    assert.equal(undated(file), undated(local));
  } finally {
    client.close();
  }
});

test('a client\'s relative paths (export\'s output, an attachment\'s file) are taken from its cwd, not the daemon\'s', async () => {
  const s = await side(true);
  const sub = join(s.dir, 'sub');
  mkdirSync(sub);
  writeFileSync(join(sub, 'log.txt'), 'logged\n');
  const target = { repoRoot: s.dir, cwd: sub };
  const client = await daemon.client();
  try {
    const { issue_id } = await client.issueCreate({ title: 'x' }, target);
    const logged = createHash('sha256').update('logged\n').digest('hex');
    // A --sha256 sent with the file must be its hash: the daemon checks it too, and writes nothing else.
    await assert.rejects(client.request('IssueAttachmentAdd', { issue_id, file: 'log.txt', sha256: 'ab'.repeat(32) }, target), (err: any) => {
      assert.equal(err.code, 'invalid_args');
      assert.equal(err.message, `log.txt hashes to ${logged}, not ${'ab'.repeat(32)}`);
      return true;
    });
    const added = (await client.request('IssueAttachmentAdd', { issue_id, file: 'log.txt', sha256: logged }, target)) as any;
    assert.deepEqual([added.name, added.sha256, added.mime], ['log.txt', logged, 'text/plain']);
    const shown = (await client.issueShow(issue_id, target)) as any;
    assert.deepEqual(shown.issue.attachments.map((a: any) => [a.name, a.sha256]), [['log.txt', logged]]);
    // A missing parent directory is made inside the worktree only: from the daemon's own cwd, `/`, this is refused.
    const out = (await client.request('Export', { output: 'out/x.json' }, target)) as any;
    assert.equal(out.output_path, join(sub, 'out', 'x.json'));
    assert.ok(existsSync(out.output_path));
  } finally {
    client.close();
  }
});

test('a long-lived worker sees config.toml edits from the next command on', async () => {
  const s = await side(true);
  const other = gritOk(s.dir, ['actor', 'init', '--label', 'other']).actor.actor_id;
  const { issue_id } = gritOk(s.dir, ['issue', 'create', '--title', 'contested'], { env: s.env });
  gritOk(s.dir, ['lock', 'acquire', '--resource', `issue:${issue_id}`, '--actor', other, '--local'], { env: s.env });
  // warn: the daemon's reply carries the warning, which the CLI prints (and --json holds).
  const warned = run(s, ['issue', 'comment', issue_id, '--body', 'warned only']);
  assert.equal(warned.code, 0);
  assert.match(warned.stderr, new RegExp(`^grit: warning: issue:${issue_id} is locked by ${other}.*lock_policy = warn`));
  const warnedJson = run(s, ['issue', 'comment', issue_id, '--body', 'warned again', '--json']);
  assert.match(warnedJson.json.data.lock_warnings[0], new RegExp(`^issue:${issue_id} is locked by ${other}`));
  assert.equal(gritOk(s.dir, ['daemon', 'status'], { env: s.env }).workers.length > 0, true, 'served by the daemon');
  const config = join(s.dir, '.git', 'grit', 'config.toml');
  const text = readFileSync(config, 'utf8');
  assert.match(text, /^lock_policy = "warn"$/m);
  writeFileSync(config, text.replace(/^lock_policy.*$/m, 'lock_policy = "require"'));
  const refused = run(s, ['issue', 'comment', issue_id, '--body', 'refused', '--json']);
  assert.equal(refused.code, 4, refused.stdout);
  assert.equal(refused.json.error.code, 'conflict');
});

test('a broken config.toml: the same error and exit code through the daemon as locally', async () => {
  const outputs = (await Promise.all([side(true), side(false)])).map((s) => {
    writeFileSync(join(s.dir, '.git', 'grit', 'config.toml'), 'this is [ not toml\n');
    const r = run(s, ['issue', 'list', '--json']);
    return { code: r.code, error: mask(JSON.stringify(r.json.error)) };
  });
  assert.equal(outputs[0].code, 5);
  assert.deepEqual(outputs[0], outputs[1]);
});

test('a long-lived worker signs with a key replaced behind its back from the next command on', async () => {
  const s = await side(true);
  gritOk(s.dir, ['init', '--generate-key']);
  const { issue_id } = gritOk(s.dir, ['issue', 'create', '--title', 'first key'], { env: s.env });
  // A key restored from a backup with its config.toml (its public_key); a key file alone that is
  // not the config's key is refused (test/ops/signing.test.ts).
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const actorId = gritOk(s.dir, ['actor', 'current']).actor.actor_id as string;
  const actorDir = join(s.dir, '.git', 'grit', 'actors', actorId);
  writeFileSync(join(actorDir, 'keys', 'signing.key'), `${seed.toString('hex')}\n`, { mode: 0o600 });
  const config = readFileSync(join(actorDir, 'config.toml'), 'utf8');
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
  writeFileSync(join(actorDir, 'config.toml'), config.replace(/^public_key = .*$/m, `public_key = "${pub}"`));
  gritOk(s.dir, ['issue', 'comment', issue_id, '--body', 'second key'], { env: s.env });
  const events = gritOk(s.dir, ['issue', 'show', issue_id], { env: s.env }).events as { event_id: string; sig: string }[];
  const signedBy = (e: { event_id: string; sig: string }) => verify(null, Buffer.from(e.event_id, 'hex'), publicKey, Buffer.from(e.sig, 'hex'));
  assert.equal(signedBy(events[0]), false, 'the first event has the first key');
  assert.equal(signedBy(events[1]), true, 'the next command signs with the new key');
});

test("a long-lived worker sees a hand edit of its own actor's config.toml from the next command on, as --no-daemon does", async () => {
  const s = await side(true);
  gritOk(s.dir, ['init', '--generate-key']);
  const { issue_id } = gritOk(s.dir, ['issue', 'create', '--title', 'signed'], { env: s.env });
  gritOk(s.dir, ['issue', 'comment', issue_id, '--body', 'signed too'], { env: s.env });
  const counts = (env: NodeJS.ProcessEnv) => {
    const v = gritOk(s.dir, ['db', 'verify'], { env });
    return [v.signatures_checked, v.known_keys];
  };
  assert.deepEqual(counts(s.env), [2, 1]);
  const path = join(gritOk(s.dir, ['actor', 'current']).actor.data_dir, 'config.toml');
  writeFileSync(path, readFileSync(path, 'utf8').replace(/^(public_key|key_scheme) = .*\n/gm, ''));
  assert.deepEqual(counts({}), [0, 0], 'no key known in process');
  assert.deepEqual(counts(s.env), [0, 0], 'nor through the daemon');
});

test('the daemon follows a change of default actor made behind its back', async () => {
  const s = await side(true);
  const authorOf = (title: string) => {
    const { issue_id } = gritOk(s.dir, ['issue', 'create', '--title', title], { env: s.env });
    return gritOk(s.dir, ['issue', 'show', issue_id], { env: s.env }).events[0].actor;
  };
  const first = gritOk(s.dir, ['actor', 'current']).actor.actor_id;
  assert.equal(authorOf('by first'), first);
  // Another actor becomes the default, written locally: the daemon's cached route must not stick.
  const second = gritOk(s.dir, ['actor', 'init', '--label', 'second']).actor.actor_id;
  gritOk(s.dir, ['actor', 'use', second]);
  assert.equal(authorOf('by second'), second);
  gritOk(s.dir, ['actor', 'use', first]);
  assert.equal(authorOf('by first again'), first);
});

/** The daemon's workers for the actors of `repo`'s common git dir. */
function workersOf(repo: string): { repo_root: string; data_dir: string }[] {
  const actors = join(repo, '.git', 'grit', 'actors');
  return gritOk(repo, ['daemon', 'status'], { env: daemon.env }).workers.filter((w: { data_dir: string }) => w.data_dir.startsWith(actors));
}

test('two worktrees through one worker: export writes its default output into the caller\'s worktree, as --no-daemon does', async () => {
  const { main, linked } = await twoWorktrees();
  // The main worktree's request starts the actor's worker.
  for (const dir of [main, linked]) {
    const local = gritOk(dir, ['export', '--format', 'md']).output_path;
    assert.equal(local, join(dir, '.grit', 'export.md'));
    rmSync(join(dir, '.grit'), { recursive: true });
    assert.equal(gritOk(dir, ['export', '--format', 'md'], { env: daemon.env }).output_path, local, dir);
    assert.ok(existsSync(local), `written into ${dir}`);
  }
  assert.equal(existsSync(join(main, '.grit', 'export.md')) && existsSync(join(linked, '.grit', 'export.md')), true);
  assert.deepEqual(workersOf(main).map((w) => w.repo_root), [main], 'one worker served both worktrees');
});

test('daemon status and the lease name the repository a worker serves, not the worktree that started it, which may be removed', async () => {
  const { main, linked } = await twoWorktrees();
  // The linked worktree's request starts the actor's worker.
  gritOk(linked, ['issue', 'list'], { env: daemon.env });
  const dataDir = gritOk(main, ['actor', 'current']).actor.data_dir;
  git(main, 'worktree', 'remove', '--force', linked);
  const id = gritOk(main, ['issue', 'create', '--title', 'after the removal'], { env: daemon.env }).issue_id;
  assert.equal(gritOk(main, ['issue', 'show', id]).issue.title, 'after the removal');
  assert.deepEqual(workersOf(main).map((w) => w.repo_root), [main], 'one worker, named after the repository');
  assert.equal(JSON.parse(readFileSync(join(dataDir, 'daemon.lock'), 'utf8')).repo_root, main);
});

test('a repository moved while the daemon serves it: the worker for the old path goes before one opens the store through the new path, and nothing is rebuilt', async () => {
  const base = tempDir();
  const [here, there] = [join(base, 'here'), join(base, 'there')];
  mkdirSync(here);
  git(here, 'init', '-q');
  await gritInit(here);
  gritOk(here, ['issue', 'create', '--title', 'before the moves'], { env: daemon.env });
  const built = gritOk(here, ['db', 'stats'], { env: daemon.env }).last_rebuild_ts;
  const all = () => gritOk(base, ['daemon', 'status'], { env: daemon.env }).workers.filter((w: { data_dir: string }) => w.data_dir.startsWith(base));
  assert.equal(all().length, 1);
  for (const [from, to] of [[here, there], [there, here]]) {
    renameSync(from, to);
    const r = grit(to, ['issue', 'create', '--title', `in ${to}`, '--json'], { env: daemon.env });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stderr, '', `moved to ${to}`);
    // One thread on the store file: the old path's worker was retired first.
    assert.deepEqual(all().map((w: { repo_root: string }) => w.repo_root), [to]);
    assert.equal(gritOk(to, ['db', 'stats'], { env: daemon.env }).last_rebuild_ts, built, 'no rebuild');
  }
  assert.equal(gritOk(here, ['issue', 'list'], { env: daemon.env }).total, 3);
});

test('two worktrees through one worker: context index, query and show read the caller\'s worktree, as --no-daemon does', async () => {
  const script = async (env: NodeJS.ProcessEnv) => {
    const { main, linked } = await twoWorktrees();
    const counts = (d: any) => ({ files: d.files, indexed: d.indexed, unchanged: d.unchanged, removed: d.removed });
    const paths = (dir: string, q: string) => gritOk(dir, ['context', 'query', q], { env }).results.map((r: { path: string }) => r.path);
    return [
      counts(gritOk(main, ['context', 'index'], { env })),
      // Not only_main.py, which the linked worktree does not track: its context is removed.
      counts(gritOk(linked, ['context', 'index'], { env })),
      paths(linked, 'in_'),
      gritOk(linked, ['context', 'show', 'only_linked.py'], { env }).file.path,
      // --path is the linked worktree's own root, which the CLI sends absolute.
      counts(gritOk(linked, ['context', 'index', '--path', '.', '--force'], { env })),
      counts(gritOk(main, ['context', 'index'], { env })),
      paths(main, 'in_'),
    ];
  };
  const viaDaemon = await script(daemon.env);
  assert.deepEqual(viaDaemon, [
    { files: 2, indexed: 2, unchanged: 0, removed: 0 },
    { files: 2, indexed: 1, unchanged: 1, removed: 1 },
    ['only_linked.py'],
    'only_linked.py',
    { files: 2, indexed: 2, unchanged: 0, removed: 0 },
    { files: 2, indexed: 1, unchanged: 1, removed: 1 },
    ['only_main.py'],
  ]);
  assert.deepEqual(viaDaemon, await script({}));
});

test('two worktrees through one worker: path: locks are taken relative to the caller\'s worktree, as --no-daemon does', async () => {
  const { main, linked } = await twoWorktrees();
  const src = join(linked, 'src');
  mkdirSync(join(src, 'parser'), { recursive: true });
  for (const env of [daemon.env, {}]) {
    assert.equal(gritOk(main, ['lock', 'acquire', '--resource', 'path:docs'], { env }).lock.resource, 'path:docs');
    assert.equal(gritOk(src, ['lock', 'acquire', '--resource', 'path:parser'], { env }).lock.resource, 'path:src/parser');
    assert.equal(gritOk(src, ['lock', 'renew', '--resource', `path:${join(src, 'parser')}`], { env }).lock.resource, 'path:src/parser');
    assert.equal(gritOk(linked, ['lock', 'release', '--resource', 'path:src/parser/'], { env }).lock.resource, 'path:src/parser');
    // The main worktree is outside the linked one.
    const r = grit(src, ['lock', 'acquire', '--resource', `path:${join(main, 'docs')}`, '--json'], { env });
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.json.error.code, 'invalid_args');
    assert.equal(r.json.error.details.root, linked);
    gritOk(main, ['lock', 'release', '--resource', 'path:docs'], { env });
  }
  assert.equal(workersOf(main).length, 1, 'one worker served both worktrees');
});

test("a client of the daemon is refused another user's repository at routing, as the CLI is (git's safe.directory rule)", { skip: process.geteuid?.() !== 0 ? 'needs root, to make a repository another user owns' : false }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  execFileSync('chown', ['-R', '65534', repo]);
  const client = await daemon.client();
  try {
    await assert.rejects(client.request('IssueList', {}, { repoRoot: repo, env: { GIT_CONFIG_GLOBAL: '/dev/null' } }), (err: any) => {
      assert.equal(err.code, 'git_error');
      assert.match(err.message, /^detected dubious ownership in repository at /);
      assert.equal(err.exitCode, 5);
      return true;
    });
  } finally {
    client.close();
  }
});

test('two daemons (two run dirs): the one another holds the actor\'s lease for keeps no worker, says why once, lists it as declined, and serves the actor once the lease is free', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const [owner, other] = [await startDaemon(), await startDaemon()];
  try {
    gritOk(repo, ['issue', 'create', '--title', 'through the owner'], { env: owner.env });
    const first = grit(repo, ['issue', 'create', '--title', 'through the other', '--json'], { env: other.env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, new RegExp(`^grit: warning: this daemon \\(pid ${other.child!.pid}\\) does not serve actor [0-9a-f]{8} of .*: daemon pid ${owner.child!.pid} \\(.*\\) holds its lease, so its commands run in the CLI`, 'm'));
    const second = grit(repo, ['issue', 'list', '--json'], { env: other.env });
    assert.equal(second.json.data.total, 2, 'run in the CLI');
    assert.equal(second.stderr, '', 'said once');
    const status = gritOk(repo, ['daemon', 'status'], { env: other.env });
    assert.deepEqual(status.workers, [], 'no thread for an actor it cannot serve');
    assert.deepEqual(status.declined.map((d: any) => [d.owner_pid, d.actor_id.length]), [[owner.child!.pid, 32]]);
    const human = grit(repo, ['daemon', 'status'], { env: other.env });
    assert.match(human.stdout, /^0 workers\nnot serving 1 actor: another daemon does; their commands run in the CLI\n  [0-9a-f]{8}  .* \(daemon pid \d+ holds its lease\)$/m);

    await owner.stop();
    assert.equal(gritOk(repo, ['issue', 'list'], { env: other.env }).total, 2);
    const after = gritOk(repo, ['daemon', 'status'], { env: other.env });
    assert.equal(after.workers.length, 1, 'the lease is free: the actor is served');
    assert.deepEqual(after.declined, []);
  } finally {
    await Promise.all([owner.stop(), other.stop()]);
  }
});

test('two daemons: one paused past its lease, which the other took over meanwhile, serves the actor no more once it runs again, and leaves that lease as it is', async () => {
  const repo = tempRepo();
  const actorDir: string = (await gritInit(repo)).actor.data_dir;
  const lease = join(actorDir, 'daemon.lock');
  const holder = (): number => JSON.parse(readFileSync(lease, 'utf8')).pid;
  const [paused, other] = [await startDaemon(), await startDaemon()];
  try {
    gritOk(repo, ['issue', 'create', '--title', 'through the first'], { env: paused.env });
    process.kill(paused.child!.pid!, 'SIGSTOP');
    // Its lease as after 15 s paused (expired), rather than wait that long.
    writeFileSync(lease, JSON.stringify({ ...JSON.parse(readFileSync(lease, 'utf8')), expires_ts: Date.now() - 1 }));
    gritOk(repo, ['issue', 'create', '--title', 'through the other'], { env: other.env });
    assert.equal(holder(), other.child!.pid, 'an expired lease is taken over');
    process.kill(paused.child!.pid!, 'SIGCONT');

    assert.equal(gritOk(repo, ['issue', 'list'], { env: paused.env }).total, 2, 'run in the CLI');
    assert.deepEqual(gritOk(repo, ['daemon', 'status'], { env: paused.env }).workers, [], 'its worker retired');
    const again = grit(repo, ['issue', 'list', '--json'], { env: paused.env });
    assert.match(again.stderr, new RegExp(`does not serve actor .*: daemon pid ${other.child!.pid} .* holds its lease`));
    assert.equal(holder(), other.child!.pid, 'not taken back');
  } finally {
    process.kill(paused.child!.pid!, 'SIGCONT');
    await Promise.all([paused.stop(), other.stop()]);
  }
});

test('a lease another daemon took over is not written back by its heartbeat, nor removed at release', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const dir = tempDir();
  const lease = Lease.acquire(dir, { repo_root: dir, actor_id: 'a1'.repeat(16), ipc_endpoint: 'ipc:///nowhere/daemon.sock' }, 0);
  const path = join(dir, 'daemon.lock');
  const taken = readLease(dir)!.last_heartbeat_ts;
  await new Promise((r) => setTimeout(r, 5));
  t.mock.timers.tick(LEASE_MS / 3);
  assert.ok(readLease(dir)!.last_heartbeat_ts > taken, 'renewed while its own');
  // Taken over by a daemon whose record names the same pid (a lease of this daemon's from before would too).
  const theirs = JSON.stringify({ ...readLease(dir), token: 'theirs', last_heartbeat_ts: Date.now() });
  writeFileSync(path, theirs);
  t.mock.timers.tick(LEASE_MS / 3);
  assert.equal(readFileSync(path, 'utf8'), theirs, 'the heartbeat wrote nothing over it');
  assert.equal(lease.held(), false);
  lease.release();
  assert.equal(readFileSync(path, 'utf8'), theirs, 'the release removed nothing');
  assert.deepEqual(readdirSync(dir), ['daemon.lock'], 'no temporary file left');
});

