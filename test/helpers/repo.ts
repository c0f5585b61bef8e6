import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActorSelection } from '../../src/commands/data-dir.js';
import { GRIT_BIN, REPO_ROOT } from './paths.js';

// The CLI runs below get an environment without GRIT_HOME (baseEnv), and so do the command
// functions gritLib runs in this process.
delete process.env.GRIT_HOME;

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'grit-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/**
 * A copy of `repo` (as `cp -a`) in a new temp directory: the state a file's shared `before` set up,
 * fresh for each test that changes it, without repeating the set-up. Only of a repository that
 * no process is using (no daemon serves it, no store is open on it).
 */
export function copiedRepo(repo: string): string {
  const dir = tempDir();
  cpSync(repo, dir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  return dir;
}

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A fresh repository with an identity, so plain git commands work in it too. */
export function tempRepo(): string {
  const dir = tempDir();
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'user.name', 'Test');
  return dir;
}

/**
 * A repository and a linked worktree of it (`git worktree add`) on another branch, each tracking
 * a file the other does not. Both use the one actor of their common git dir, and so, through the
 * daemon, its one worker. Both paths are real (as a process's cwd is), so grit reports them as given.
 */
export async function twoWorktrees(): Promise<{ main: string; linked: string }> {
  const main = tempRepo();
  writeFileSync(join(main, 'shared.py'), 'def shared():\n    pass\n');
  writeFileSync(join(main, 'only_main.py'), 'def in_main():\n    pass\n');
  git(main, 'add', '.');
  git(main, 'commit', '-qm', 'main');
  await gritInit(main);
  const linked = join(realpathSync(tempDir()), 'linked');
  git(main, 'worktree', 'add', '-q', '-b', 'feature', linked);
  git(linked, 'rm', '-q', 'only_main.py');
  writeFileSync(join(linked, 'only_linked.py'), 'def in_linked():\n    pass\n');
  git(linked, 'add', '.');
  git(linked, 'commit', '-qm', 'feature');
  return { main: realpathSync(main), linked };
}

export interface GritResult {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", GRIT_NO_DAEMON: "1" };
  delete env.GRIT_HOME;
  return env;
};

function result(code: number | null, stdout: string, stderr: string): GritResult {
  let json: any = null;
  try {
    json = JSON.parse(stdout);
  } catch {
    /* human output */
  }
  return { code: code ?? -1, stdout, stderr, json };
}

/** `timeout` (ms): for a command that might hang, killed then (code -1) so the test fails rather than waits. */
export function grit(cwd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string | Uint8Array; timeout?: number } = {}): GritResult {
  const r = spawnSync(process.execPath, [GRIT_BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...baseEnv(), ...opts.env },
    input: opts.input,
    timeout: opts.timeout,
  });
  return result(r.status, r.stdout, r.stderr);
}

export function gritAsync(cwd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<GritResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GRIT_BIN, ...args], { cwd, env: { ...baseEnv(), ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve(result(code, stdout, stderr)));
  });
}

/** Runs a command with --json and returns its data, failing loudly on an error envelope. */
export function gritOk(cwd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string | Uint8Array } = {}): any {
  const r = grit(cwd, [...args, '--json'], opts);
  if (r.code !== 0 || !r.json?.ok) {
    throw new Error(`grit ${args.join(' ')} failed (${r.code}): ${r.stdout} ${r.stderr}`);
  }
  return r.json.data;
}

/**
 * A command function run in this process (runLocal, what the CLI runs once it has parsed its
 * line), for a test's set-up: the same repository state as `gritOk(cwd, [...])`, without the CLI
 * process and its ~0.2 s of CPU. Set-up only: a test about a command runs that command through the
 * CLI. The command's store is closed when it returns, so a later CLI command, `grit rebuild` or a
 * daemon finds it free; keep set-up before any daemon or concurrent writer starts (an LMDB store
 * reopened here while another process writes it: docs/decisions.md, "Known: …").
 * `name`: the command's IPC name (SPEC §7), `args` as the CLI sends them (snake_case); `actor`:
 * what `--actor` and `--data-dir` choose.
 */
export async function gritLib(cwd: string, name: string, args: Record<string, unknown> = {}, actor: ActorSelection = {}): Promise<any> {
  const { runLocal } = await import('../../src/commands/run.js');
  return runLocal(name, args, { cwd, ...actor });
}

type Commands = Parameters<typeof import('../../src/cli/fast.js').parseArgv>[1];
let manifestCommands: Commands | undefined;

/**
 * A command line run as set-up through gritLib: `await gritSetup(cwd, ['issue', 'create', '--title',
 * 'x'])` leaves the state `gritOk(cwd, [...])` leaves and gives its data. Also for a read whose
 * data a test only compares (`issue list` after a sync) in a test about something else. The line goes through
 * the CLI's own parser and argument mapping (its fast path: src/cli/fast.ts, actions.ts), so set-up
 * converted from `gritOk` keeps its words and their meaning; `--actor` and `--data-dir` choose the
 * actor as they do there. Not for lines naming a relative file (`attachment add x`, `--body-file`):
 * the CLI resolves those against its own working directory, this process has another.
 */
export async function gritSetup(cwd: string, argv: string[]): Promise<any> {
  const { parseArgv } = await import('../../src/cli/fast.js');
  const { ACTIONS } = await import('../../src/cli/actions.js');
  manifestCommands ??= JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')).commands as Commands;
  const parsed = parseArgv(argv, manifestCommands);
  if (!parsed) throw new Error(`gritSetup: grit ${argv.join(' ')} is not a line the CLI's fast path runs`);
  const action = ACTIONS[parsed.id];
  const { actor, 'data-dir': dataDir } = parsed.flags as { actor?: string; 'data-dir'?: string };
  // As the CLI prints it under --json: what a test compares is then the same either way.
  return JSON.parse(JSON.stringify(await gritLib(cwd, action.ipc, await action.toArgs(parsed), { actor, dataDir })) ?? 'null');
}

/** Issues made one after another as set-up (gritSetup `issue create --title <title>`): their ids, in order. */
export async function createdIssues(cwd: string, titles: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const title of titles) ids.push((await gritSetup(cwd, ['issue', 'create', '--title', title])).issue_id);
  return ids;
}

/** `grit init --no-agents-md` as set-up (gritLib): its data, as `gritOk(dir, ['init', '--no-agents-md'])` gives it. */
export function gritInit(dir: string, args: { generate_key?: boolean } = {}): Promise<any> {
  return gritLib(dir, 'Init', { no_agents_md: true, ...args });
}

/** A new repository (tempRepo) set up by gritInit. */
export async function initedRepo(): Promise<string> {
  const dir = tempRepo();
  await gritInit(dir);
  return dir;
}

/**
 * `grit doctor [flags] --json`: its report, after checking the exit status says what the report
 * does (1 when a check is left at `error`, else 0; the envelope is ok either way).
 */
export function gritDoctor(cwd: string, flags: string[] = [], opts: { env?: NodeJS.ProcessEnv } = {}): any {
  const r = grit(cwd, ['doctor', ...flags, '--json'], opts);
  if (!r.json?.ok) throw new Error(`grit doctor ${flags.join(' ')} failed (${r.code}): ${r.stdout} ${r.stderr}`);
  const errors = r.json.data.checks.filter((c: { status: string }) => c.status === 'error').map((c: { id: string }) => c.id);
  if (r.code !== (errors.length ? 1 : 0)) throw new Error(`grit doctor ${flags.join(' ')} exited ${r.code} with errors in [${errors.join(', ')}]`);
  return r.json.data;
}

/**
 * Takes objects out of a repository, as a lost pack or a disk error would: every object is made
 * loose first (grit writes only packs, whose objects cannot be deleted one by one), then the
 * files of `oids` are deleted.
 */
export function dropObjects(repo: string, ...oids: string[]): void {
  const packDir = join(repo, '.git', 'objects', 'pack');
  for (const name of readdirSync(packDir).filter((n) => n.endsWith('.pack'))) {
    const bytes = readFileSync(join(packDir, name));
    for (const ext of ['.pack', '.idx', '.keep', '.rev']) rmSync(join(packDir, name.replace(/\.pack$/, ext)), { force: true });
    const r = spawnSync('git', ['unpack-objects', '-q'], { cwd: repo, input: bytes });
    if (r.status !== 0) throw new Error(`git unpack-objects failed: ${r.stderr}`);
  }
  for (const oid of oids) rmSync(join(repo, '.git', 'objects', oid.slice(0, 2), oid.slice(2)));
}

export function fsckClean(cwd: string): void {
  git(cwd, 'fsck', '--full', '--no-progress');
}

/** Sets `signature_policy` in a repository's `.git/grit/config.toml`. */
export function setSignaturePolicy(repo: string, policy: 'off' | 'warn' | 'reject'): void {
  const path = join(repo, '.git/grit/config.toml');
  writeFileSync(path, readFileSync(path, 'utf8').replace(/^signature_policy = .*$/m, `signature_policy = "${policy}"`));
}

/** Makes `writer`'s public key known in `clone` the documented way: its config.toml, never keys/. */
export function importKey(clone: string, writerClone: string, actorId: string): void {
  const dir = join(clone, '.git/grit/actors', actorId);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(writerClone, '.git/grit/actors', actorId, 'config.toml'), join(dir, 'config.toml'));
}
