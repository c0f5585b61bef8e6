/**
 * Partial clones (`git clone --filter`): objects may be missing here, promised by a remote that
 * still has them (docs/sync.md, "Partial clones").
 */
import { childProcess } from '../core/builtins.js';
import { gitEnv } from './git-env.js';

/**
 * The remote a partial clone's missing objects are promised by (`remote.<name>.promisor`, else
 * `extensions.partialClone`), or null when the repository is not a partial clone. Asked only once
 * an object was found missing, by the WAL reader too, which reads synchronously: hence spawnSync.
 */
export function promisorRemote(gitDir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const r = childProcess().spawnSync('git', ['--git-dir', gitDir, 'config', '--get-regexp', '^(remote\\..*\\.promisor|extensions\\.partialclone)$'], { env: gitEnv(env), encoding: 'utf8' });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  const lines = r.stdout.split('\n');
  for (const line of lines) {
    const promisor = /^remote\.(.+)\.promisor (true|yes|on|1)$/i.exec(line);
    if (promisor) return promisor[1];
  }
  for (const line of lines) {
    const named = /^extensions\.partialclone (\S+)$/i.exec(line);
    if (named) return named[1];
  }
  return null;
}
