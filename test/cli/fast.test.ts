import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fastManifest, hoistGlobalFlags, parseArgv } from '../../src/cli/fast.js';
import { GRIT_BIN, REPO_ROOT } from '../helpers/paths.js';
import { git, grit, gritLib, gritOk, gritSetup, tempDir, tempRepo, gritInit } from '../helpers/repo.js';
import { DAEMON_BIN, startDaemon } from '../helpers/daemon.js';

const commands = JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')).commands;
const parse = (line: string[]) => parseArgv(line, commands);

test('the start-up manifest is oclif.manifest.json\'s commands, flags and args, and parses alike', () => {
  const small = JSON.parse(readFileSync(join(REPO_ROOT, 'dist/src/cli/fast-manifest.json'), 'utf8'));
  const full = JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8'));
  assert.deepEqual(small, fastManifest(full), 'written by this build from the committed manifest');
  assert.deepEqual(Object.keys(small.commands), Object.keys(commands));
  assert.equal(small.version, full.version);
  for (const line of [
    ['issue', 'create', '--title', 'T', '-l', 'a', '--label=b', '--json'],
    ['issue', 'list', '--state', 'open', '--limit', '5'],
    ['issue', 'dep', 'graph'],
    ['sync', '--pull', '--no-daemon'],
    ['issue', 'list', '--state', 'nope'],
    ['issue', 'show', 'abcd', '-q'],
    ['issue', 'show'],
  ]) {
    assert.deepEqual(parseArgv(line, small.commands), parse(line), line.join(' '));
  }
});

test('plain command lines parse like oclif would', () => {
  assert.deepEqual(parse(['issue', 'create', '--title', 'T', '-l', 'a', '--label=b', '--json']), {
    id: 'issue:create',
    args: {},
    flags: { title: 'T', label: ['a', 'b'], json: true },
  });
  assert.deepEqual(parse(['issue', 'show', 'abcd', '-q']), { id: 'issue:show', args: { id: 'abcd' }, flags: { quiet: true } });
  assert.deepEqual(parse(['issue', 'attachment', 'add', 'abcd', 'f.log']), {
    id: 'issue:attachment:add',
    args: { id: 'abcd', file: 'f.log' },
    flags: {},
  });
  assert.deepEqual(parse(['issue', 'dep', 'graph']), { id: 'issue:dep:graph', args: {}, flags: { format: 'dot' } }); // a flag's default
  assert.deepEqual(parse(['issue', 'comment', 'abcd', '--body-file', '-']), {
    id: 'issue:comment',
    args: { id: 'abcd' },
    flags: { 'body-file': '-' },
  });
});

test('anything unusual is left to oclif', () => {
  for (const line of [
    ['issue', 'list', '--help'],
    ['issue', 'list', '--bogus'],
    ['issue', 'list', '--state', 'done'],
    ['issue', 'show'],
    ['issue', 'show', 'a', 'b'],
    ['issue', 'create'],
    ['issue', 'create', '--title'],
    ['issue', 'create', '--title', 'a', '--title', 'b'],
    ['issue', 'list', '--json=true'],
    ['issue', 'list', '-xyz'],
    ['issue'],
    ['nope'],
    ['--version'],
  ]) {
    assert.equal(parse(line), null, line.join(' '));
  }
});

test('a value given to a switch (--json=true) is invalid_args naming the flag, wherever the line is read', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'x'])).issue_id;
  for (const [line, flag, value] of [
    [['--json=off', 'issue', 'list'], 'json', 'off'], // hoisted, then left to oclif by the fast path
    [['issue', 'list', '--no-daemon=yes'], 'no-daemon', 'yes'],
    [['issue', 'attachment', 'add', id, '--quiet=false'], 'quiet', 'false'], // oclif would take `false` for the file
    [['issue', 'list', '--no-pager='], 'no-pager', ''],
    [['watch', '--json=1'], 'json', '1'], // a command of its own parse, not a GritCommand
    [['--json=false', '--version'], 'json', 'false'], // the fast path's own --version line
  ] as const) {
    const r = grit(repo, [...line]);
    assert.equal(r.code, 2, `${line.join(' ')}: ${r.stdout}${r.stderr}`);
    const message = `--${flag} is a switch and takes no value (got --${flag}=${value})`;
    // --json=1 wanted JSON: the refusal is the envelope it asked for.
    if (flag === 'json' && value === '1') assert.deepEqual([r.json?.error?.message, r.stderr], [message, ''], line.join(' '));
    else assert.equal(r.stderr, `error: ${message}\nhint: give --${flag} alone to turn it on, or leave it out\n`, line.join(' '));
  }
  for (const line of [['issue', 'list', '--json=true'], ['--json=yes', 'issue', 'list'], ['issue', 'create', '--json=TRUE'], ['--json=1', '--version'], ['db', '--json=true']]) {
    const r = grit(repo, line);
    assert.equal(r.code, 2, line.join(' '));
    assert.equal(r.json?.error?.code, 'invalid_args', `${line.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr, '');
  }
  // One that says JSON was not wanted is answered as text.
  for (const value of ['false', '0', 'no', 'off', '']) {
    const r = grit(repo, ['issue', 'list', `--json=${value}`]);
    assert.deepEqual([r.code, r.stdout], [2, ''], value);
    assert.match(r.stderr, /^error: --json is a switch and takes no value/);
  }
  const json = grit(repo, ['issue', 'list', '--json', '--no-daemon=1']);
  assert.equal(json.json.error.code, 'invalid_args');
  assert.deepEqual(json.json.error.details, { flag: '--no-daemon', value: '1', suggestion: 'give --no-daemon alone to turn it on, or leave it out' });
});

test('help and command-line errors still come from oclif', () => {
  const repo = tempRepo();
  const help = grit(repo, ['issue', 'create', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /USAGE\n\s+\$ grit issue create -t <value>/);
  const missing = grit(repo, ['issue', 'create', '--json']);
  assert.equal(missing.code, 2);
  assert.equal(missing.json.error.code, 'invalid_args');
  // watch never pages: --no-pager is taken (an alias may put it on every line) but not offered.
  assert.doesNotMatch(grit(repo, ['watch', '--help']).stdout, /no-pager/);
  const watching = grit(repo, ['--no-pager', 'watch', '--kind', 'bogus']);
  assert.equal(watching.code, 2);
  assert.match(watching.stderr, /--kind/);
  assert.doesNotMatch(watching.stderr, /no-pager/);
});

test('grit --help and a topic\'s help list each command by one short line, the rest in its own help', () => {
  const repo = tempRepo();
  // An entry is the command's line and its wrapped continuation (indented past the names).
  const entries = (help: string) => {
    const section = help.split(/^COMMANDS\n/m)[1].split(/\n\n/)[0].split('\n');
    const out: string[][] = [];
    for (const line of section) (/^ {2}\S/.test(line) ? out.push([line]) : out.at(-1)!.push(line));
    return out;
  };
  // `init` took five lines of `grit --help` (what it reports of AGENTS.md), `snapshot` and `watch` four.
  for (const topic of [[], ['issue', 'dep'], ['actor']]) {
    for (const entry of entries(grit(repo, [...topic, '--help']).stdout)) assert.ok(entry.length <= 2, entry.join('\n'));
  }
  const init = grit(repo, ['init', '--help']).stdout;
  assert.match(init, /^Set grit up in this repository: a default actor, the repo config and an AGENTS\.md section\n/);
  assert.match(init.replace(/\s+/g, ' '), /DESCRIPTION .*It says what it did to AGENTS\.md \(agents_md\): created, appended/);
});

test('--version prints what oclif prints, without loading it', async () => {
  const fast = grit(tempRepo(), ['--version']);
  assert.equal(fast.code, 0);
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  assert.equal(fast.stdout, `grit/${version} ${process.platform}-${process.arch} node-${process.version}\n`);
  const { Config } = await import('@oclif/core');
  const config = await Config.load(REPO_ROOT);
  assert.equal(fast.stdout, `${config.userAgent}\n`);
  // An agent told to pass --json everywhere gets the envelope.
  const json = grit(tempRepo(), ['--version', '--json']);
  assert.deepEqual(JSON.parse(json.stdout), { schema_version: 1, ok: true, data: { version, user_agent: config.userAgent } });
  // The global flags, before it or after it, as with any command: known, never "unknown flag".
  assert.deepEqual(grit(tempRepo(), ['--json', '--version']).json, json.json);
  assert.deepEqual(grit(tempRepo(), ['--no-daemon', '--no-pager', '--version']), fast);
  // -q silences chatter, not the answer asked for.
  assert.deepEqual(grit(tempRepo(), ['-q', '--version']), fast);
  assert.deepEqual(grit(tempRepo(), ['--version', '--quiet']), fast);
  // Nothing else: an argument after it is refused, not ignored.
  for (const [line, extra] of [[['--version', 'extra'], 'extra'], [['--actor', 'x', '--version'], '--actor x'], [['--version', '--version'], '--version']] as const) {
    const r = grit(tempRepo(), [...line, '--json']);
    assert.equal(r.code, 2, line.join(' '));
    assert.equal(r.json.error.message, `\`grit --version\` takes no arguments: ${extra}`);
  }
});

/**
 * `grit <args>` in a node that reports, on stderr's last line, every CommonJS file it loaded and
 * node's own modules it started (`process.moduleLoadList`).
 */
function gritLoading(cwd: string, args: string[], env: NodeJS.ProcessEnv): { code: number | null; stdout: string; loaded: string[]; internal: string[] } {
  const probe = `process.on('exit', () => process.stderr.write('\\n' + JSON.stringify([Object.keys(require.cache), process.moduleLoadList]) + '\\n'));
process.argv.splice(1, 0, ${JSON.stringify(GRIT_BIN)});
require(${JSON.stringify(GRIT_BIN)});`;
  const r = spawnSync(process.execPath, ['-e', probe, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  const [loaded, internal] = JSON.parse(r.stderr.trimEnd().split('\n').at(-1)!);
  return { code: r.status, stdout: r.stdout, loaded, internal };
}

test('a command run locally starts no ES module loader, and loads no more of its native addons\' loaders than it needs', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const env = { GRIT_NO_DAEMON: '1' };
  for (const args of [['issue', 'create', '--title', 'signed and hashed', '--json'], ['issue', 'list', '--json']]) {
    const r = gritLoading(repo, args, env);
    assert.equal(r.code, 0, args.join(' '));
    assert.ok(r.loaded.some((f) => f.endsWith('run.bundle.cjs')), 'ran locally');
    // Node starts these only to run an ES module (a `require` of one included).
    assert.deepEqual(r.internal.filter((m) => /esm\/(module_job|translators)$/.test(m)), [], `grit ${args.join(' ')}`);
    // lmdb's addon found without asking detect-libc, msgpackr's optional one not looked for (src/core/native-addons-env.ts).
    assert.ok(r.loaded.some((f) => f.includes('node_modules/lmdb/')), 'lmdb loaded');
    assert.deepEqual(r.loaded.filter((f) => /node_modules\/(detect-libc|msgpackr-extract)\//.test(f)), [], `grit ${args.join(' ')}`);
  }
});

test('a local read loads none of the built-ins only writes, pulls and helper threads use', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'one'])).issue_id;
  const env = { GRIT_NO_DAEMON: '1' };
  // `net` is not among them: node loads it for standard streams that are pipes, as here.
  const lazy = ['child_process', 'worker_threads', 'zlib', 'fs/promises'];
  for (const args of [['issue', 'list', '--json'], ['issue', 'show', id, '--json']]) {
    const r = gritLoading(repo, args, env);
    assert.equal(r.code, 0, args.join(' '));
    assert.ok(r.loaded.some((f) => f.endsWith('run.bundle.cjs')), 'ran locally');
    assert.deepEqual(lazy.filter((m) => r.internal.includes(`NativeModule ${m}`)), [], `grit ${args.join(' ')} loaded`);
  }
  // The probe sees them when a command uses them: a write packs its objects with zlib.
  const created = gritLoading(repo, ['issue', 'create', '--title', 'two', '--json'], env);
  assert.ok(created.internal.includes('NativeModule zlib'), 'issue create loads zlib');
});

test('daemon status and stop need only the start-up bundle: not the local one, nor lmdb', async () => {
  const daemon = await startDaemon();
  try {
    const dir = tempDir();
    for (const [args, out] of [
      [['daemon', 'status'], /^running/],
      [['daemon', 'stop'], /^stopped daemon pid/],
      [['daemon', 'status'], /^no daemon running/],
    ] as const) {
      const r = gritLoading(dir, [...args], daemon.env);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, out);
      const heavy = r.loaded.filter((f) => /run\.bundle\.cjs$|node_modules\/(lmdb|msgpackr|cbor-x)\//.test(f));
      assert.deepEqual(heavy, [], `grit ${args.join(' ')} loaded`);
      assert.ok(r.loaded.some((f) => f.endsWith('fast.bundle.cjs')), 'the probe sees what is loaded');
    }
  } finally {
    await daemon.stop();
  }
});

test('a reader that closes the pipe early ends the output quietly, not with a stack trace', async () => {
  const repo = tempRepo();
  await gritLib(repo, 'Init');
  // A body bigger than a pipe's buffer, so the write is still going when the reader leaves.
  const big = 'x'.repeat(1 << 20);
  const created = grit(repo, ['issue', 'create', '--title', 'big', '--body-file', '-', '--json'], { input: big });
  assert.equal(created.code, 0, created.stderr);
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${GRIT_BIN}" issue show ${created.json.data.issue_id} --json | head -c 10`], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GRIT_NO_DAEMON: '1' },
  });
  assert.equal(r.stdout, '{"schema_v');
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
});

/** `bin args` with stdout or stderr on /dev/full, where every write fails with ENOSPC. */
function onFullDevice(stream: 'stdout' | 'stderr', cwd: string, bin: string, args: string[], env: NodeJS.ProcessEnv = { GRIT_NO_DAEMON: '1' }) {
  const full = openSync('/dev/full', 'w');
  try {
    const stdio = stream === 'stdout' ? (['ignore', full, 'pipe'] as const) : (['ignore', 'pipe', full] as const);
    return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, stdio: [...stdio] });
  } finally {
    closeSync(full);
  }
}

test('a failed write on stdout (a full disk) is one line on stderr and status 1, or the command\'s own failure status', { skip: !existsSync('/dev/full') }, async () => {
  const repo = tempRepo();
  await gritLib(repo, 'Init');
  const lost = 'grit: cannot write standard output: ENOSPC: no space left on device, write\n';
  for (const [args, code] of [
    [['issue', 'list', '--json'], 1],
    [['issue', 'create', '--title', 'written, then its output lost'], 1],
    [['export', '-o', '-'], 1],
    [['--version'], 1],
    [['--help'], 1], // oclif's own output
    [['issue', 'show', 'ffff', '--json'], 3], // not_found keeps its status
  ] as const) {
    const r = onFullDevice('stdout', repo, GRIT_BIN, [...args]);
    assert.equal(r.stderr, lost, args.join(' '));
    assert.equal(r.status, code, args.join(' '));
  }
  // Served by the daemon, the client prints the same way.
  const daemon = await startDaemon();
  try {
    const r = onFullDevice('stdout', repo, GRIT_BIN, ['issue', 'list', '--json'], daemon.env);
    assert.equal(r.stderr, lost);
    assert.equal(r.status, 1);
  } finally {
    await daemon.stop();
  }
  for (const args of [['--version'], ['--help']]) {
    const r = onFullDevice('stdout', repo, DAEMON_BIN, args);
    assert.equal(r.stderr, 'grit-daemon: cannot write standard output: ENOSPC: no space left on device, write\n', args.join(' '));
    assert.equal(r.status, 1, args.join(' '));
  }
});

test('a failed write on stderr leaves the exit status as it was', { skip: !existsSync('/dev/full') }, async () => {
  const repo = tempRepo();
  await gritLib(repo, 'Init');
  for (const [args, code] of [
    [['issue', 'show', 'ffff'], 3],
    [['issue', 'list', '--state', 'done'], 2], // a parse error, from oclif
  ] as const) {
    const r = onFullDevice('stderr', repo, GRIT_BIN, [...args]);
    assert.equal(r.stdout, '', args.join(' '));
    assert.equal(r.status, code, args.join(' '));
  }
  assert.equal(onFullDevice('stderr', repo, DAEMON_BIN, ['--bogus']).status, 2);
});

test('a topic without its command, under --json: one invalid_args object naming the commands, not help text', () => {
  const repo = tempRepo();
  for (const [argv, message] of [
    [['db', '--json'], 'grit db needs a command: check, stats, verify'],
    [['issue', 'dep', '--json'], 'grit issue dep needs a command: add, graph, list, remove, topo'],
  ] as const) {
    const r = grit(repo, [...argv]);
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.json.error.code, 'invalid_args');
    assert.equal(r.json.error.message, message);
  }
  const bare = grit(repo, ['--json']);
  assert.equal(bare.code, 2);
  assert.match(bare.json.error.message, /^grit needs a command: actor, .*issue, /);
  // Without --json, oclif's help is the answer for a topic and for a bare `grit` alike (exit 0);
  // global flags alone were given for a command, and are an error.
  for (const [line, help] of [[['db'], /^Inspect and check the local store/], [['issue'], /^Create, change and read issues/i], [[], /^Repo-local, git-backed issue/]] as const) {
    const r = grit(repo, [...line]);
    assert.deepEqual([r.code, r.stderr], [0, ''], line.join(' '));
    assert.match(r.stdout, help);
  }
  for (const line of [['--no-daemon'], ['-q'], ['--actor', 'x', '--no-pager']]) {
    const r = grit(repo, line);
    assert.equal(r.code, 2, line.join(' '));
    assert.match(r.stderr, /^error: grit needs a command: actor, .*\nhint: run `grit --help` to see what each does\n$/);
  }
});

test('global flags before the command are taken as if after it, on the fast path and by oclif', async () => {
  const hoist = (line: string[]) => hoistGlobalFlags(line, commands);
  assert.deepEqual(hoist(['--json', 'issue', 'list']), ['issue', 'list', '--json']);
  assert.deepEqual(hoist(['--actor', 'ab12', '-q', '--data-dir=/d', 'issue', 'create', '--title', 't', '--', '-x']),
    ['issue', 'create', '--actor', 'ab12', '-q', '--data-dir=/d', '--title', 't', '--', '-x']);
  // Among the command's words alike, at every depth; a value that is also a command's word
  // (`--actor create`) stays the flag's.
  assert.deepEqual(hoist(['issue', '--json', 'dep', '-q', 'add', 'ab12', '--target', 'cd34']), ['issue', 'dep', 'add', '--json', '-q', 'ab12', '--target', 'cd34']);
  assert.deepEqual(hoist(['issue', '--actor', 'create', 'close', 'ab12']), ['issue', 'close', '--actor', 'create', 'ab12']);
  assert.deepEqual(hoist(['--json', 'snapshot', '--no-daemon', 'gc']), ['snapshot', 'gc', '--json', '--no-daemon']);
  // Words that name no command of grit's (oclif's, a plugin's, a typo): after all of them.
  assert.deepEqual(hoist(['plugins', '--json', 'link', '/d']), ['plugins', 'link', '/d', '--json']);
  assert.deepEqual(hoist(['issue', '--json', 'bogus', 'ab12']), ['issue', 'bogus', 'ab12', '--json']);
  // Nothing to put them after, or not a global flag: left for the parser and the hook to explain.
  for (const line of [['--json'], ['--json', '--version'], ['--actor'], ['--frob', 'issue', 'list'], ['issue', 'list', '--json'], ['issue', 'dep', '--json'], ['issue', '--title', 'x', 'create']]) {
    assert.equal(hoist(line), line);
  }

  const repo = tempRepo();
  await gritInit(repo);
  const created = grit(repo, ['--no-daemon', '-q', '--json', 'issue', 'create', '--title', 'first']);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.json.data.issue_id.length, 32);
  const listed = grit(repo, ['--json', 'issue', 'list']);
  assert.equal(listed.json.data.total, 1);
  // oclif's path (a missing argument) and the hook (an unknown command) see --json too.
  assert.equal(grit(repo, ['--json', 'issue', 'show']).json.error.code, 'invalid_args');
  assert.match(grit(repo, ['--json', 'issue', 'bogus']).json.error.message, /^unknown command: grit issue bogus$/);
});

test('global flags between the words of a command: the command runs, through the daemon and without it', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const daemon = await startDaemon();
  try {
    for (const [how, env] of [['daemon', daemon.env], ['no daemon', {}]] as const) {
      const run = (line: string[]) => grit(repo, line, { env });
      const created = run(['issue', '--json', 'create', '--title', `two ${how}`]);
      assert.equal(created.code, 0, created.stdout + created.stderr);
      assert.equal(created.stdout.trim().split('\n').length, 1, 'one envelope');
      const id = created.json.data.issue_id;
      assert.deepEqual(run(['issue', '--no-daemon', 'comment', id, '--body', 'hi']).code, 0);
      assert.deepEqual(run(['issue', 'label', '-q', 'add', id, '--label', 'bug']), { code: 0, stdout: '', stderr: '', json: null });
      assert.equal(run(['issue', '--actor', 'nobody', 'close', id]).code, 3, 'the --actor value is the actor, not a command word');
      const closed = run(['issue', '-q', '--json', 'close', id]);
      assert.deepEqual([closed.code, closed.json.data.state], [0, 'closed']);
      const shown = gritOk(repo, ['issue', 'show', id], { env }).issue;
      assert.deepEqual([shown.state, shown.comments.length, shown.labels], ['closed', 1, ['bug']]);
      const topo = run(['issue', 'dep', '--json', 'topo']);
      assert.equal(topo.code, 0);
      assert.ok(topo.json.data.order.some((i: any) => i.issue_id === id));
      assert.equal(run(['lock', '--json', 'status']).json.data.conflicts.length, 0);
    }
  } finally {
    await daemon.stop();
  }
  // A topic alone still gets its help.
  for (const line of [['issue'], ['issue', 'dep']]) {
    const r = grit(repo, line);
    assert.deepEqual([r.code, r.stderr], [0, ''], line.join(' '));
    assert.match(r.stdout, /^USAGE\n {2}\$ grit issue (dep )?COMMAND$/m);
  }
});

test("a command's own flag among the words of its name: invalid_args with the line in order, never the topic's help", async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'one'])).issue_id;
  const head = git(repo, 'rev-parse', 'refs/grit/wal');
  for (const [line, flag, command, fixed] of [
    [['issue', '--title', 'x', 'create'], '--title', 'issue create', 'issue create --title x'],
    // The value of --title is `list`, not the command: `create` comes later.
    [['issue', '--title', 'list', 'create'], '--title', 'issue create', 'issue create --title list'],
    [['issue', '--title', 'a b', '-q', 'create'], '--title', 'issue create', 'issue create --title "a b" -q'],
    [['issue', 'dep', '--type', 'blocks', 'add', id, '--target', id], '--type', 'issue dep add', `issue dep add --type blocks ${id} --target ${id}`],
    [['issue', '--label', 'bug', 'label', 'add', id], '--label', 'issue label add', `issue label add --label bug ${id}`],
    [['issue', '--format', 'ids', 'list'], '--format', 'issue list', 'issue list --format ids'],
    [['lock', '--resource', 'repo:x', 'acquire'], '--resource', 'lock acquire', 'lock acquire --resource repo:x'],
    [['context', '--limit', '5', 'query', 'q'], '--limit', 'context query', 'context query --limit 5 q'],
    [['daemon', '--idle-timeout', '5', 'start'], '--idle-timeout', 'daemon start', 'daemon start --idle-timeout 5'],
    [['snapshot', '--keep', '3', 'gc'], '--keep', 'snapshot gc', 'snapshot gc --keep 3'],
    [['actor', '--label', 'bot', 'init'], '--label', 'actor init', 'actor init --label bot'],
    [['--title', 'x', 'issue', 'create'], '--title', 'issue create', 'issue create --title x'],
  ] as const) {
    const human = grit(repo, [...line]);
    assert.deepEqual([human.code, human.stdout], [2, ''], line.join(' '));
    assert.equal(human.stderr, `error: ${flag} is given before the command's name ends: \`grit ${command}\` takes its flags after its name\nhint: run \`grit ${fixed}\`\n`);
    const json = grit(repo, [...line, '--json']);
    assert.equal(json.code, 2);
    assert.deepEqual(json.json.error, {
      code: 'invalid_args',
      message: human.stderr.split('\n')[0].slice('error: '.length),
      details: { flag, command, suggestion: `run \`grit ${fixed} --json\`` },
    });
  }
  // No later word completes a command the flag belongs to: the topic's commands, named.
  for (const [line, message] of [
    [['issue', '--bogus'], /^grit issue needs a command before --bogus: assignee, .*, update$/],
    [['issue', '--bogus', 'create'], /^grit issue needs a command before --bogus: /],
    [['db', '--bogus', 'stats'], /^grit db needs a command before --bogus: check, stats, verify$/],
    [['issue', '--', 'list'], /^grit issue needs a command before --: /],
  ] as const) {
    const r = grit(repo, ['--json', ...line]);
    assert.deepEqual([r.code, r.json.error.code], [2, 'invalid_args'], line.join(' '));
    assert.match(r.json.error.message, message);
    assert.equal(grit(repo, [...line]).code, 2);
  }
  assert.equal(git(repo, 'rev-parse', 'refs/grit/wal'), head, 'nothing was written');
});
