/**
 * One clone of the convergence soak (soak.test.ts), run as its own process:
 * `node _soak-worker.js <clone> <seed> <edits>`. Makes random edits through the command functions
 * (in-process `runLocal`, no CLI start-up) and syncs at random moments. Prints one JSON line:
 * {events_written, syncs, sync_conflicts, events_rebased, push_retries, ms}.
 */
import { runLocal } from '../../src/commands/run.js';
import { GritError } from '../../src/core/errors.js';
import { pick, rng } from '../helpers/random.js';

const [clone, seedText, editsText] = process.argv.slice(2);
const rand = rng(Number(seedText));
const edits = Number(editsText);
const opts = { cwd: clone };
const LABELS = ['bug', 'ui', 'perf', 'docs', 'p1'];
const USERS = ['ann', 'bob', 'cy'];

const started = Date.now();
let written = 0;
let syncs = 0;
let conflicts = 0;
let rebased = 0;
let retries = 0;

async function sync(): Promise<void> {
  try {
    const r = (await runLocal('Sync', {}, opts)) as { events_rebased: number; push_attempts: number };
    syncs++;
    rebased += r.events_rebased;
    retries += Math.max(0, r.push_attempts - 1);
  } catch (err) {
    // Giving up after the bounded retries is allowed under this much contention; the final syncs settle it.
    if (err instanceof GritError && err.code === 'conflict') conflicts++;
    else throw err;
  }
}

for (let i = 0; i < edits; i++) {
  const { issues } = (await runLocal('IssueList', {}, opts)) as { issues: { issue_id: string; labels: string[] }[] };
  const r = rand();
  if (issues.length === 0 || r < 0.15) {
    await runLocal('IssueCreate', { title: `issue ${seedText}.${i}`, body: `by ${seedText}`, labels: [pick(LABELS, rand)] }, opts);
  } else {
    const { issue_id, labels } = pick(issues, rand);
    let op = Math.floor(rand() * 8);
    if (op === 3 && labels.length === 0) op = 2; // only a label it has can be removed
    if (op === 0) await runLocal('IssueUpdate', { issue_id, title: `title ${seedText}.${i}` }, opts);
    else if (op === 1) await runLocal('IssueComment', { issue_id, body: `comment ${seedText}.${i}` }, opts);
    else if (op === 2) await runLocal('IssueLabelAdd', { issue_id, label: pick(LABELS, rand) }, opts);
    else if (op === 3) await runLocal('IssueLabelRemove', { issue_id, label: pick(labels, rand) }, opts);
    else if (op === 4) await runLocal('IssueClose', { issue_id }, opts);
    else if (op === 5) await runLocal('IssueReopen', { issue_id }, opts);
    else if (op === 6) await runLocal('IssueAssigneeAdd', { issue_id, user: pick(USERS, rand) }, opts);
    else await runLocal('IssueUpdate', { issue_id, body: `body ${seedText}.${i}` }, opts);
  }
  written++;
  if (rand() < 0.25) await sync();
}
process.stdout.write(JSON.stringify({ events_written: written, syncs, sync_conflicts: conflicts, events_rebased: rebased, push_retries: retries, ms: Date.now() - started }) + '\n');
