/** Context test helpers: a repository holding the language fixtures, and WAL event counts. */
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { walEvents } from '../sync/_helpers.js';
import { fixture } from '../helpers/paths.js';
import { git, gritInit, tempRepo } from '../helpers/repo.js';

export const FIXTURES = readdirSync(fixture('context')).sort();

/** A repository with grit set up and the fixtures tracked under `src/`. */
export async function fixtureRepo(): Promise<string> {
  const repo = tempRepo();
  await gritInit(repo);
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
