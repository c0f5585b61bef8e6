/** Helpers for the git-layer tests: throwaway repositories driven by real git. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GritError, type ErrorCode } from '../../src/core/errors.js';
import { makeEvent, type Event } from '../../src/core/event.js';

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Real git in `cwd`; throws with stderr on failure. */
export function git(cwd: string, args: string[], input?: string | Uint8Array): string {
  const r = spawnSync('git', args, { cwd, input, encoding: 'utf8', env: gitEnv() });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Like `git` but returns the status and output instead of throwing. */
export function gitRun(cwd: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('git', args, { cwd, input, encoding: 'utf8', env: gitEnv() });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES']) delete env[k];
  return env;
}

/** A fresh repository (`git init`) in a temp dir, removed when the process exits. */
export function tempRepo(extraInitArgs: string[] = []): { dir: string; gitDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'grit-git-test-'));
  dirs.push(dir);
  git(dir, ['init', '-q', ...extraInitArgs]);
  git(dir, ['config', 'user.email', 'test@example.com']);
  git(dir, ['config', 'user.name', 'Test']);
  git(dir, ['config', 'gc.auto', '0']);
  return { dir, gitDir: join(dir, '.git') };
}

export function fsckClean(dir: string): void {
  const r = gitRun(dir, ['fsck', '--full', '--strict', '--no-progress', '--no-dangling']);
  if (r.status !== 0 || /error|warning|missing|broken|bad/i.test(r.stderr + r.stdout)) {
    throw new Error(`git fsck is not clean:\n${r.stdout}\n${r.stderr}`);
  }
}

export const ACTOR_HEX = 'a1'.repeat(16);
export const ACTOR = new Uint8Array(16).fill(0xa1);
export const DAY = Date.UTC(2026, 10, 25, 12); // 2026-11-25

export function comment(body: string, ts = DAY, actor = ACTOR): Event {
  return makeEvent({ issue_id: new Uint8Array(16).fill(1), actor, ts_unix_ms: ts, parent: null, kind: { type: 'CommentAdded', body } });
}

export const bodies = (events: Event[]) => events.map((e) => (e.kind as { body: string }).body);

export const isGritError = (code: ErrorCode) => (e: unknown) => e instanceof GritError && e.code === code;

/** Builds WAL-shaped commits with git plumbing, to forge bad ones. */
export function forge(dir: string) {
  const blob = (data: string | Uint8Array) => git(dir, ['hash-object', '-w', '--stdin'], data).trim();
  const mktree = (lines: string[]) => git(dir, ['mktree'], lines.map((l) => `${l}\n`).join('')).trim();
  const dated = (inner: string, date = ['2026', '11', '25']) => {
    let t = inner;
    for (const part of [...date].reverse()) t = mktree([`040000 tree ${t}\t${part}`]);
    return t;
  };
  const meta = (chunkHash: string, prev: string | null, extra: Record<string, unknown> = {}) =>
    blob(JSON.stringify({ schema_version: 1, actor_id: ACTOR_HEX, chunk_hash: chunkHash, prev_wal: prev, ...extra }));
  const commit = (tree: string, parents: string[]) =>
    git(dir, ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-m', 'forged']).trim();
  /** A complete WAL commit from chunk bytes and the hash meta.json claims for them. */
  const walCommit = (bytes: Uint8Array, claimed: string, parent: string, opts: { metaExtra?: Record<string, unknown>; fileName?: string } = {}) => {
    const day = mktree([`100644 blob ${blob(bytes)}\t${opts.fileName ?? `${claimed}.bin`}`]);
    const root = mktree([`040000 tree ${dated(day)}\tevents`, `100644 blob ${meta(claimed, parent, opts.metaExtra)}\tmeta.json`]);
    return commit(root, [parent]);
  };
  return { blob, mktree, dated, meta, commit, walCommit };
}
