import type { Args } from './args.js';
import { RepoContext, type CommandEnv, type ContextOptions, type OutputSink } from './context.js';
import { commandFn } from './registry.js';

/**
 * Runs one command in this process, opening (and closing) its repository context on demand.
 * `stdout`: where a command that can write its output as it goes writes it (CommandEnv).
 */
export async function runLocal(name: string, args: Args, options: ContextOptions, stdout?: OutputSink): Promise<unknown> {
  const fn = await commandFn(name);
  let ctx: RepoContext | null = null;
  const env: CommandEnv = { options, context: () => (ctx ??= RepoContext.open(options)), stdout };
  try {
    return await fn(env, args);
  } finally {
    await (ctx as RepoContext | null)?.close();
  }
}
