/**
 * The package as users get it: `npm pack`, then `npm install -g` of the tarball into a temp
 * prefix, then the installed `grit` and `grit-daemon` run from a repository elsewhere. Needs the
 * npm registry (or a warm npm cache) for the dependencies; GRIT_SKIP_PACK=1 skips it. Also the
 * install steps of docs/getting-started.md, run as written on a fresh clone.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir, tempRepo } from '../helpers/repo.js';

const skip = process.env.GRIT_SKIP_PACK === '1' ? 'GRIT_SKIP_PACK=1: not packing and installing the package' : false;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { timeout: number }) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('npm package', { skip, timeout: 600_000 }, () => {
  let files: string[] = [];
  let tarball = '';
  let prefix = '';
  let env: NodeJS.ProcessEnv = {};

  before(() => {
    const out = tempDir('grit-pack-');
    // The suite runs on a fresh build, so packing skips `prepack` (which would build again).
    const pack = run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', out], { cwd: REPO_ROOT, timeout: 120_000 });
    assert.equal(pack.code, 0, pack.stderr);
    const [info] = JSON.parse(pack.stdout);
    files = info.files.map((f: { path: string }) => f.path);
    tarball = join(out, info.filename);
    prefix = join(out, 'prefix');
    const install = run(
      NPM,
      ['install', '-g', '--prefix', prefix, tarball, '--no-audit', '--no-fund', '--prefer-offline'],
      { cwd: out, timeout: 480_000 },
    );
    assert.equal(install.code, 0, `npm install -g failed:\n${install.stderr}`);
    env = { ...process.env, PATH: `${join(prefix, 'bin')}${delimiter}${process.env.PATH}`, GRIT_NO_DAEMON: '1', NO_COLOR: '1' };
    delete env.GRIT_HOME;
  });

  it('ships the CLI, the compiled sources, the manifest, the licence and docs, and no tests', () => {
    for (const need of ['bin/grit.cjs', 'bin/grit-daemon.js', 'oclif.manifest.json', 'package.json', 'README.md', 'LICENSE',
      'dist/src/cli/fast.js', 'dist/src/cli/commands/issue/list.js', 'dist/src/commands/registry.js',
      'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/mcp/server.js']) {
      assert.ok(files.includes(need), `${need} is in the package`);
    }
    const own = files.filter((f) => !f.startsWith('node_modules/'));
    const strays = own.filter((f) => /^(test|dist\/test|src|scripts|bench)\//.test(f) || /\.test\.|\.ts$/.test(f.replace(/\.d\.ts$/, '')));
    assert.deepEqual(strays, []);
  });

  it('bundles its oclif plugins, with stand-ins for the npm and yarn plugin-plugins pins', () => {
    for (const p of ['@oclif/core', '@oclif/plugin-help', '@oclif/plugin-plugins', '@oclif/plugin-autocomplete']) {
      assert.ok(files.includes(`node_modules/${p}/package.json`), `${p} is bundled`);
    }
    assert.deepEqual(files.filter((f) => /^node_modules\/(npm|yarn)\//.test(f)), ['node_modules/npm/package.json', 'node_modules/yarn/package.json']);
  });

  it('installs grit and grit-daemon on the PATH', () => {
    assert.ok(existsSync(join(prefix, 'bin', 'grit')));
    assert.ok(existsSync(join(prefix, 'bin', 'grit-daemon')));
    const which = run('sh', ['-c', 'command -v grit'], { env, timeout: 10_000 });
    assert.equal(which.stdout.trim(), join(prefix, 'bin', 'grit'));
  });

  it('runs grit from a repository elsewhere', () => {
    const repo = tempRepo();
    const grit = (...args: string[]) => run('grit', args, { cwd: repo, env, timeout: 60_000 });
    const version = grit('--version');
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^grit\/\d+\.\d+\.\d+ /);
    assert.equal(grit('init', '--no-agents-md', '--json').code, 0);
    const created = JSON.parse(grit('issue', 'create', '--title', 'installed', '--json').stdout);
    assert.equal(created.ok, true);
    const listed = JSON.parse(grit('issue', 'list', '--json').stdout);
    assert.deepEqual(listed.data.issues.map((i: { title: string }) => i.title), ['installed']);
    const help = grit('--help');
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /issue\s+Create, change and read issues/);
  });

  it('loads its oclif plugins from the installed package', () => {
    const home = tempDir('grit-oclif-');
    const xdg = { ...env, XDG_DATA_HOME: join(home, 'data'), XDG_CACHE_HOME: join(home, 'cache'), XDG_CONFIG_HOME: join(home, 'config') };
    const core = run('grit', ['plugins', '--core'], { cwd: home, env: xdg, timeout: 60_000 });
    assert.equal(core.code, 0, core.stderr);
    for (const p of ['@oclif/plugin-help', '@oclif/plugin-plugins', '@oclif/plugin-autocomplete']) assert.match(core.stdout, new RegExp(p));

    // plugin-plugins runs the user's npm (its own pin is a stand-in): a plugin tarball without
    // dependencies installs without the registry.
    const root = tempDir('grit-plugin-hello-');
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'grit-plugin-hello', version: '1.0.0', type: 'module', oclif: { commands: './commands' } }));
    mkdirSync(join(root, 'commands'));
    writeFileSync(join(root, 'commands', 'hello.js'), "export default class Hello { static run() { process.stdout.write('hello\\n'); } }\n");
    const pack = run(NPM, ['pack', '--json', '--pack-destination', home], { cwd: root, timeout: 60_000 });
    assert.equal(pack.code, 0, pack.stderr);
    const add = run('grit', ['plugins', 'install', `file:${join(home, JSON.parse(pack.stdout)[0].filename)}`], { cwd: home, env: xdg, timeout: 120_000 });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.match(run('grit', ['plugins'], { cwd: home, env: xdg, timeout: 60_000 }).stdout, /grit-plugin-hello 1\.0\.0/);
  });

  it('ships the example plugin docs/plugins.md links, and it runs from the installed package', () => {
    const example = join(prefix, 'lib', 'node_modules', 'grit', 'examples', 'grit-plugin-stale');
    assert.ok(existsSync(join(example, 'src', 'commands', 'stale.js')), example);
    const home = tempDir('grit-oclif-');
    const xdg = { ...env, XDG_DATA_HOME: join(home, 'data'), XDG_CACHE_HOME: join(home, 'cache'), XDG_CONFIG_HOME: join(home, 'config') };
    const repo = tempRepo();
    const grit = (...args: string[]) => run('grit', args, { cwd: repo, env: xdg, timeout: 60_000 });
    assert.equal(grit('init', '--no-agents-md', '--json').code, 0);
    const link = grit('plugins', 'link', example, '--no-install');
    assert.equal(link.code, 0, link.stderr);
    assert.equal(grit('issue', 'create', '--title', 'waiting', '--json').code, 0);
    const stale = grit('stale', '--days', '0', '--json');
    assert.equal(stale.code, 0, stale.stderr);
    assert.deepEqual(JSON.parse(stale.stdout).data.issues.map((i: { title: string }) => i.title), ['waiting']);
  });

  it('installs into a project as a dependency without an install script of its own', () => {
    const project = tempDir('grit-project-');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-grit', version: '1.0.0', private: true, scripts: { 'which-npm': 'command -v npm' } }));
    const install = run(NPM, ['install', '--omit=dev', tarball, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, timeout: 480_000 });
    assert.equal(install.code, 0, `npm install failed:\n${install.stderr}`);
    // npm 11 names every package with an install script it did not run; grit's build is not one.
    assert.doesNotMatch(install.stderr, /\bgrit@/);
    // The project's scripts run with node_modules/.bin first on the PATH: grit puts itself there,
    // not an npm or yarn of its own in front of the user's.
    const bins = readdirSync(join(project, 'node_modules', '.bin'));
    assert.ok(bins.includes('grit') && bins.includes('grit-daemon'), bins.join(' '));
    assert.deepEqual(bins.filter((b) => /^(npm|npx|yarn|yarnpkg|pnpm|semver|ejs|jake)$/.test(b)), []);
    const which = run(NPM, ['run', '-s', 'which-npm'], { cwd: project, env, timeout: 60_000 });
    assert.equal(which.code, 0, which.stderr);
    assert.ok(!which.stdout.startsWith(project), `npm in the project's scripts is ${which.stdout}`);
  });

  it('runs grit-daemon', () => {
    const daemon = run('grit-daemon', ['--help'], { cwd: tempDir(), env, timeout: 30_000 });
    const out = daemon.stdout + daemon.stderr;
    assert.doesNotMatch(out, /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
    assert.equal(daemon.code, 0, out);
    assert.match(out, /usage: grit-daemon/);
  });
});

describe('getting-started.md install steps', { skip, timeout: 900_000 }, () => {
  // A fresh clone has no node_modules and no build: what a reader has. Its own copy of the doc is
  // run, so the steps and the checkout they install agree (HEAD: commit what you test).
  it('work as written on a fresh clone (a throwaway prefix stands for the global one)', () => {
    const checkout = join(tempDir('grit-fresh-'), 'grit');
    assert.equal(run('git', ['clone', '-q', REPO_ROOT, checkout], { timeout: 120_000 }).code, 0);
    const doc = readFileSync(join(checkout, 'docs', 'getting-started.md'), 'utf8');
    const block = /^## Install\n[\s\S]*?```sh\n([\s\S]*?)```/m.exec(doc);
    assert.ok(block, 'the Install section has a sh block');
    const lines = block[1].split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
    assert.ok(lines.some((l) => l.startsWith('npm install -g')), lines.join('\n'));
    const prefix = tempDir('grit-prefix-');
    const env = {
      ...process.env,
      npm_config_prefix: prefix,
      npm_config_prefer_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      PATH: `${join(prefix, 'bin')}${delimiter}${process.env.PATH}`,
      GRIT_NO_DAEMON: '1',
    };
    const script = ['set -e', ...lines.map((l) => l.replace('/path/to/grit', checkout))].join('\n');
    const r = run('sh', ['-c', script], { cwd: tempDir(), env, timeout: 840_000 });
    assert.equal(r.code, 0, `${script}\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^grit\/\d+\.\d+\.\d+ /m);
    assert.ok(existsSync(join(prefix, 'bin', 'grit-daemon')));
  });
});
