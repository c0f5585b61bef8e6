/**
 * A writer process for concurrency tests: `node create-many.js <repo> <count> <tag> [actor]`
 * creates issues through the command functions and prints their ids, one per line.
 */
import { runLocal } from '../../src/commands/run.js';

const [repo, count, tag, actor] = process.argv.slice(2);
for (let k = 0; k < Number(count); k++) {
  const r = (await runLocal('IssueCreate', { title: `${tag}-${k}` }, { cwd: repo, actor })) as { issue_id: string };
  process.stdout.write(`${r.issue_id}\n`);
}
