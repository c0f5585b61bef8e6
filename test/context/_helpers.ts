/** Context test helpers: a repository holding the language fixtures, and WAL event counts. */
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { walEvents } from '../sync/_helpers.js';
import { fixture } from '../helpers/paths.js';
import { git, gritOk, tempRepo } from '../helpers/repo.js';

export const FIXTURES = readdirSync(fixture('context')).sort();

/** A repository with grit set up and the fixtures tracked under `src/`. */
export function fixtureRepo(): string {
  const repo = tempRepo();
  gritOk(repo, ['init', '--no-agents-md']);
  cpSync(fixture('context'), join(repo, 'src'), { recursive: true });
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'fixtures');
  return repo;
}

/** The kinds of every event in the repository's WAL, in WAL order. */
export async function walKinds(repo: string): Promise<string[]> {
  return (await walEvents(join(repo, '.git'))).map((e) => e.kind.type);
}

export function walCommits(repo: string): number {
  const head = git(repo, 'for-each-ref', '--format=%(objectname)', 'refs/grit/wal').trim();
  return head ? Number(git(repo, 'rev-list', '--count', head).trim()) : 0;
}
