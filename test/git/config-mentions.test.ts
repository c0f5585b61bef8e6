import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitEnv } from '../../src/git/git-env.js';
import { spawnGit, type GitCall, type GitRun } from '../../src/git/git-process.js';
import { configMayMention, PUSH_URL_KEYS, systemFileOf } from '../../src/git/config-mentions.js';
import { readSide } from '../../src/git/transport.js';
import { git, tempDir, tempRepo } from '../helpers/repo.js';

const noGit = async (call: GitCall) => assert.fail(`git was asked: ${call.args.join(' ')}`);
const mayNamePushUrl = (gitDir: string, run: (call: GitCall) => Promise<GitRun>, env?: NodeJS.ProcessEnv) => configMayMention(gitDir, PUSH_URL_KEYS, run, env);

/** Whether git itself finds what readSide asks it for, with `env`. */
function gitFinds(repo: string, env: NodeJS.ProcessEnv): boolean {
  const r = spawnSync('git', ['config', '--get-regexp', '^(remote\\.origin\\.pushurl|url\\..*\\.pushinsteadof)$'], { cwd: repo, env: gitEnv(env), encoding: 'utf8' });
  return r.stdout.trim() !== '';
}

test('no push URL is told from the files git reads, without git; a mention of one (or of an include) in any of them, or config git takes from elsewhere, leaves the question to git', async () => {
  const repo = tempRepo();
  git(repo, 'remote', 'add', 'origin', '/nowhere.git');
  const gitDir = join(repo, '.git');
  const local = readFileSync(join(gitDir, 'config'), 'utf8');
  const home = tempDir();
  const system = join(tempDir(), 'gitconfig');
  writeFileSync(system, '[core]\n\tautocrlf = false\n');
  const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_SYSTEM: system };
  const xdg = join(home, '.config', 'git', 'config');
  mkdirSync(join(home, '.config', 'git'), { recursive: true });
  const reset = () => {
    writeFileSync(join(gitDir, 'config'), local);
    writeFileSync(system, '');
    for (const f of [join(home, '.gitconfig'), xdg, join(gitDir, 'config.worktree')]) rmSync(f, { force: true, recursive: true });
  };
  assert.equal(await mayNamePushUrl(gitDir, noGit, env), false);
  assert.equal(gitFinds(repo, env), false);

  // Each file git reads, a push URL in it (git finds each but config.worktree's, read only under extensions.worktreeConfig).
  const pushUrl = '[remote "origin"]\n\tpushurl = /elsewhere.git\n';
  const cases: [string, () => void, boolean][] = [
    ['git remote set-url --push', () => git(repo, 'remote', 'set-url', '--push', 'origin', '/elsewhere.git'), true],
    ['pushInsteadOf in ~/.gitconfig', () => writeFileSync(join(home, '.gitconfig'), '[url "/elsewhere.git"]\n\tpushInsteadOf = /nowhere.git\n'), true],
    ['PUSHURL in the XDG file, in capitals', () => writeFileSync(xdg, '[remote "origin"]\n\tPUSHURL = /elsewhere.git\n'), true],
    ['pushurl in the system file', () => writeFileSync(system, pushUrl), true],
    ['pushurl in config.worktree', () => writeFileSync(join(gitDir, 'config.worktree'), pushUrl), false],
    // Not followed, so never a "no": an include, a file that cannot be read.
    ['an include', () => git(repo, 'config', 'include.path', join(home, 'more')), false],
    ['a directory as ~/.gitconfig', () => mkdirSync(join(home, '.gitconfig')), false],
  ];
  for (const [what, place, found] of cases) {
    place();
    assert.equal(await mayNamePushUrl(gitDir, noGit, env), true, what);
    assert.equal(gitFinds(repo, env), found, what);
    reset();
    assert.equal(await mayNamePushUrl(gitDir, noGit, env), false, `${what}, taken away`);
  }
  // Config from the environment, or files that cannot all be named.
  for (const more of [{ GIT_CONFIG_PARAMETERS: "'remote.origin.pushurl'='/elsewhere.git'" }, { GIT_CONFIG_COUNT: '1' }, { GIT_CONFIG: system }, { HOME: undefined }]) {
    assert.equal(await mayNamePushUrl(gitDir, noGit, { ...env, ...more }), true, JSON.stringify(more));
  }
});

test('the system file is the one git names: its entries\' origin, or the file it could not read; an empty one names none', async () => {
  const dir = tempDir();
  const ask = (file: string) => spawnGit({ args: ['config', '--system', '--show-origin', '--list'], env: gitEnv({ ...process.env, GIT_CONFIG_SYSTEM: file }) });
  const full = join(dir, 'gitconfig');
  writeFileSync(full, '[core]\n\tautocrlf = false\n');
  assert.equal(systemFileOf(await ask(full)), full);
  assert.equal(systemFileOf(await ask(join(dir, 'missing'))), join(dir, 'missing'));
  writeFileSync(full, '');
  assert.equal(systemFileOf(await ask(full)), null);
});

test('readSide: no git process when nothing names a push URL; the push URL as soon as `git remote set-url --push` sets one, and no more once it is gone', async () => {
  const repo = tempRepo();
  git(repo, 'remote', 'add', 'origin', '/nowhere.git');
  const gitDir = join(repo, '.git');
  const saved = { ...process.env };
  const system = join(tempDir(), 'gitconfig');
  writeFileSync(system, '');
  Object.assign(process.env, { HOME: tempDir(), GIT_CONFIG_SYSTEM: system });
  try {
    process.env.PATH = ''; // no git to start
    assert.equal(await readSide(gitDir, 'origin'), 'origin');
    process.env.PATH = saved.PATH;
    git(repo, 'remote', 'set-url', '--push', 'origin', '/elsewhere.git');
    assert.equal(await readSide(gitDir, 'origin'), '/elsewhere.git');
    git(repo, 'remote', 'set-url', '--push', 'origin', '/other.git');
    assert.equal(await readSide(gitDir, 'origin'), '/other.git');
    git(repo, 'config', '--unset-all', 'remote.origin.pushurl');
    assert.equal(await readSide(gitDir, 'origin'), 'origin');
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});
