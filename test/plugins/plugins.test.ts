/**
 * oclif plugins: plugin-plugins, plugin-autocomplete and plugin-help are wired in, their commands
 * go to oclif while grit's own plain command lines keep the fast path, and the example plugin
 * (examples/grit-plugin-stale) links and runs. oclif's data, cache and config dirs are temporary
 * (XDG_*), so nothing of the user's is touched.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgv } from '../../src/cli/fast.js';
import { untilPast } from '../helpers/wait.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { grit, gritOk, tempDir, tempRepo, gritInit, gritSetup } from '../helpers/repo.js';

/** How much younger `stale`'s fresh issue is than its old one: longer than one `stale` run, however loaded the host. */
const FRESH_GAP_MS = 10_000;

const EXAMPLE = join(REPO_ROOT, 'examples', 'grit-plugin-stale');
const commands = JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')).commands;

/**
 * A linked plugin in a temporary directory: `files` under its root, its package.json from `oclif`.
 * It finds @oclif/core in grit's node_modules, as a plugin developed next to grit does.
 */
function plugin(name: string, oclif: Record<string, unknown>, files: Record<string, string>): string {
  const root = tempDir(`grit-plugin-${name}-`);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: `grit-plugin-${name}`, version: '0.0.1', type: 'module', oclif: { commands: './src/commands', ...oclif } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  mkdirSync(join(root, 'node_modules', '@oclif'), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules', '@oclif', 'core'), join(root, 'node_modules', '@oclif', 'core'));
  return root;
}

function link(repo: string, env: NodeJS.ProcessEnv, root: string): void {
  const r = grit(repo, ['plugins', 'link', root, '--no-install'], { env });
  assert.equal(r.code, 0, r.stderr);
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What a command line prints and exits with. */
const outcome = (r: { code: number; stdout: string; stderr: string }) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

function oclifDirs(): NodeJS.ProcessEnv {
  const home = tempDir('grit-oclif-');
  return {
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_CONFIG_HOME: join(home, 'config'),
    GRIT_DATA_DIR: undefined,
    GRIT_CACHE_DIR: undefined,
    GRIT_CONFIG_DIR: undefined,
  };
}

describe('oclif plugins', () => {
  it('leaves plugin commands and help to oclif, and plain command lines to the fast path', () => {
    for (const argv of [['plugins'], ['plugins', 'link', '.'], ['autocomplete'], ['autocomplete', 'bash'], ['help', 'issue', 'list'], ['stale', '--days', '3'], ['mcp']]) {
      assert.equal(parseArgv(argv, commands), null, argv.join(' '));
    }
    assert.equal(parseArgv(['issue', 'list', '--state', 'open'], commands)?.id, 'issue:list');
    assert.equal(parseArgv(['issue', 'create', '--title', 'x', '--json'], commands)?.id, 'issue:create');
  });

  it('lists plugins and builds completions in the temporary oclif dirs', () => {
    const env = oclifDirs();
    const cwd = tempDir();
    const none = grit(cwd, ['plugins'], { env });
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /No plugins installed/);
    const core = grit(cwd, ['plugins', '--core'], { env });
    for (const p of ['@oclif/plugin-help', '@oclif/plugin-plugins', '@oclif/plugin-autocomplete']) assert.match(core.stdout, new RegExp(p));

    const setup = grit(cwd, ['autocomplete', 'bash'], { env });
    assert.equal(setup.code, 0, setup.stderr);
    assert.match(setup.stdout, /grit autocomplete script bash/);
    const bash = join(env.XDG_CACHE_HOME!, 'grit', 'autocomplete', 'functions', 'bash', 'grit.bash');
    assert.ok(existsSync(bash), 'bash completion written under XDG_CACHE_HOME');
    assert.match(readFileSync(bash, 'utf8'), /issue:list [^\n]*--state/);
    // What bash offers after `grit <words>`: each command and topic once (oclif's script offered a
    // topic once per command under it, `daemon` three times).
    const offered = (...words: string[]): string[] => {
      const line = `source ${JSON.stringify(bash)}; COMP_WORDS=(grit ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _grit_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = spawnSync('bash', ['--norc', '--noprofile', '-c', line], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean);
    };
    assert.deepEqual(offered('d'), ['daemon', 'db', 'doctor']);
    assert.deepEqual(offered('daemon', ''), ['start', 'status', 'stop']);
    for (const words of [[''], ['issue', ''], ['issue', 'dep', ''], ['plugins', '']]) {
      const all = offered(...words);
      assert.deepEqual(all, [...new Set(all)], `grit ${words.join(' ')}<TAB>: ${all.join(' ')}`);
      assert.ok(all.length > 2, `grit ${words.join(' ')}<TAB>: ${all.join(' ')}`);
    }
    assert.ok(offered('').includes('snapshot') && offered('issue', '').includes('label'));
    const zsh = grit(cwd, ['autocomplete', 'script', 'zsh'], { env });
    assert.match(zsh.stdout, new RegExp(`${env.XDG_CACHE_HOME}/grit/autocomplete/zsh_setup`));
  });

  it('help covers grit and plugin commands', () => {
    const cwd = tempDir();
    const help = grit(cwd, ['help', 'issue', 'list'], { env: oclifDirs() });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /\$ grit issue list/);
    assert.match(help.stdout, /--state=<option>|-s, --state/);
    const top = grit(cwd, ['--help'], { env: oclifDirs() });
    assert.match(top.stdout, /plugins\s/);
    assert.match(top.stdout, /autocomplete\s/);
  });

  it('links the example plugin and runs `grit stale`', async () => {
    const env = oclifDirs();
    const repo = tempRepo();
    await gritInit(repo);
    const link = grit(repo, ['plugins', 'link', EXAMPLE, '--no-install'], { env });
    assert.equal(link.code, 0, link.stderr);
    assert.match(grit(repo, ['plugins'], { env }).stdout, /grit-plugin-stale .*\(link\)/);

    const old = (await gritSetup(repo, ['issue', 'create', '--title', 'old one'])).issue_id;
    const closed = (await gritSetup(repo, ['issue', 'create', '--title', 'old but closed'])).issue_id;
    await gritSetup(repo, ['issue', 'close', closed]);
    const oldTs = () => gritOk(repo, ['issue', 'list']).issues.find((i: any) => i.issue_id === old);
    // The threshold is the old issue's age when this test computes it: the old issue is at the
    // cut-off `stale` computes, and the fresh one stays above it as long as one `stale` run takes
    // less than the gap between the two. That gap is the point of the test, so it is generous: a
    // CLI run with the plugin takes well under a second, and seconds on a loaded 2-core host.
    await untilPast(oldTs().updated_ts + FRESH_GAP_MS);
    await gritSetup(repo, ['issue', 'create', '--title', 'fresh one']);
    const summary = oldTs();
    const days = (Date.now() - summary.updated_ts) / 86_400_000;
    const stale = grit(repo, ['stale', '--days', String(days), '--json'], { env });
    assert.equal(stale.code, 0, stale.stderr);
    assert.equal(stale.stderr, '');
    assert.deepEqual(stale.json, { schema_version: 1, ok: true, data: { issues: [summary], total: 1, days } });
    const all = grit(repo, ['stale', '--days', '0'], { env });
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/).pop()), ['old one', 'fresh one']);
    assert.match(grit(repo, ['stale', '--days', '1'], { env }).stdout, /no open issue untouched for 1 days/);

    // Touching the old issue makes it fresh again.
    await gritSetup(repo, ['issue', 'comment', old, '--body', 'still relevant']);
    const touched = grit(repo, ['stale', '--days', String(days), '--json'], { env });
    assert.ok(!touched.json.data.issues.some((i: any) => i.issue_id === old), touched.stdout);

    // grit's conventions for what oclif refuses and for the global flags: the same errors as grit's own commands.
    const sameError = (extra: string[]) => {
      const r = grit(repo, ['stale', ...extra, '--json'], { env });
      assert.equal(r.stderr, '', extra.join(' '));
      // The hints name the command they are about.
      const own = outcome(grit(repo, ['issue', 'list', ...extra, '--json'], { env }));
      assert.deepEqual(outcome(r), { ...own, stdout: own.stdout.replaceAll('grit issue list', 'grit stale') }, extra.join(' '));
      return r;
    };
    assert.equal(sameError(['--bogus']).json.error.code, 'invalid_args');
    assert.equal(sameError(['--label']).code, 2);
    assert.equal(sameError(['--actor', 'nosuch']).json.error.code, 'not_found');
    // --data-dir reaches the plugin's API calls: a data dir holding an actor serves, one holding none is refused as by grit.
    const dataDir = join(tempDir(), 'actor');
    gritOk(repo, ['actor', 'init', '--data-dir', dataDir]);
    assert.equal(grit(repo, ['stale', '--data-dir', dataDir, '--json'], { env }).code, 0);
    assert.equal(sameError(['--data-dir', join(tempDir(), 'none')]).json.error.code, 'invalid_args');
    const noValue = grit(repo, ['stale', '--days', '--json'], { env });
    assert.equal(noValue.code, 2);
    assert.deepEqual(noValue.json.error, {
      code: 'invalid_args',
      message: '--days needs a value',
      details: { flag: '--days', suggestion: 'for example --days "…"; a value that starts with - goes as --days=-… (`grit stale --help` says what it takes)' },
    });
    // Given the command, printError's hints are grit's own: a misspelt flag names the nearest one.
    assert.equal(grit(repo, ['stale', '--dasy', '1', '--json'], { env }).json.error.details.did_you_mean, '--days');
    const human = outcome(grit(repo, ['issue', 'list', '--bogus'], { env }));
    assert.deepEqual(outcome(grit(repo, ['stale', '--bogus'], { env })), { ...human, stderr: human.stderr.replaceAll('grit issue list', 'grit stale') });
    assert.deepEqual(outcome(grit(repo, ['stale', '--days', '0', '--quiet', '--no-daemon'], { env })), { code: 0, stdout: '', stderr: '' });
    const bad = grit(repo, ['stale', '--days', 'soon', '--json'], { env });
    assert.equal(bad.code, 2);
    assert.equal(bad.json.error.code, 'invalid_args');
    assert.match(bad.json.error.details.suggestion, /--days 14/);
    // The envelope grit's own commands print for the same error, suggestion included.
    const nowhere = tempDir();
    const outside = grit(nowhere, ['stale', '--json'], { env });
    assert.equal(outside.code, 5);
    assert.deepEqual(outside.json.error, grit(nowhere, ['issue', 'list', '--json'], { env }).json.error);
    assert.match(outside.json.error.details.suggestion, /git init/);
    assert.match(grit(tempDir(), ['stale'], { env }).stderr, /not a git repository[\s\S]*git init/, 'the hint on a terminal too');

    const unlink = grit(repo, ['plugins', 'unlink', 'grit-plugin-stale'], { env });
    assert.equal(unlink.code, 0, unlink.stderr);
    assert.notEqual(grit(repo, ['stale'], { env }).code, 0);
  });

  it('a noisy or broken plugin changes nothing of what grit\'s own command lines print; its commands load when run', async () => {
    const repo = tempRepo();
    await gritInit(repo);
    const clean = oclifDirs();
    const env = oclifDirs();
    // Output when its modules are imported, and an init hook that prints too.
    const noisy = plugin(
      'noisy',
      { hooks: { init: './src/hooks/init.js' } },
      {
        'src/hooks/init.js': 'export default async function () { console.log("HOOK NOISE"); }\n',
        'src/commands/noisy.js': 'console.log("NOISE FROM PLUGIN"); console.error("NOISE ON STDERR");\nexport default class Noisy { static async run() { console.log("noisy ran"); } }\n',
        // Named after grit's `issue list` and an argument: the words stay grit's.
        'src/commands/issue/list/extra.js': 'export default class Extra { static async run() { console.log("PLUGIN RAN"); } }\n',
        'src/commands/greet.js': [
          'import { Args, Command, Flags } from "@oclif/core";',
          'console.log("NOISE FROM GREET");',
          'export default class Greet extends Command {',
          '  static description = "Greet someone";',
          '  static args = { who: Args.string({ description: "who to greet", required: true }) };',
          '  static flags = { loud: Flags.boolean({ description: "shout it" }) };',
          '  async run() { const { args, flags } = await this.parse(Greet); this.log(flags.loud ? `HELLO ${args.who}` : `hello ${args.who}`); }',
          '}',
        ].join('\n'),
      },
    );
    const boom = plugin('boom', {}, { 'src/commands/boom.js': 'throw new Error("boom");\n' });
    link(repo, env, noisy);
    link(repo, env, boom);

    const lines = [
      ['issue', 'show', '--json'],
      ['issue', 'create', '--json'],
      ['issue', 'lst', '--json'],
      ['issue', 'list', '--bogus', '--json'],
      ['issue', 'list', '--bogus'],
      ['issue', 'show'],
      ['issue', 'lst'],
      ['issue', 'list', '--help'],
      ['help', 'issue', 'list'],
      ['issue', 'list', 'extra', '--json'],
      ['lock', 'acquire', 'repo:x', '--json'],
    ];
    // Without plugins each line prints the same every time: run once.
    const cleanOutcomes = new Map<string, ReturnType<typeof outcome>>();
    const cleanOutcome = (line: string[]) => cleanOutcomes.get(line.join(' ')) ?? cleanOutcomes.set(line.join(' '), outcome(grit(repo, line, { env: clean }))).get(line.join(' '));
    const same = (some = lines) => {
      for (const line of some) assert.deepEqual(outcome(grit(repo, line, { env })), cleanOutcome(line), line.join(' '));
    };
    same();
    // Words after a grit command's name are its arguments, for its help too.
    for (const line of [['issue', 'list', 'extra', '--help'], ['help', 'issue', 'list', 'extra']]) {
      assert.deepEqual(outcome(grit(repo, line, { env })), cleanOutcome(['issue', 'list', '--help']), line.join(' '));
    }

    // The plugins' own commands: imported when run, with their hooks, arguments and help.
    const ran = grit(repo, ['noisy'], { env });
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, 'HOOK NOISE\nNOISE FROM PLUGIN\nnoisy ran\n');
    assert.deepEqual(outcome(grit(repo, ['greet', 'bob', '--loud'], { env })), { code: 0, stdout: 'HOOK NOISE\nNOISE FROM GREET\nHELLO bob\n', stderr: '' });
    const help = grit(repo, ['greet', '--help'], { env });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Greet someone[\s\S]*\$ grit greet WHO \[--loud\][\s\S]*WHO\s+who to greet[\s\S]*--loud\s+shout it/);
    assert.match(grit(repo, ['--help'], { env }).stdout, /greet\s+from the plugin grit-plugin-noisy/);

    // A command module that throws is named as the plugin's failure, not "unknown command".
    const broken = grit(repo, ['boom', '--json'], { env });
    assert.equal(broken.code, 1);
    assert.equal(broken.stderr, '');
    assert.equal(broken.json.error.code, 'internal_error');
    assert.equal(broken.json.error.message, 'the plugin grit-plugin-boom could not load `grit boom`: boom');
    assert.match(broken.json.error.details.suggestion, /grit plugins unlink grit-plugin-boom/);
    assert.match(grit(repo, ['boom'], { env }).stderr, /^error: the plugin grit-plugin-boom could not load `grit boom`: boom\nhint: fix the plugin in /);
    const brokenHelp = grit(repo, ['boom', '--help'], { env });
    assert.equal(brokenHelp.code, 1);
    assert.match(brokenHelp.stderr, /^error: the plugin grit-plugin-boom could not load `grit boom`: boom\n/);

    // A package.json broken after linking: grit's own lines are still untouched, and the plugin
    // is named (not grit) where its commands would be.
    writeFileSync(join(noisy, 'package.json'), '{ not json');
    same();
    const missing = grit(repo, ['greet', 'bob', '--json'], { env });
    assert.equal(missing.json.error.message, 'unknown command: grit greet');
    assert.equal(missing.json.error.details.unloaded_plugins[0].plugin, noisy);
    assert.match(missing.json.error.details.suggestion, new RegExp(`the plugin ${noisy} could not be loaded: .*JSON`));
    const listed = grit(repo, ['plugins'], { env });
    assert.match(listed.stderr, new RegExp(`^grit: warning: the plugin ${noisy} could not be loaded: `));
    assert.match(listed.stdout, /grit-plugin-boom/);

    // A plugin whose commands come from an index module is imported to list them: what it prints
    // then goes to stderr, never into grit's JSON, another plugin's or the help, and a mistake
    // under grit's words does not import it at all.
    const loud = plugin('loud', { commands: { strategy: 'explicit', target: './index.js', identifier: 'COMMANDS' } }, {
      'index.js': 'console.log("LOUD ON IMPORT");\nexport const COMMANDS = { hello: class { static async run() { console.log("hello ran"); } } };\n',
    });
    link(repo, env, loud);
    same(lines.filter((line) => line.includes('lst') || line.includes('extra')));
    assert.deepEqual(outcome(grit(repo, ['hello'], { env })), { code: 0, stdout: 'hello ran\n', stderr: 'LOUD ON IMPORT\n' });
    for (const [line, code] of [[['nosuch', '--json'], 'invalid_args'], [['boom', '--json'], 'internal_error']] as const) {
      const r = grit(repo, [...line], { env });
      assert.equal(r.stdout.split('\n').length, 2, `${line.join(' ')}: ${r.stdout}`);
      assert.equal(r.json.error.code, code, line.join(' '));
    }
    assert.doesNotMatch(grit(repo, ['--help'], { env }).stdout, /LOUD ON IMPORT/);
  });

  it('a plugin command that throws a string or undefined exits 1 with it as its error, not a stack from oclif\'s handler or exit 2', async () => {
    const repo = tempRepo();
    await gritInit(repo);
    const env = oclifDirs();
    link(repo, env, plugin('throws', {}, {
      'src/commands/str.js': 'export default class Str { static async run() { throw "out of cheese"; } }\n',
      'src/commands/nothing.js': 'export default class Nothing { static async run() { throw undefined; } }\n',
    }));
    for (const [command, said] of [['str', 'out of cheese'], ['nothing', 'the command threw undefined, not an Error']]) {
      const r = grit(repo, [command], { env });
      assert.deepEqual([r.code, r.stdout], [1, ''], `${command}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`Error: ${escape(said)}\n`), command);
      assert.doesNotMatch(r.stderr, /TypeError|\n\s+at /, command);
    }
  });

  it('printResult always has data, and printError exits nonzero whatever the code', () => {
    const api = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'index.js')).href;
    const script = `const { printResult, printError, GritError } = await import(${JSON.stringify(api)});
      printResult(undefined, { json: true });
      printError(new GritError('bogus', 'x'), true);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.stderr, '');
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), [
      { schema_version: 1, ok: true, data: null },
      { schema_version: 1, ok: false, error: { code: 'bogus', message: 'x', details: {} } },
    ]);
    assert.equal(r.status, 1);
    // A person reading it gets a hint too (SPEC §6), not `hint: undefined`.
    const human = spawnSync(process.execPath, ['--input-type=module', '-e', `const { printError, GritError } = await import(${JSON.stringify(api)}); printError(new GritError('bogus', 'x'), false);`], { encoding: 'utf8', timeout: 60_000 });
    assert.deepEqual([human.stdout, human.stderr, human.status], ['', "error: x\nhint: the command that failed says what it takes in its --help\n", 1]);
  });

  it('a plugin linked before it was built, or before its dependencies were installed, is said so at link time and when its command is not found', async () => {
    const env = oclifDirs();
    const repo = tempRepo();
    await gritInit(repo);
    // An `oclif generate`-style TypeScript plugin: its commands are to be built into dist/.
    const ts = plugin('ts', { commands: './dist/commands' }, { 'src/commands/hi.ts': 'export default class Hi { static async run(): Promise<void> {} }\n' });
    const unbuilt = `the plugin grit-plugin-ts has no commands: ${join(ts, 'dist', 'commands')} does not exist; build it first (e.g. \`npm run build\` in ${ts})`;
    const linked = grit(repo, ['plugins', 'link', ts, '--no-install'], { env });
    assert.equal(linked.code, 0, linked.stderr);
    assert.match(linked.stderr, new RegExp(`done\n(?:.*\n)*grit: warning: ${escape(unbuilt)}\n$`));
    const hi = grit(repo, ['hi', '--json'], { env });
    assert.equal(hi.code, 2);
    assert.equal(hi.json.error.message, 'unknown command: grit hi');
    assert.deepEqual(hi.json.error.details.unbuilt_plugins, [{ plugin: 'grit-plugin-ts', root: ts, commands: join(ts, 'dist', 'commands') }]);
    assert.ok(hi.json.error.details.suggestion.startsWith(`${unbuilt}; or `), hi.json.error.details.suggestion);
    // A mistake in one of grit's own commands keeps its own hint.
    assert.equal(grit(repo, ['issue', 'lst', '--json'], { env }).json.error.details.suggestion, 'did you mean `grit issue list`?');
    assert.equal(grit(repo, ['plugins'], { env }).stderr, `grit: warning: ${unbuilt}\n`);
    // Built, it has its command and nothing more is said.
    mkdirSync(join(ts, 'dist', 'commands'), { recursive: true });
    writeFileSync(join(ts, 'dist', 'commands', 'hi.js'), 'export default class Hi { static async run() { console.log("hi"); } }\n');
    assert.deepEqual(outcome(grit(repo, ['hi'], { env })), { code: 0, stdout: 'hi\n', stderr: '' });
    assert.equal(grit(repo, ['plugins'], { env }).stderr, '');

    // A plugin outside grit's tree whose dependencies were never installed: its @oclif/core is not found.
    const bare = tempDir('grit-plugin-bare-');
    writeFileSync(join(bare, 'package.json'), JSON.stringify({ name: 'grit-plugin-bare', version: '0.0.1', type: 'module', oclif: { commands: './commands' }, dependencies: { '@oclif/core': '^4' } }));
    mkdirSync(join(bare, 'commands'));
    for (const name of ['yo', 'a', 'b']) writeFileSync(join(bare, 'commands', `${name}.js`), 'import { Command } from "@oclif/core";\nexport default class X extends Command { async run() {} }\n');
    const install = `install the plugin's dependencies: \`npm install\` in ${bare}`;
    const bareLink = grit(repo, ['plugins', 'link', bare, '--no-install'], { env });
    assert.equal(bareLink.code, 0, bareLink.stderr);
    assert.doesNotMatch(bareLink.stderr, /ModuleLoadError|MODULE_NOT_FOUND/);
    assert.match(bareLink.stderr, new RegExp(`done\ngrit: warning: ${escape(`the plugin grit-plugin-bare cannot load \`grit a\`, \`grit b\`, \`grit yo\`: it cannot find the package @oclif/core; ${install}`)}\n$`));
    const yo = grit(repo, ['yo', '--json'], { env });
    assert.equal(yo.code, 1);
    assert.equal(yo.stderr, '');
    assert.equal(yo.json.error.code, 'internal_error');
    assert.equal(yo.json.error.details.suggestion, `${install}, or remove it: \`grit plugins unlink grit-plugin-bare\``);
  });

  it('`plugins link` of a path that is no plugin\'s directory is grit\'s error, and links nothing', () => {
    const env = oclifDirs();
    const cwd = tempDir();
    const missing = grit(cwd, ['plugins', 'link', '/no/such/dir'], { env });
    assert.deepEqual(outcome(missing), {
      code: 3,
      stdout: '',
      stderr: "error: no such directory: /no/such/dir\nhint: check the path: `grit plugins link <dir>` takes the directory that holds the plugin's package.json\n",
    });
    const empty = tempDir();
    const noPjson = grit(cwd, ['plugins', 'link', empty, '--no-install'], { env });
    assert.equal(noPjson.code, 2);
    assert.match(noPjson.stderr, new RegExp(`^error: not a plugin's directory \\(no package.json in it\\): ${escape(empty)}\nhint: link the directory that holds the plugin's package.json`));
    writeFileSync(join(empty, 'file'), '');
    assert.match(grit(cwd, ['plugins', 'link', join(empty, 'file')], { env }).stderr, /^error: not a directory: /);
    // Without a path oclif links `.`: checked the same.
    assert.equal(grit(empty, ['plugins', 'link'], { env }).code, 2);
    // A package without the oclif section (its manifest) is no plugin: said, where oclif said "plugin is invalid … contact the CLI developer".
    const plain = tempDir();
    writeFileSync(join(plain, 'package.json'), JSON.stringify({ name: 'not-a-plugin', version: '1.0.0' }));
    assert.deepEqual(outcome(grit(cwd, ['plugins', 'link', plain, '--no-install'], { env })), {
      code: 2,
      stdout: '',
      stderr: `error: not an oclif plugin (its package.json has no \`oclif\` section): ${plain}\nhint: name the commands' directory in its package.json, such as "oclif": {"commands": "./dist/commands"}, then link it again\n`,
    });
    assert.match(grit(cwd, ['plugins'], { env }).stdout, /No plugins installed/);
  });

  it('help and oclif\'s own commands answer --json with one invalid_args envelope, and do nothing', () => {
    const env = oclifDirs();
    const repo = tempRepo();
    const dir = plugin('never', {}, { 'src/commands/never.js': 'export default class Never { static async run() {} }\n' });
    for (const line of [
      ['plugins'],
      ['plugins', 'inspect', 'nosuch'],
      ['plugins', 'link', dir],
      ['plugins', 'install', 'grit-plugin-nonesuch'],
      ['autocomplete', 'bash'],
      ['help'],
      ['help', 'issue', 'list'],
      ['issue', 'list', '--help'],
      ['issue', '--help'],
      ['--help'],
    ]) {
      const r = grit(repo, [...line, '--json'], { env, timeout: 60_000 });
      assert.equal(r.code, 2, `${line.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stderr, '', line.join(' '));
      assert.equal(r.stdout.split('\n').length, 2, `${line.join(' ')}: one line`);
      assert.equal(r.json.error.code, 'invalid_args', line.join(' '));
      assert.match(r.json.error.details.suggestion, /without --json/);
    }
    assert.match(grit(repo, ['plugins'], { env }).stdout, /No plugins installed/, 'the refused link did nothing');
    // Help about a command that does not exist is that command's error, as without --json.
    const unknown = grit(repo, ['help', 'nosuch', '--json'], { env });
    assert.equal(unknown.code, 2);
    assert.equal(unknown.json.error.message, 'unknown command: grit nosuch');
    // So their help does not offer --json, whichever way it is asked for.
    for (const line of [['plugins', '--help'], ['plugins', 'inspect', '--help'], ['plugins', 'install', '--help'], ['help', 'plugins', 'install'], ['autocomplete', '--help']]) {
      const help = grit(repo, line, { env });
      assert.equal(help.code, 0, line.join(' '));
      assert.match(help.stdout, /USAGE/);
      assert.doesNotMatch(help.stdout, /json/i, line.join(' '));
    }
    assert.match(grit(repo, ['plugins', '--help'], { env }).stdout, /\$ grit plugins \[--core\]/);
  });

  it("a plugin's topic: a flag among its words is invalid_args, and global flags there reach its command, as for grit's topics", () => {
    const env = oclifDirs();
    const repo = tempRepo();
    const dir = plugin('team', {}, {
      'src/commands/team/greet.js': [
        'import { Args, Command, Flags } from "@oclif/core";',
        'export default class Greet extends Command {',
        '  static args = { who: Args.string({ required: true }) };',
        '  static flags = { loud: Flags.boolean({}) };',
        '  async run() { const { args, flags } = await this.parse(Greet); this.log(flags.loud ? `HELLO ${args.who}` : `hello ${args.who}`); }',
        '}',
      ].join('\n'),
    });
    link(repo, env, dir);
    assert.deepEqual(outcome(grit(repo, ['team', 'greet', 'bob', '--loud'], { env })), { code: 0, stdout: 'HELLO bob\n', stderr: '' });
    for (const line of [['team', '--loud', 'greet', 'bob'], ['team', '--loud']]) {
      const r = grit(repo, line, { env });
      assert.deepEqual(outcome(r), {
        code: 2,
        stdout: '',
        stderr: 'error: grit team needs a command before --loud: greet\nhint: give the command first and its flags after it (`grit team --help` says what each does)\n',
      }, line.join(' '));
      const json = grit(repo, [...line, '--json'], { env });
      assert.deepEqual([json.code, json.json.error.code, json.json.error.details.flag], [2, 'invalid_args', '--loud'], line.join(' '));
    }
    assert.equal(grit(repo, ['team', '--json'], { env }).json.error.message, 'grit team needs a command: greet');
    const help = grit(repo, ['team'], { env });
    assert.deepEqual([help.code, help.stderr], [0, '']);
    assert.match(help.stdout, /\$ grit team COMMAND/);
    // A global flag among the words is moved after them: the plugin's parser names it as its own.
    const global = grit(repo, ['team', '-q', 'greet', 'bob'], { env });
    assert.deepEqual([global.code, global.stdout], [2, '']);
    assert.match(global.stderr, /-q/);
  });

  it('`plugins install` of a directory is refused before anything is fetched', () => {
    const env = oclifDirs();
    const cwd = tempDir();
    const missing = grit(cwd, ['plugins', 'install', './nonexistent-dir'], { env, timeout: 60_000 });
    assert.equal(missing.code, 3, missing.stderr);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^error: no such directory: \.\/nonexistent-dir\nhint: .*`grit plugins link <dir>`\n$/);
    const dir = tempDir();
    const local = grit(cwd, ['plugins', 'add', dir], { env, timeout: 60_000 });
    assert.equal(local.code, 2, local.stderr);
    assert.match(local.stderr, new RegExp(`^error: \`grit plugins install\` takes npm packages and git URLs, not a directory: ${dir}\nhint: .*\`grit plugins link ${dir}\``));
  });

  it('`plugins install` refuses a plugin whose engines the running Node does not meet', () => {
    const env = oclifDirs();
    const cwd = tempDir();
    const root = plugin('future', {}, { 'src/commands/future.js': 'export default class Future {}\n' });
    const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ ...pjson, engines: { node: '>=999' } }));
    // A tarball without dependencies: npm installs it without the registry.
    const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', cwd], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = join(cwd, JSON.parse(pack.stdout)[0].filename);

    const install = grit(cwd, ['plugins', 'install', `file:${tarball}`], { env, timeout: 120_000 });
    assert.notEqual(install.code, 0, install.stdout + install.stderr);
    assert.match(install.stdout + install.stderr, /EBADENGINE[\s\S]*"node":">=999"/);
    const list = grit(cwd, ['plugins'], { env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /No plugins installed/);
    assert.equal(list.stderr, '', 'no engine warning on later plugin commands');
  });

  it('type-checks the example plugin against the exported API', () => {
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(EXAMPLE, 'jsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
