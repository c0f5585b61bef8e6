/**
 * A writer process for concurrency tests: `node create-many.js <repo> <count> <tag> [actor]`
 * creates issues through the command functions and prints their ids, one per line. It keeps one
 * repository context (one open store) for all its writes, as a daemon worker does: reopening an
 * LMDB environment in a process while another process writes the same file can leave lmdb-js
 * refusing every later open in that process ("No transaction to renew"; see issue 9's note).
 * The same can happen to the first open, while the other writer creates or writes the store
 * (docs/decisions.md, "Known: …"): then it exits with 75 before writing anything, and the test
 * starts it again, as a user would rerun a command that exited with db_busy.
 */
import { RepoContext, type CommandEnv } from '../../src/commands/context.js';
import { commandFn } from '../../src/commands/registry.js';

const [repo, count, tag, actor] = process.argv.slice(2);
const options = { cwd: repo, actor };
const ctx = RepoContext.open(options);
const env: CommandEnv = { options, context: () => ctx };
try {
  void ctx.store;
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(75);
}
const create = await commandFn('IssueCreate');
try {
  for (let k = 0; k < Number(count); k++) {
    const r = (await create(env, { title: `${tag}-${k}` })) as { issue_id: string };
    process.stdout.write(`${r.issue_id}\n`);
  }
} finally {
  await ctx.close();
}
