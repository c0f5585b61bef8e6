/**
 * A remote given as a relative path means the same repository through the daemon as in-process:
 * `--remote` relative to where the command ran, a configured relative URL relative to the
 * repository's top level (as git takes it), never relative to wherever the daemon was started.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { git, gritOk, tempDir, gritInit } from '../helpers/repo.js';

const gritRefs = (bare: string) => git(bare, 'for-each-ref', '--format=%(refname)', 'refs/grit/').trim().split('\n').filter(Boolean);

describe('relative remote paths', () => {
  // <top>/remote.git is meant; <top>/elsewhere/remote.git is what `../remote.git` names from the
  // daemon's working directory, <top>/elsewhere/cwd.
  const top = tempDir('grit-paths-');
  const remote = join(top, 'remote.git');
  const decoy = join(top, 'elsewhere', 'remote.git');
  const clone = join(top, 'clone');
  const sub = join(clone, 'sub', 'dir');
  let daemon: TestDaemon;

  before(async () => {
    git(top, 'init', '-q', '--bare', remote);
    mkdirSync(join(top, 'elsewhere', 'cwd'), { recursive: true });
    git(top, 'init', '-q', '--bare', decoy);
    mkdirSync(clone);
    git(clone, 'init', '-q');
    mkdirSync(sub, { recursive: true });
    await gritInit(clone);
    daemon = await startDaemon({ cwd: join(top, 'elsewhere', 'cwd') });
  });
  after(() => daemon?.stop());

  for (const through of ['daemon', 'no-daemon'] as const) {
    it(`--remote is taken relative to the command's working directory (${through})`, () => {
      const env = through === 'daemon' ? daemon.env : undefined;
      gritOk(clone, ['issue', 'create', '--title', `from the top, ${through}`], { env });
      assert.equal(gritOk(clone, ['sync', '--remote', '../remote.git'], { env }).pushed, 1);
      gritOk(sub, ['issue', 'create', '--title', `from a subdirectory, ${through}`], { env });
      assert.equal(gritOk(sub, ['sync', '--remote', '../../../remote.git'], { env }).pushed, 1);
      gritOk(sub, ['lock', 'acquire', '--resource', `path:${through}`, '--remote', '../../../remote.git'], { env });
      assert.equal(gritRefs(remote).filter((r) => r.startsWith('refs/grit/locks/')).length, through === 'daemon' ? 1 : 2);
      assert.equal(git(remote, 'rev-parse', 'refs/grit/wal').trim(), git(clone, 'rev-parse', 'refs/grit/wal').trim());
      assert.deepEqual(gritRefs(decoy), []);
    });
  }

  it('a configured relative URL is taken relative to the top level, from anywhere in the repository', () => {
    git(clone, 'remote', 'add', 'origin', '../remote.git');
    const env = daemon.env;
    gritOk(sub, ['issue', 'create', '--title', 'through origin'], { env });
    assert.equal(gritOk(sub, ['sync'], { env }).pushed, 1);
    gritOk(sub, ['lock', 'acquire', '--resource', 'path:origin'], { env });
    assert.equal(gritRefs(remote).filter((r) => r.startsWith('refs/grit/locks/')).length, 3);
    assert.equal(git(remote, 'rev-parse', 'refs/grit/wal').trim(), git(clone, 'rev-parse', 'refs/grit/wal').trim());
    // A name is still a name: a directory called like the remote changes nothing.
    mkdirSync(join(sub, 'origin'));
    assert.equal(gritOk(sub, ['sync', '--remote', 'origin'], { env }).remote, 'origin');
    assert.deepEqual(gritRefs(decoy), []);
  });

  it('with the git dir kept apart (`git init --separate-git-dir`), a configured relative URL is taken from the worktree, as git takes it', async () => {
    const apart = join(top, 'apart');
    const gitDir = join(top, 'gitdirs', 'kept', 'apart.git');
    mkdirSync(join(top, 'gitdirs', 'kept'), { recursive: true });
    git(top, 'init', '-q', '--separate-git-dir', gitDir, apart);
    const meant = join(top, 'apart-remote.git');
    // What `../apart-remote.git` names from the git dir.
    const wrong = join(top, 'gitdirs', 'kept', 'apart-remote.git');
    for (const bare of [meant, wrong]) git(top, 'init', '-q', '--bare', bare);
    git(apart, 'remote', 'add', 'origin', '../apart-remote.git');
    await gritInit(apart);
    for (const env of [undefined, daemon.env]) {
      gritOk(apart, ['issue', 'create', '--title', 'kept apart'], { env });
      assert.equal(gritOk(apart, ['sync'], { env }).pushed, 1);
      gritOk(apart, ['lock', 'acquire', '--resource', `path:${env ? 'd' : 'l'}`], { env });
    }
    assert.equal(git(meant, 'rev-parse', 'refs/grit/wal').trim(), git(apart, 'rev-parse', 'refs/grit/wal').trim());
    assert.equal(gritRefs(meant).filter((r) => r.startsWith('refs/grit/locks/')).length, 2);
    assert.deepEqual(gritRefs(wrong), []);
  });
});
