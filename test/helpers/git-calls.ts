import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `fn` with GIT_TRACE set, and returns its result with the git commands this process ran
 * meanwhile (their subcommand and arguments, as git's trace prints them: `update-ref --stdin`),
 * to count the gits a piece of work costs. Only for gits run with this process's environment.
 */
export async function gitCalls<T>(fn: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'grit-trace-'));
  const trace = join(dir, 'trace');
  const before = process.env.GIT_TRACE;
  process.env.GIT_TRACE = trace;
  try {
    const result = await fn();
    let text = '';
    try {
      text = readFileSync(trace, 'utf8');
    } catch {
      /* no git ran */
    }
    const commands = [...text.matchAll(/trace: built-in: git (.*)$/gm)].map((m) => m[1]);
    return { result, commands };
  } finally {
    if (before === undefined) delete process.env.GIT_TRACE;
    else process.env.GIT_TRACE = before;
    rmSync(dir, { recursive: true, force: true });
  }
}
