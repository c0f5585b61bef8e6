/**
 * One run of the system `git` binary (spawned without a shell), its output collected: what
 * `runGit` and `updateRefs` (src/git/transport.ts) run, in this process or, in a daemon, in its
 * spawn helper (src/git/spawn-helper.ts).
 */
import { spawn } from 'node:child_process';
import { GritError } from '../core/errors.js';

export interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GitCall {
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Where git runs (default: this process's working directory). */
  cwd?: string;
  /** Written to git's stdin (else stdin is closed). */
  input?: string;
}

/** The error for a git that could not be started (`message` says why). */
export const gitUnavailable = (message: string): GritError => new GritError('git_error', message, { suggestion: 'install git and make sure it is on PATH' });

/** Runs `git …call.args`; resolves with its exit code and output (never rejects on a non-zero exit). `echo` also gets git's stderr as it comes. */
export function spawnGit({ args, env, cwd, input }: GitCall, echo?: (stderr: string) => void): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      echo?.(d);
    });
    child.on('error', (e) => reject(gitUnavailable(`cannot run git: ${e.message}`)));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });
}
