/** The package's programmatic API (src/index.ts), as plugins and scripts use it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as api from '../../src/index.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { gritOk, tempDir, tempRepo, gritInit } from '../helpers/repo.js';

describe('plugin API', () => {
  it('is the package entry', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const entry = await import(pathToFileURL(join(REPO_ROOT, pkg.main)).href);
    assert.equal(entry.openRepo, api.openRepo);
    assert.equal(entry.GritError, api.GritError);
    assert.ok(pkg.types.endsWith('index.d.ts'));
  });

  it('opens a repository as an actor and runs commands by IPC name', async () => {
    const dir = tempRepo();
    const actor = (await gritInit(dir)).actor.actor_id;
    const repo = await api.openRepo({ cwd: dir });
    assert.equal(repo.actorId, actor);
    const created = await repo.run('IssueCreate', { title: 'from a plugin', labels: ['api'] });
    assert.match(created.issue_id, /^[0-9a-f]{32}$/);
    await repo.run('IssueComment', { issue_id: created.issue_id.slice(0, 6), body: 'hello' });
    const { issues, total } = await repo.run('IssueList', { label: 'api' });
    assert.equal(total, 1);
    assert.equal(issues[0].comment_count, 1);
    // The same data as the CLI's --json.
    assert.deepEqual(await repo.run('IssueShow', { issue_id: created.issue_id }), gritOk(dir, ['issue', 'show', created.issue_id]));
    // A write by another process is seen by the next run.
    gritOk(dir, ['issue', 'create', '--title', 'from the CLI', '--label', 'api']);
    assert.equal((await repo.run('IssueList', { label: 'api' })).total, 2);
    // Any registered command, typed or not.
    const stats = (await repo.run('DbStats')) as { issue_count: number };
    assert.equal(stats.issue_count, 2);
    assert.equal((await api.runCommand('IssueList', {}, { cwd: dir })).total, 2);
  });

  it('rejects with GritErrors carrying SPEC codes', async () => {
    await assert.rejects(api.openRepo({ cwd: tempDir() }), (e: unknown) => e instanceof api.GritError && e.code === 'git_error');
    const repo = await api.openRepo({ cwd: tempRepo() });
    await assert.rejects(repo.run('IssueShow', { issue_id: 'abcdef' }), (e: any) => e instanceof api.GritError && e.code === 'not_found' && e.exitCode === 3);
    await assert.rejects(repo.run('IssueCreate', { title: '' }), (e: any) => e.code === 'invalid_args');
    await assert.rejects(repo.run('NoSuchCommand'), (e: any) => e.code === 'invalid_args');
  });

  it('refuses an empty actor or dataDir rather than act as the default actor', async () => {
    const dir = tempRepo();
    await gritInit(dir);
    // Named as a plugin's flags, which these usually come from (docs/plugins.md).
    const empty = (message: string, field: string) => (e: any) => e instanceof api.GritError && e.code === 'invalid_args' && e.exitCode === 2 && e.message === message && e.details.field === field;
    for (const actor of ['', ' ']) {
      await assert.rejects(api.openRepo({ cwd: dir, actor }), empty('--actor must not be empty', 'actor'));
      await assert.rejects(api.runCommand('IssueCreate', { title: 'as whom?' }, { cwd: dir, actor }), empty('--actor must not be empty', 'actor'));
    }
    await assert.rejects(api.openRepo({ cwd: dir, dataDir: '' }), empty('--data-dir must not be empty', 'data_dir'));
    await assert.rejects(api.runCommand('IssueCreate', { title: 'as whom?' }, { cwd: dir, dataDir: '' }), empty('--data-dir must not be empty', 'data_dir'));
    assert.equal(gritOk(dir, ['issue', 'list']).total, 0, 'nothing written');
  });

  it('names arguments in its messages by their keys, as they were passed', async () => {
    const repo = await api.openRepo({ cwd: tempRepo() });
    // ttl_ms is no CLI flag (the CLI's is --ttl); a JSON number needs no advice on typing digits.
    await assert.rejects(repo.run('LockAcquire', { resource: 'repo:', local: true, ttl_ms: 1.5 }), (e: any) => {
      assert.deepEqual([e.message, e.details.field, e.suggestion], ['ttl_ms must be a whole number from 1000 to 2592000000', 'ttl_ms', 'give ttl_ms a whole number from 1000 to 2592000000, such as 1000']);
      return true;
    });
    // A number since is a timestamp, as the CLI's digits are.
    await repo.run('IssueCreate', { title: 'exported' });
    assert.equal(((await repo.run('Export', { since: 0, output: '-' })) as { event_count: number }).event_count, 1);
    await assert.rejects(repo.run('IssueCreate', {} as never), (e: any) => e.code === 'invalid_args' && e.message === 'title is required' && e.details.field === 'title');
    await assert.rejects(repo.run('IssueShow', {} as never), (e: any) => e.message === 'issue_id is required');
    await assert.rejects(repo.run('IssueDepAdd', { issue_id: 'abcd', target: 'abcd' }), (e: any) => /^dep_type is required/.test(e.message));
    await assert.rejects(repo.run('IssueList', 'x' as never), (e: any) => {
      assert.equal(e.code, 'invalid_args');
      assert.equal(e.message, 'the arguments of IssueList must be an object of named arguments, not string');
      assert.equal(e.suggestion, 'IssueList takes state, label');
      return true;
    });
  });

  it('names the commands it can run', async () => {
    const names = await api.commandNames();
    for (const n of ['IssueCreate', 'IssueList', 'LockAcquire', 'Sync']) assert.ok(names.includes(n), n);
  });
});
