import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { autoMaintenanceIdle } from '../../src/git/auto-maintenance.js';
import type { GitCall } from '../../src/git/git-process.js';
import { runLocal } from '../../src/commands/run.js';
import { network } from '../sync/_helpers.js';
import { git, gritSetup, tempDir, tempRepo } from '../helpers/repo.js';

const noGit = async (call: GitCall) => assert.fail(`git was asked: ${call.args.join(' ')}`);

/** An environment whose git configuration is all in files of this test's. */
function isolatedEnv(): { env: NodeJS.ProcessEnv; home: string; system: string } {
  const home = tempDir();
  const system = join(tempDir(), 'gitconfig');
  writeFileSync(system, '');
  return { env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_SYSTEM: system }, home, system };
}

/** git with `input` on its stdin. */
function gitIn(cwd: string, args: string[], input: string): string {
  const r = spawnSync('git', args, { cwd, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const hex = (i: number, width: number) => i.toString(16).padStart(width, '0');

test("git's automatic maintenance is skipped only when git would surely do nothing: default settings, few loose objects in objects/17, few packs not kept", async () => {
  const repo = tempRepo();
  const gitDir = join(repo, '.git');
  const { env, home, system } = isolatedEnv();
  assert.equal(await autoMaintenanceIdle(gitDir, noGit, env), true);

  // A mention of gc, maintenance or an include in any file git reads: git decides.
  const local = readFileSync(join(gitDir, 'config'), 'utf8');
  for (const [file, text] of [
    [join(gitDir, 'config'), `${local}[gc]\n\tauto = 1\n`],
    [join(home, '.gitconfig'), '[maintenance]\n\tstrategy = incremental\n'],
    [system, '[include]\n\tpath = /elsewhere\n'],
    [join(gitDir, 'config'), `${local}[GC]\n\tautoPackLimit = 2\n`],
  ] as const) {
    const before = existsSync(file) ? readFileSync(file, 'utf8') : null;
    writeFileSync(file, text);
    assert.equal(await autoMaintenanceIdle(gitDir, noGit, env), false, text);
    if (before === null) rmSync(file);
    else writeFileSync(file, before);
  }
  assert.equal(await autoMaintenanceIdle(gitDir, noGit, env), true);
  // Configuration given in the environment: git decides.
  assert.equal(await autoMaintenanceIdle(gitDir, noGit, { ...env, GIT_CONFIG_PARAMETERS: "'gc.auto'='1'" }), false);

  // Loose objects, estimated from objects/17 as git does (only names of 38 hex digits count).
  const dir17 = join(gitDir, 'objects', '17');
  mkdirSync(dir17, { recursive: true });
  for (let i = 0; i < 24; i++) writeFileSync(join(dir17, hex(i, 38)), '');
  writeFileSync(join(dir17, 'tmp_obj_x'), '');
  assert.equal(await autoMaintenanceIdle(gitDir, noGit, env), true);
  writeFileSync(join(dir17, hex(24, 38)), '');
  assert.equal(await autoMaintenanceIdle(gitDir, noGit, env), false);
  rmSync(dir17, { recursive: true });

  // Packs: those marked .keep are not counted, as git does not.
  const packDir = join(gitDir, 'objects', 'pack');
  mkdirSync(packDir, { recursive: true });
  for (let i = 0; i < 46; i++) writeFileSync(join(packDir, `pack-${hex(i, 40)}.idx`), '');
  assert.equal(await autoMaintenanceIdle(gitDir, noGit, env), false);
  writeFileSync(join(packDir, `pack-${hex(0, 40)}.keep`), '');
  assert.equal(await autoMaintenanceIdle(gitDir, noGit, env), true);
});

/** The git processes a pull started, from git's trace2 events: whether one was `git maintenance run --auto`. */
async function pullRanMaintenance(clone: string): Promise<boolean> {
  const trace = join(tempDir(), 'trace.json');
  await runLocal('Sync', { pull: true }, { cwd: clone, env: { ...process.env, GIT_TRACE2_EVENT: trace } });
  return readFileSync(trace, 'utf8')
    .split('\n')
    .filter(Boolean)
    .some((line) => {
      const e = JSON.parse(line) as { event: string; argv?: string[] };
      return e.event === 'child_start' && e.argv?.join(' ').includes('maintenance run --auto') === true;
    });
}

test("a pull's fetch leaves out git's automatic maintenance when it would do nothing, and lets git run it when there are more packs than gc.autoPackLimit", { timeout: 60_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  await gritSetup(a, ['issue', 'create', '--title', 'x']);
  await gritSetup(a, ['sync']);
  // network() sets gc.auto = 0 in every clone: a mention of gc, so git is left to decide.
  assert.equal(await pullRanMaintenance(b), true);
  git(b, 'config', '--unset', 'gc.auto');
  await gritSetup(a, ['issue', 'create', '--title', 'y']);
  await gritSetup(a, ['sync']);
  assert.equal(await pullRanMaintenance(b), false);

  // 52 packs: git's gc --auto would repack them, so it is git's to run, and it does.
  const packDir = join(b, '.git', 'objects', 'pack');
  for (let i = 0; i < 52; i++) {
    const oid = gitIn(b, ['hash-object', '-w', '--stdin'], `blob ${i}\n`).trim();
    gitIn(b, ['pack-objects', '-q', join(packDir, 'pack')], `${oid}\n`);
  }
  git(b, 'prune-packed');
  assert.ok(readdirSync(packDir).filter((n) => n.endsWith('.pack')).length > 50);
  await gritSetup(a, ['issue', 'create', '--title', 'z']);
  await gritSetup(a, ['sync']);
  assert.equal(await pullRanMaintenance(b), true);
  // git's gc runs in the background (gc.autoDetach): it rolls the packs up.
  const packs = () => readdirSync(packDir).filter((n) => n.endsWith('.pack')).length;
  for (let waited = 0; packs() > 50 || existsSync(join(b, '.git', 'gc.pid')); waited += 50) {
    assert.ok(waited < 30_000, `git's gc left ${packs()} packs`);
    await new Promise((r) => setTimeout(r, 50));
  }
});
