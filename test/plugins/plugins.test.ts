/**
 * oclif plugins: plugin-plugins, plugin-autocomplete and plugin-help are wired in, their commands
 * go to oclif while grit's own plain command lines keep the fast path, and the example plugin
 * (examples/grit-plugin-stale) links and runs. oclif's data, cache and config dirs are temporary
 * (XDG_*), so nothing of the user's is touched.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgv } from '../../src/cli/fast.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { grit, gritOk, tempDir, tempRepo } from '../helpers/repo.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'grit-plugin-stale');
const commands = JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')).commands;

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
    gritOk(repo, ['init', '--no-agents-md']);
    const link = grit(repo, ['plugins', 'link', EXAMPLE, '--no-install'], { env });
    assert.equal(link.code, 0, link.stderr);
    assert.match(grit(repo, ['plugins'], { env }).stdout, /grit-plugin-stale .*\(link\)/);

    const old = gritOk(repo, ['issue', 'create', '--title', 'old one']).issue_id;
    const closed = gritOk(repo, ['issue', 'create', '--title', 'old but closed']).issue_id;
    gritOk(repo, ['issue', 'close', closed]);
    await sleep(4000);
    gritOk(repo, ['issue', 'create', '--title', 'fresh one']);
    const oldTs = () => gritOk(repo, ['issue', 'list']).issues.find((i: any) => i.issue_id === old);

    // The threshold is the old issue's age when `stale` starts: the old issue is at the cut-off,
    // and the fresh one (4 s younger) stays above it as long as `stale` takes less than 4 s.
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
    gritOk(repo, ['issue', 'comment', old, '--body', 'still relevant']);
    const touched = grit(repo, ['stale', '--days', String(days), '--json'], { env });
    assert.ok(!touched.json.data.issues.some((i: any) => i.issue_id === old), touched.stdout);

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

  it('type-checks the example plugin against the exported API', () => {
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(EXAMPLE, 'jsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
