import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { runLocal } from '../../src/commands/run.js';
import { RouteCache } from '../../src/supervisor/routes.js';
import { tempRepo } from '../helpers/repo.js';

const nextTurn = () => new Promise((r) => setImmediate(r));
const GRIT = new URL('../../../bin/grit.cjs', import.meta.url).pathname;
/** `grit actor use`, run by another process while this one waits (no turn of its event loop passes). */
function actorUse(dir: string, id: string): void {
  const r = spawnSync(process.execPath, [GRIT, 'actor', 'use', id, '--json'], { cwd: dir, env: { ...process.env, GRIT_NO_DAEMON: '1' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('a cached route is checked against its files once per turn of the event loop: a change is seen from the next turn on', async () => {
  const dir = tempRepo();
  const first = ((await runLocal('Init', { no_agents_md: true }, { cwd: dir })) as { actor: { actor_id: string } }).actor.actor_id;
  const second = ((await runLocal('ActorInit', { label: 'second' }, { cwd: dir })) as { actor: { actor_id: string } }).actor.actor_id;
  const routes = new RouteCache();
  const request = { repo_root: dir, actor_id: null, data_dir: null };
  assert.equal(routes.resolve(request).actor.config.actor_id, first);
  await nextTurn();
  assert.equal(routes.resolve(request).actor.config.actor_id, first, 'cached, and its files unchanged');
  // Requests handled in the turn of a change were sent before it: they keep the route checked.
  actorUse(dir, second);
  assert.equal(routes.resolve(request).actor.config.actor_id, first);
  await nextTurn();
  assert.equal(routes.resolve(request).actor.config.actor_id, second, 'the next turn checks the files again');
  actorUse(dir, first);
  await nextTurn();
  assert.equal(routes.resolve(request).actor.config.actor_id, first);
});

test('an empty actor_id or data_dir is refused, never served the cached route of a request that names none (the default actor)', async () => {
  const dir = tempRepo();
  const first = ((await runLocal('Init', { no_agents_md: true }, { cwd: dir })) as { actor: { actor_id: string } }).actor.actor_id;
  const routes = new RouteCache();
  assert.equal(routes.resolve({ repo_root: dir, actor_id: null, data_dir: null }).actor.config.actor_id, first);
  for (const [request, message] of [[{ actor_id: '', data_dir: null }, '--actor must not be empty'], [{ actor_id: null, data_dir: '' }, '--data-dir must not be empty']] as const) {
    assert.throws(() => routes.resolve({ repo_root: dir, ...request }), (e: any) => e.code === 'invalid_args' && e.message === message, JSON.stringify(request));
  }
});
