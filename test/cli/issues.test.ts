import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createdIssues, fsckClean, git, grit, gritOk, gritDoctor, gritLib, gritSetup, tempDir, tempRepo, gritInit } from '../helpers/repo.js';
import { settledInOneGroup } from '../helpers/group-commit.js';
import { issueDepAdd, issueDepRemove } from '../../src/commands/deps.js';
import { issueComment } from '../../src/commands/issues.js';
import { U64_MAX } from '../../src/core/timestamp.js';
import { PROJECT_CONTEXT_ID, resolvePrefix } from '../../src/core/ids.js';
import { makeEvent } from '../../src/core/event.js';
import { fromHex } from '../../src/core/hex.js';
import { Store } from '../../src/core/store.js';
import { stopDaemonIn } from '../helpers/daemon.js';
import { GRIT_BIN } from '../helpers/paths.js';
import { walHead as fakeWalHead } from '../helpers/wal-head.js';
import { writeStamped } from '../helpers/write-raw.js';

const walHead = (repo: string) => {
  try {
    return git(repo, 'rev-parse', 'refs/grit/wal').trim();
  } catch {
    return null;
  }
};

test('init writes config, a default actor and an AGENTS.md section once', () => {
  const repo = tempRepo();
  const d = gritOk(repo, ['init']);
  assert.match(d.actor.actor_id, /^[0-9a-f]{32}$/);
  assert.equal(d.actor.is_default, true);
  assert.match(readFileSync(join(repo, '.git/grit/config.toml'), 'utf8'), new RegExp(`default_actor = "${d.actor.actor_id}"`));
  assert.ok(existsSync(join(repo, '.git/grit/actors', d.actor.actor_id, 'config.toml')));
  const agents = readFileSync(join(repo, 'AGENTS.md'), 'utf8');
  assert.match(agents, /^## Grit$/m);
  assert.equal(d.already_initialized, false);
  const again = gritOk(repo, ['init']);
  assert.deepEqual([again.agents_md, again.already_initialized, again.actor.actor_id], ['unchanged', true, d.actor.actor_id]);
  assert.deepEqual(Object.keys(again), Object.keys(d), 'the same shape');
  assert.equal(readFileSync(join(repo, 'AGENTS.md'), 'utf8'), agents);
  // A person is told that nothing new was set up.
  assert.match(grit(repo, ['init']).stdout, /^grit was already initialized in \S+\n[\s\S]*AGENTS\.md: unchanged$/m);
  assert.match(grit(tempRepo(), ['init', '--no-agents-md']).stdout, /^initialized grit in /);
  // From below the top of the working tree, the file is named where it is, from there.
  const below = tempRepo();
  mkdirSync(join(below, 'src', 'cli'), { recursive: true });
  assert.match(grit(join(below, 'src', 'cli'), ['init']).stdout, /^\.\.\/\.\.\/AGENTS\.md: created$/m);
  // Nothing in the working tree but AGENTS.md.
  assert.equal(git(repo, 'status', '--porcelain').trim(), '?? AGENTS.md');
});

test('the AGENTS.md section means what it says: its commands run as written', async () => {
  const repo = tempRepo();
  await gritLib(repo, 'Init');
  const agents = readFileSync(join(repo, 'AGENTS.md'), 'utf8');
  const done = (await gritSetup(repo, ['issue', 'create', '--title', 'done already'])).issue_id;
  await gritSetup(repo, ['issue', 'close', done]);
  const todo = (await gritSetup(repo, ['issue', 'create', '--title', 'to do'])).issue_id;
  // Every command it shows without a placeholder (sync needs a remote, which this repo lacks).
  const commands = [...agents.matchAll(/`(grit [^`<…]+)`/g)].map((m) => m[1].split(' ').slice(1)).filter((c) => c[0] !== 'sync');
  assert.ok(commands.length >= 3, agents);
  for (const c of commands) assert.equal(grit(repo, c).code, 0, c.join(' '));
  // "open work" is open work.
  const open = commands.find((c) => c[0] === 'issue' && c[1] === 'list');
  assert.ok(open, 'it names a list of open work');
  assert.deepEqual(gritOk(repo, open!.filter((w) => w !== '--json')).issues.map((i: { issue_id: string }) => i.issue_id), [todo]);
});

test('the AGENTS.md section\'s agent path works with its placeholders filled in: an actor per agent, and a claim another agent is refused with exit 4', async () => {
  const repo = tempRepo();
  await gritLib(repo, 'Init');
  const agents = readFileSync(join(repo, 'AGENTS.md'), 'utf8');
  /** The words of the command the section shows that starts so, with its placeholders filled in. */
  const shown = (start: string, values: Record<string, string>): string[] => {
    const found = new RegExp(`\`grit (${start}[^\`]*)\``).exec(agents);
    assert.ok(found, `AGENTS.md shows \`grit ${start} …\`: ${agents}`);
    return found[1].split(' ').map((w) => w.replace(/<(\w+)>/g, (_, name: string) => values[name]));
  };
  // "then `--actor <agent>` on every command"
  const as = (agent: string, words: string[]): string[] => [...words, '--actor', agent];
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'shared work'])).issue_id;
  const actors = new Map<string, string>();
  for (const agent of ['agent-1', 'agent-2']) {
    const made = grit(repo, shown('actor init', { agent }));
    assert.equal(made.code, 0, made.stderr);
    actors.set(agent, made.json.data.actor.actor_id);
  }
  assert.notEqual(actors.get('agent-1'), actors.get('agent-2'));
  const claim = (agent: string) => grit(repo, as(agent, shown('lock acquire', { id, agent })));
  assert.equal(claim('agent-1').code, 0);
  const taken = claim('agent-2');
  assert.equal(taken.code, 4, taken.stdout + taken.stderr);
  assert.equal(taken.json.error.code, 'conflict');
  assert.equal(grit(repo, as('agent-1', shown('issue assignee add', { id, agent: 'agent-1' }))).code, 0);
  assert.equal(grit(repo, as('agent-1', shown('lock release', { id, agent: 'agent-1' }))).code, 0);
  assert.equal(claim('agent-2').code, 0, 'released, the issue can be claimed again');
  const shownIssue = await gritSetup(repo, ['issue', 'show', id]);
  assert.deepEqual(shownIssue.issue.assignees, ['agent-1']);
  // The log says who did what: the assignment is agent-1's own event.
  assert.equal(shownIssue.events.find((e: { kind: object }) => 'AssigneeAdded' in e.kind)?.actor, actors.get('agent-1'));
});

test('init --no-agents-md leaves AGENTS.md alone; an existing file gets the section appended', async () => {
  const repo = tempRepo();
  gritOk(repo, ['init', '--no-agents-md']);
  assert.equal(existsSync(join(repo, 'AGENTS.md')), false);
  const other = tempRepo();
  writeFileSync(join(other, 'AGENTS.md'), '# Rules\n\nBe nice.\n');
  assert.equal(gritOk(other, ['init']).agents_md, 'appended');
  assert.match(readFileSync(join(other, 'AGENTS.md'), 'utf8'), /Be nice\.\n\n## Grit/);
  // The heading is read by init's command function: every spelling here, the first through the CLI as well.
  for (const [i, heading] of ['## grit', '##  Grit ', '### GRIT', '## Grit ##'].entries()) {
    const own = tempRepo();
    const text = `# Rules\n\n${heading}\n\nours\n`;
    writeFileSync(join(own, 'AGENTS.md'), text);
    assert.equal((i === 0 ? gritOk(own, ['init']) : await gritLib(own, 'Init')).agents_md, 'unchanged', heading);
    assert.equal(readFileSync(join(own, 'AGENTS.md'), 'utf8'), text);
  }
});

test('init: a link planted at the name AGENTS.md\'s temporary file took (the pid was its only secret) is not written through', async () => {
  const repo = tempRepo();
  writeFileSync(join(repo, 'AGENTS.md'), '# Rules\n');
  const precious = join(tempDir(), 'bashrc');
  writeFileSync(precious, 'keep\n');
  // In this process, so the pid in the name is this one's. The name is unique to each write now,
  // and made exclusively wherever it is (replace-file.test.ts).
  symlinkSync(precious, join(repo, `AGENTS.md.${process.pid}.tmp`));
  assert.equal((await gritLib(repo, 'Init')).agents_md, 'appended');
  assert.equal(readFileSync(precious, 'utf8'), 'keep\n');
  assert.match(readFileSync(join(repo, 'AGENTS.md'), 'utf8'), /^# Rules\n\n## Grit/);
  assert.deepEqual(readdirSync(repo).filter((n) => n.startsWith('AGENTS.md.')), [`AGENTS.md.${process.pid}.tmp`], 'no temporary file of its own left');
});

test('init: AGENTS.md a link within the working tree is written through; one leaving it, into .git or to nothing, or no regular file, is left alone', async () => {
  const repo = tempRepo();
  writeFileSync(join(repo, 'CLAUDE.md'), '# Claude\n');
  symlinkSync('CLAUDE.md', join(repo, 'AGENTS.md'));
  assert.equal(gritOk(repo, ['init']).agents_md, 'appended');
  assert.match(readFileSync(join(repo, 'CLAUDE.md'), 'utf8'), /^# Claude\n\n## Grit/);
  const outside = join(tempDir(), 'bashrc');
  writeFileSync(outside, 'keep\n');
  const cases: [string, RegExp][] = [
    [outside, /it is a link to \S+bashrc, outside the working tree/],
    ['.git/config', /it is a link to \.git\/config, outside the working tree/],
    ['nowhere', /it is a link to nowhere, which does not exist/],
    ['.', /the file it links to, \S+, is not a regular file/],
  ];
  for (const [target, why] of cases) {
    const other = tempRepo();
    symlinkSync(target, join(other, 'AGENTS.md'));
    const config = readFileSync(join(other, '.git', 'config'), 'utf8');
    const r = grit(other, ['init', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.data.agents_md, 'not_written', target);
    assert.match(r.stderr, new RegExp(`^grit: warning: AGENTS\\.md was not written: ${why.source}`), target);
    assert.equal(readlinkSync(join(other, 'AGENTS.md')), target, 'the link is left as it was');
    assert.equal(readFileSync(join(other, '.git', 'config'), 'utf8'), config);
  }
  assert.equal(readFileSync(outside, 'utf8'), 'keep\n');
});

test('issue lifecycle: create, list, show, update, comment, label, assignee, link, attachment, close, reopen', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const c = gritOk(repo, ['issue', 'create', '--title', 'First', '--body', 'body text', '--label', 'bug', '--label', 'p0']);
  assert.match(c.issue_id, /^[0-9a-f]{32}$/);
  assert.match(c.event_id, /^[0-9a-f]{64}$/);
  assert.equal(c.wal_head, walHead(repo));
  const id = c.issue_id;
  const p = id.slice(0, 6);

  gritOk(repo, ['issue', 'update', p, '--title', 'First, renamed']);
  gritOk(repo, ['issue', 'comment', p, '--body', 'a comment']);
  gritOk(repo, ['issue', 'comment', p, '--body-file', '-'], { input: 'from stdin\n' });
  gritOk(repo, ['issue', 'label', 'remove', p, '--label', 'p0']);
  gritOk(repo, ['issue', 'label', 'add', p, '--label', 'ui']);
  gritOk(repo, ['issue', 'assignee', 'add', p, '--user', 'alice']);
  gritOk(repo, ['issue', 'assignee', 'add', p, '--user', 'bob']);
  gritOk(repo, ['issue', 'assignee', 'remove', p, '--user', 'alice']);
  // Removing what the issue does not have is not_found, and writes nothing.
  const headBefore = walHead(repo);
  for (const [set, flag, value] of [['label', '--label', 'p0'], ['label', '--label', 'never'], ['assignee', '--user', 'alice']]) {
    const r = grit(repo, ['issue', set, 'remove', p, flag, value, '--json']);
    assert.equal(r.code, 3, r.stdout);
    assert.equal(r.json.error.code, 'not_found');
    assert.match(r.json.error.message, new RegExp(`has no ${set} "${value}"`));
  }
  assert.equal(walHead(repo), headBefore);
  gritOk(repo, ['issue', 'link', 'add', p, '--url', 'https://example.com/x', '--note', 'spec']);
  writeFileSync(join(repo, 'crash.log'), 'boom\n');
  const att = gritOk(repo, ['issue', 'attachment', 'add', p, 'crash.log', '--mime', 'text/plain']);
  assert.equal(att.issue_id, id);
  const closed = gritOk(repo, ['issue', 'close', p]);
  assert.equal(closed.state, 'closed');

  const show = gritOk(repo, ['issue', 'show', p]);
  const i = show.issue;
  assert.equal(i.title, 'First, renamed');
  assert.equal(i.body, 'body text');
  assert.equal(i.state, 'closed');
  assert.deepEqual(i.labels, ['bug', 'ui']);
  assert.deepEqual(i.assignees, ['bob']);
  assert.deepEqual(i.comments.map((x: any) => x.body), ['a comment', 'from stdin\n']);
  assert.equal(i.comment_count, 2);
  assert.deepEqual(i.links.map((l: any) => [l.url, l.note]), [['https://example.com/x', 'spec']]);
  assert.equal(i.attachments[0].name, 'crash.log');
  assert.equal(i.attachments[0].sha256, '8d7a531d714c4bd7121bf7d639c6191ff6495a4f1132c9ae3cdd672be0168954');
  assert.equal(show.events.length, 12);
  assert.deepEqual(Object.keys(show.events[0].kind), ['IssueCreated']);
  assert.deepEqual(show.events[0].kind.IssueCreated.labels, ['bug', 'p0']);
  // Events are in (ts, actor, event_id) order, and each names its predecessor, but a remove names
  // the newest add of its member (docs/crdt.md): p0's is the create, alice's her assignee add.
  const removeParents: Record<number, number> = { 4: 0, 8: 6 };
  assert.deepEqual([4, 8].map((k) => Object.keys(show.events[k].kind)[0]), ['LabelRemoved', 'AssigneeRemoved']);
  for (let k = 1; k < show.events.length; k++) {
    assert.ok(show.events[k].ts_unix_ms > show.events[k - 1].ts_unix_ms);
    assert.equal(show.events[k].parent, show.events[removeParents[k] ?? k - 1].event_id, `event ${k}`);
  }

  gritOk(repo, ['issue', 'create', '--title', 'Second']);
  const all = gritOk(repo, ['issue', 'list']);
  assert.equal(all.total, 2);
  assert.deepEqual(Object.keys(all.issues[0]).sort(), ['assignees', 'comment_count', 'issue_id', 'labels', 'state', 'title', 'updated_ts']);
  assert.deepEqual(all.issues.map((x: any) => x.issue_id), [...all.issues.map((x: any) => x.issue_id)].sort());
  assert.equal(gritOk(repo, ['issue', 'list', '--state', 'open']).total, 1);
  assert.equal(gritOk(repo, ['issue', 'list', '--state', 'closed']).issues[0].issue_id, id);
  assert.equal(gritOk(repo, ['issue', 'list', '--label', 'ui']).issues[0].issue_id, id);
  assert.equal(gritOk(repo, ['issue', 'list', '--label', 'p0']).total, 0);
  assert.equal(gritOk(repo, ['issue', 'reopen', p]).state, 'open');

  // One commit per write, linear, and git itself is happy.
  assert.equal(git(repo, 'rev-list', '--count', 'refs/grit/wal').trim(), '14');
  assert.equal(git(repo, 'rev-list', '--merges', 'refs/grit/wal').trim(), '');
  fsckClean(repo);
  assert.match(git(repo, 'log', '--oneline', 'refs/grit/wal'), /./);
});

test('a write that finds its change already made says so (changed, previous_state), and is still written', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const { issue_id: id } = await gritSetup(repo, ['issue', 'create', '--title', 'raced', '--label', 'bug']);
  const first = gritOk(repo, ['issue', 'close', id]);
  assert.deepEqual([first.state, first.previous_state, first.changed], ['closed', 'open', true]);
  const second = gritOk(repo, ['issue', 'close', id]);
  assert.deepEqual([second.state, second.previous_state, second.changed], ['closed', 'closed', false]);
  assert.notEqual(second.event_id, first.event_id);
  assert.equal(gritOk(repo, ['issue', 'reopen', id]).changed, true);
  assert.equal(gritOk(repo, ['issue', 'label', 'add', id, '--label', 'bug']).changed, false);
  assert.equal(gritOk(repo, ['issue', 'label', 'add', id, '--label', 'ui']).changed, true);
  assert.equal(gritOk(repo, ['issue', 'assignee', 'add', id, '--user', 'ann']).changed, true);
  assert.equal(gritOk(repo, ['issue', 'assignee', 'add', id, '--user', 'ann']).changed, false);
  assert.equal(gritOk(repo, ['issue', 'assignee', 'remove', id, '--user', 'ann']).changed, true);
  // The reply and the human output name the member, as stored (trimmed).
  assert.equal(gritOk(repo, ['issue', 'label', 'add', id, '--label', ' docs ']).label, 'docs');
  const short = id.slice(0, 8);
  const said = (args: string[]) => grit(repo, ['issue', ...args], { env: { NO_COLOR: '1' } }).stdout.trim();
  assert.equal(said(['label', 'add', id, '--label', 'ui']), `added label ui to ${short} (already so)`);
  assert.equal(said(['label', 'remove', id, '--label', 'ui']), `removed label ui from ${short}`);
  assert.equal(said(['assignee', 'add', id, '--user', 'bo']), `added assignee bo to ${short}`);
  assert.equal(said(['assignee', 'remove', id, '--user', 'bo']), `removed assignee bo from ${short}`);
  // update: changed when any field it sets differs; the event is written either way.
  const same = gritOk(repo, ['issue', 'update', id, '--title', ' raced ']);
  assert.equal(same.changed, false);
  assert.equal(gritOk(repo, ['issue', 'update', id, '--body', '']).changed, false);
  assert.equal(gritOk(repo, ['issue', 'update', id, '--title', 'raced', '--body', 'new']).changed, true);
  assert.equal(gritOk(repo, ['issue', 'update', id, '--title', 'renamed', '--body', 'new']).changed, true);
  assert.equal(gritOk(repo, ['issue', 'update', id, '--title', 'renamed', '--body', 'new']).changed, false);
  assert.ok(gritOk(repo, ['issue', 'show', id]).events.some((e: any) => e.event_id === same.event_id));
});

test('after an event stamped above 2^53 - 1 (a nanosecond clock), each remove takes away the add just before it: labels, assignees, dependencies; a rebuild agrees', async () => {
  // The stamps and the sets are the command functions' and the store's: run in this process.
  const repo = tempRepo();
  await gritInit(repo);
  const other = (await gritSetup(repo, ['issue', 'create', '--title', 'other'])).issue_id;
  // At 1.8e18 numbers are 256 apart, just above 2^53 two: each of grit's own events (stamped one
  // after the newest) used to round onto the number of the one before.
  const far = [1_800_000_000_000_000_000n, 2n ** 53n + 1n].map((start, n) => ({ start, id: `${n + 1}`.repeat(32) }));
  const sets = async (id: string) => {
    const { issue } = await gritSetup(repo, ['issue', 'show', id]);
    return [issue.labels, issue.assignees, issue.dependencies];
  };
  for (const { start, id } of far) {
    await writeStamped(repo, start, fromHex(id, 16)!, { type: 'IssueCreated', title: 'far', body: '', labels: [] });
    const pairs = [
      [['label', 'add', id, '--label', 'bug'], ['label', 'remove', id, '--label', 'bug']],
      [['assignee', 'add', id, '--user', 'al'], ['assignee', 'remove', id, '--user', 'al']],
      [['dep', 'add', id, '--target', other, '--type', 'related_to'], ['dep', 'remove', id, '--target', other, '--type', 'related_to']],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [add, remove] of pairs) {
        await gritSetup(repo, ['issue', ...add]);
        await gritSetup(repo, ['issue', ...remove]);
      }
      assert.deepEqual(await sets(id), [[], [], []], `${start}, round ${round}`);
    }
    const stamps = (await gritSetup(repo, ['issue', 'show', id])).events.map((e: any) => e.ts_exact);
    assert.deepEqual(stamps, Array.from({ length: 13 }, (_, k) => String(start + BigInt(k))), 'one step apart');
  }
  assert.deepEqual((await gritSetup(repo, ['issue', 'list', '--label', 'bug'])).issues, []);
  await gritSetup(repo, ['rebuild']);
  for (const { id } of far) assert.deepEqual(await sets(id), [[], [], []]);
});

test('after an add stamped 2^64 - 1 (no later u64), a remove of it is refused (conflict, exit 4) rather than written to remove nothing; older adds are still taken away; in a group commit the writes after it are judged without it', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const [x, z] = await createdIssues(repo, ['x', 'z']);
  await gritSetup(repo, ['issue', 'label', 'add', x, '--label', 'early']);
  // Another writer's clock stamps the issue 2^64 - 1: grit's own events on it are stamped so too.
  await writeStamped(repo, U64_MAX, fromHex(x, 16)!, { type: 'CommentAdded', body: 'at the end of time' });
  await gritSetup(repo, ['issue', 'label', 'add', x, '--label', 'late']);
  await gritSetup(repo, ['issue', 'dep', 'add', x, '--target', z, '--type', 'blocks']);
  const head = walHead(repo);
  const r = grit(repo, ['issue', 'label', 'remove', x, '--label', 'late', '--json']);
  assert.equal(r.code, 4, r.stdout);
  assert.equal(r.json.error.code, 'conflict');
  assert.deepEqual([r.json.error.details.member, r.json.error.details.added_ts], ['label late', String(U64_MAX)]);
  assert.equal(walHead(repo), head, 'nothing written');
  await gritSetup(repo, ['issue', 'label', 'remove', x, '--label', 'early']);
  assert.deepEqual((await gritSetup(repo, ['issue', 'show', x])).issue.labels, ['late']);

  // The refused dependency remove was ahead of the edge back in the batch: judged again without
  // it, that edge closes a cycle.
  const settled = await settledInOneGroup(repo, (ctx) => [
    issueDepRemove(ctx, { issue_id: x, target: z, dep_type: 'blocks' }),
    issueDepAdd(ctx, { issue_id: z, target: x, dep_type: 'blocks' }),
    issueComment(ctx, { issue_id: z, body: 'still written' }),
  ]);
  const reasons = settled.map((s) => (s.status === 'rejected' ? s.reason.details : 'ok'));
  assert.deepEqual(reasons, [{ issue_id: x, member: `dependency ${z} blocks`, add_event_id: reasons[0].add_event_id, added_ts: String(U64_MAX) }, reasons[1], 'ok']);
  assert.deepEqual(reasons[1].cycle, [z, x]);
  assert.deepEqual((await gritSetup(repo, ['issue', 'show', x])).issue.dependencies, [{ target: z, dep_type: 'blocks' }]);
});

test('attachment add without --mime: the type by the name\'s extension, application/octet-stream else; --mime wins', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const { issue_id: id } = await gritSetup(repo, ['issue', 'create', '--title', 'files']);
  const cases: [string, string][] = [
    ['notes.txt', 'text/plain'],
    ['SHOT.PNG', 'image/png'],
    ['data.json', 'application/json'],
    ['trace.tar.gz', 'application/gzip'],
    ['main.py', 'text/x-python'],
    ['Makefile', 'application/octet-stream'],
    ['.env', 'application/octet-stream'],
    ['blob.xyz', 'application/octet-stream'],
  ];
  for (const [name] of cases) writeFileSync(join(repo, name), 'x');
  for (const [name] of cases) gritOk(repo, ['issue', 'attachment', 'add', id, name]);
  gritOk(repo, ['issue', 'attachment', 'add', id, 'notes.txt', '--mime', 'application/x-custom']);
  gritOk(repo, ['issue', 'attachment', 'add', id, '--name', 'report.pdf', '--sha256', 'ab'.repeat(32)]);
  // With parameters, as `file --mime` prints it.
  gritOk(repo, ['issue', 'attachment', 'add', id, 'notes.txt', '--mime', 'text/plain; charset=us-ascii']);
  gritOk(repo, ['issue', 'attachment', 'add', id, 'notes.txt', '--mime', 'multipart/mixed;boundary="a b"']);
  const got = gritOk(repo, ['issue', 'show', id]).issue.attachments.map((a: any) => [a.name, a.mime]);
  assert.deepEqual(got, [...cases, ['notes.txt', 'application/x-custom'], ['report.pdf', 'application/pdf'], ['notes.txt', 'text/plain; charset=us-ascii'], ['notes.txt', 'multipart/mixed;boundary="a b"']]);
  for (const mime of ['text', 'text/plain;', 'text/plain; charset=', 'text/plain; x', 'text/plain;\ncharset=x', 'text/plain; a="x\ny"']) {
    const r = grit(repo, ['issue', 'attachment', 'add', id, 'notes.txt', '--mime', mime, '--json']);
    assert.deepEqual([r.code, r.json.error.code], [2, 'invalid_args'], mime);
    assert.match(r.json.error.message, /^--mime must look like type\/subtype, with any parameters as ; name=value$/);
  }
});

test('attachment add: a --sha256 given with a file must be its hash, a malformed one is refused, - reads standard input; the reply says what was recorded', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const { issue_id: id } = await gritSetup(repo, ['issue', 'create', '--title', 'files']);
  writeFileSync(join(repo, 'f.txt'), 'hello');
  const sha = createHash('sha256').update('hello').digest('hex');
  const other = '0'.repeat(63) + '1';
  for (const [args, input, message] of [
    [['issue', 'attachment', 'add', id, 'f.txt', '--sha256', other], undefined, `${join(realpathSync(repo), 'f.txt')} hashes to ${sha}, not ${other}`],
    [['issue', 'attachment', 'add', id, 'f.txt', '--sha256', 'zz'], undefined, '--sha256 must be 64 hex characters'],
    [['issue', 'attachment', 'add', id, '-', '--name', 'in.txt', '--sha256', other], 'hello', `standard input hashes to ${sha}, not ${other}`],
    [['issue', 'attachment', 'add', id, '-', '--name', 'in.txt', '--sha256', 'zz'], 'hello', '--sha256 must be 64 hex characters'],
    [['issue', 'attachment', 'add', id, '-'], 'hello', '--name is required with - (standard input has no file name)'],
  ] as const) {
    const r = grit(repo, [...args, '--json'], { input });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.json.error.code, 'invalid_args');
    assert.equal(r.json.error.message, message);
    assert.ok(r.json.error.details.suggestion);
  }
  assert.equal((await gritSetup(repo, ['issue', 'show', id])).events.length, 1, 'nothing written');
  // The issue is found before the file is read: a mistyped id is not_found, whatever the file.
  const typo = grit(repo, ['issue', 'attachment', 'add', 'ffff', 'missing.bin', '--json']);
  assert.equal(typo.code, 3, typo.stdout);
  assert.equal(typo.json.error.code, 'not_found');
  // The same hash in capitals, and standard input: recorded, and the reply names what.
  const matched = gritOk(repo, ['issue', 'attachment', 'add', id, 'f.txt', '--sha256', sha.toUpperCase()]);
  assert.deepEqual([matched.name, matched.sha256, matched.mime], ['f.txt', sha, 'text/plain']);
  const piped = gritOk(repo, ['issue', 'attachment', 'add', id, '-', '--name', 'app.log', '--mime', 'text/plain'], { input: 'hello' });
  assert.deepEqual([piped.name, piped.sha256, piped.mime], ['app.log', sha, 'text/plain']);
  const human = grit(repo, ['issue', 'attachment', 'add', id, '-', '--name', 'out.json'], { input: 'hello' });
  assert.equal(human.stdout, `attached out.json (application/json, sha256 ${sha.slice(0, 12)}) to ${id.slice(0, 8)}\n`);
  const got = gritOk(repo, ['issue', 'show', id]).issue.attachments.map((a: any) => [a.name, a.sha256]);
  assert.deepEqual(got, [['f.txt', sha], ['app.log', sha], ['out.json', sha]]);
});

test('- with nothing on standard input (closed, or /dev/null) is refused for every reader; an empty pipe is empty content', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const { issue_id: id } = await gritSetup(repo, ['issue', 'create', '--title', 'stdin']);
  const env = { ...process.env, GRIT_NO_DAEMON: '1', GRIT_HOME: undefined };
  // `<&-` as a shell gives it; 'ignore' is /dev/null, which is how Node presents a closed stdin.
  const closed = (args: string[]) => spawnSync('sh', ['-c', 'exec "$@" <&-', 'sh', process.execPath, GRIT_BIN, ...args, '--json'], { cwd: repo, env, encoding: 'utf8' });
  const devNull = (args: string[]) => spawnSync(process.execPath, [GRIT_BIN, ...args, '--json'], { cwd: repo, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  for (const [args, what] of [
    [['issue', 'attachment', 'add', id, '-', '--name', 'x.bin'], 'the attachment'],
    [['issue', 'comment', id, '--body-file', '-'], 'the body'],
    [['issue', 'create', '--title', 'x', '--body-file', '-'], 'the body'],
    [['context', 'set', 'k', '--value-file', '-'], 'the value'],
  ] as const) {
    for (const run of [closed, devNull]) {
      const r = run([...args]);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      const { error } = JSON.parse(r.stdout);
      assert.equal(error.code, 'invalid_args');
      assert.equal(error.message, `standard input is closed (or /dev/null): nothing is piped in for ${what}`);
      assert.equal(error.details.stdin, 'closed');
    }
  }
  assert.equal((await gritSetup(repo, ['issue', 'show', id])).events.length, 1, 'nothing written');
  // An empty pipe is an empty file, said so by the one who piped it.
  const empty = gritOk(repo, ['issue', 'attachment', 'add', id, '-', '--name', 'empty.txt'], { input: '' });
  assert.equal(empty.sha256, createHash('sha256').digest('hex'));
});

test('a link that would run code where it is followed, or has no scheme, is refused; an id pasted with its # is taken', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const { issue_id: id } = await gritSetup(repo, ['issue', 'create', '--title', 'links']);
  for (const url of ['javascript:alert(1)', ' JavaScript:alert(1)', 'java\tscript:alert(1)', 'data:text/html,<script>x</script>']) {
    const r = grit(repo, ['issue', 'link', 'add', `#${id.slice(0, 8)}`, '--url', url, '--json']);
    assert.equal(r.code, 2, url);
    assert.match(r.json.error.message, /^--url must not be a .*: link/);
  }
  // A URL without its scheme, or a note given as the url: refused, not stored as a link nothing can open.
  for (const url of ['notaurl', 'www.example.com', 'see the log', '/var/log/app.log']) {
    const r = grit(repo, ['issue', 'link', 'add', id, '--url', url, '--json']);
    assert.equal(r.code, 2, url);
    assert.equal(r.json.error.code, 'invalid_args');
    assert.equal(r.json.error.message, `--url must be a URL with its scheme, such as https://… (got ${JSON.stringify(url)})`);
    assert.match(r.json.error.details.suggestion, /--url https:\/\//);
  }
  // A space: a note run into the url, or a space that a URL writes %20.
  for (const url of ['https://example.com/1 see logs', 'https://example.com/a b']) {
    const r = grit(repo, ['issue', 'link', 'add', id, '--url', url, '--json']);
    assert.deepEqual([r.code, r.json.error.code, r.json.error.message], [2, 'invalid_args', `--url must not hold spaces (got ${JSON.stringify(url)})`]);
    assert.match(r.json.error.details.suggestion, /%20.*--note/);
  }
  gritOk(repo, ['issue', 'link', 'add', `#${id.slice(0, 8)}`, '--url', 'https://example.com/a?b=javascript:x']);
  for (const url of ['mailto:dev@example.com', 'file:///var/log/app.log', 'ssh://git@example.com/r.git']) gritOk(repo, ['issue', 'link', 'add', id, '--url', url]);
  assert.equal(gritOk(repo, ['issue', 'show', `#${id.slice(0, 8)}`]).issue.links.length, 4);
});

test('errors: coded envelope, exit code, suggestion, and nothing written', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const a = await gritSetup(repo, ['issue', 'create', '--title', 'A']);
  const head = walHead(repo);

  const missing = grit(repo, ['issue', 'show', 'abcdabcd', '--json']);
  assert.equal(missing.code, 3);
  assert.deepEqual(Object.keys(missing.json), ['schema_version', 'ok', 'error']);
  assert.equal(missing.json.ok, false);
  assert.equal(missing.json.error.code, 'not_found');
  const human = grit(repo, ['issue', 'show', 'abcdabcd']);
  assert.equal(human.code, 3);
  assert.match(human.stderr, /error: no issue abcdabcd\nhint: .*grit issue list/);
  assert.equal(human.stdout, '');

  const empty = grit(repo, ['issue', 'create', '--title', '  ', '--json']);
  assert.equal(empty.code, 2);
  assert.equal(empty.json.error.code, 'invalid_args');
  const emptyLabel = grit(repo, ['issue', 'create', '--title', 'x', '--label', '', '--json']);
  assert.equal(emptyLabel.code, 2);
  assert.equal(emptyLabel.json.error.message, '--label must be non-empty text', 'the flag as typed, not the IPC key');

  const unknownFlag = grit(repo, ['issue', 'list', '--bogus', '--json']);
  assert.equal(unknownFlag.code, 2);
  assert.equal(unknownFlag.json.error.code, 'invalid_args');

  const shortPrefix = grit(repo, ['issue', 'close', a.issue_id.slice(0, 3), '--json']);
  assert.equal(shortPrefix.code, 2);
  const notHex = grit(repo, ['issue', 'close', 'zzzzzz', '--json']);
  assert.equal(notHex.code, 2);
  const badState = grit(repo, ['issue', 'list', '--state', 'done', '--json']);
  assert.equal(badState.code, 2);
  const badSha = grit(repo, ['issue', 'attachment', 'add', a.issue_id, '--name', 'x', '--sha256', 'abc', '--json']);
  assert.equal(badSha.code, 2);
  const noChange = grit(repo, ['issue', 'update', a.issue_id, '--json']);
  assert.equal(noChange.code, 2);
  assert.deepEqual([noChange.json.error.details.field, noChange.json.error.details.suggestion], ['title', 'give --title or --body, for example `grit issue update <id> --title "…"`']);

  assert.equal(walHead(repo), head, 'no failed command wrote to the WAL');

  const outside = grit(tempDir(), ['issue', 'list', '--json']);
  assert.equal(outside.code, 5);
  assert.match(outside.json.error.message, /not a git repository/);
  const bare = join(tempDir(), 'bare.git');
  git(tempDir(), 'init', '-q', '--bare', bare);
  const inBare = grit(bare, ['issue', 'list', '--json']);
  assert.equal(inBare.code, 5);
  assert.match(inBare.json.error.message, /is a bare repository: grit works in a clone/);
  // Any spelling of true git accepts (a regex for `= true` missed these).
  git(bare, 'config', 'core.bare', 'yes');
  assert.match(grit(bare, ['issue', 'list', '--json']).json.error.message, /is a bare repository/);
  // Inside a clone's own .git directory, the clone is found as before.
  assert.equal(gritOk(join(repo, '.git'), ['issue', 'list']).total, gritOk(repo, ['issue', 'list']).total);
});

test('a command run from a directory deleted under the shell: io_error, exit 5, saying so, locally and through the daemon', async () => {
  const gone = tempRepo();
  await gritInit(gone);
  for (const noDaemon of ['1', '']) {
    const r = spawnSync('bash', ['-c', `cd "$1" && rm -rf "$1" && exec "$2" "$3" issue list --json`, 'sh', gone, process.execPath, GRIT_BIN], {
      encoding: 'utf8',
      env: { ...process.env, GRIT_NO_DAEMON: noDaemon, GRIT_RUN_DIR: join(tempDir(), 'run') },
    });
    assert.equal(r.status, 5, r.stdout + r.stderr);
    const error = JSON.parse(r.stdout).error;
    assert.deepEqual([error.code, error.message], ['io_error', 'the current directory no longer exists']);
    assert.match(error.details.suggestion, /^cd to a directory that exists/);
    mkdirSync(gone);
  }
  // Lines that oclif reads: its warning on loading ("WARNING: current directory does not exist")
  // came before grit's own error, or before help, which needs no directory.
  for (const [line, status] of [['issue list --bogus', 2], ['bogus', 2], ['daemon status', 5], ['--help', 0]] as const) {
    const r = spawnSync('bash', ['-c', `cd "$1" && rm -rf "$1" && exec "$2" "$3" ${line}`, 'sh', gone, process.execPath, GRIT_BIN], { encoding: 'utf8', env: { ...process.env, GRIT_NO_DAEMON: '1' } });
    assert.equal(r.status, status, `${line}: ${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stderr, /WARNING/, line);
    if (status !== 0) assert.match(r.stderr, /^error: .+\nhint: .+\n$/, line);
    mkdirSync(gone);
  }
});

test("GIT_DIR, GIT_WORK_TREE or GIT_COMMON_DIR naming another repository is refused; a git hook's, naming this one, is fine", async () => {
  const here = tempRepo();
  const other = tempRepo();
  await gritInit(here);
  const title = 'lives here';
  await gritSetup(here, ['issue', 'create', '--title', title]);
  mkdirSync(join(here, 'sub'), { recursive: true });
  // As git sets it for a hook: relative, or absolute.
  for (const [cwd, gitDir] of [[here, '.git'], [join(here, 'sub'), join(here, '.git')]]) {
    assert.equal(gritOk(cwd, ['issue', 'list'], { env: { GIT_DIR: gitDir } }).issues[0].title, title);
  }
  // Naming this repository's own common git dir, as git would read it.
  assert.equal(gritOk(here, ['issue', 'list'], { env: { GIT_COMMON_DIR: join(here, '.git') } }).issues[0].title, title);
  for (const env of [{ GIT_DIR: join(other, '.git') }, { GIT_WORK_TREE: other }, { GIT_COMMON_DIR: join(other, '.git') }]) {
    const refused = grit(here, ['issue', 'list', '--json'], { env });
    assert.equal(refused.code, 5, refused.stdout);
    // As "not a git repository": the environment names the wrong repository, not the command line.
    assert.equal(refused.json.error.code, 'git_error');
    assert.match(refused.json.error.message, /^GIT_(DIR|WORK_TREE|COMMON_DIR) names .*, but grit works on the repository of the working directory/);
  }
  // Naming nothing at all: no repository to go to, so the plan is to unset it.
  const nowhere = grit(join(here, 'sub'), ['issue', 'list', '--json'], { env: { GIT_DIR: '.git' } });
  assert.equal(nowhere.code, 5, nowhere.stdout);
  assert.equal(nowhere.json.error.message, `GIT_DIR names .git, which does not exist (grit works on the repository of the working directory, ${here})`);
  assert.equal(nowhere.json.error.details.suggestion, 'unset GIT_DIR (`unset GIT_DIR`): git fails with it too');
  const outside = grit(tempDir(), ['issue', 'list', '--json'], { env: { GIT_DIR: join(here, '.git') } });
  assert.equal(outside.code, 5);
  assert.match(outside.json.error.message, /not a git repository: .*not from GIT_DIR/);
});

test("a `.git` git would not take is not a repository: an empty one is passed over, a `.git` file naming none is refused, locally and through the daemon", async () => {
  const outer = tempRepo();
  await gritInit(outer);
  await gritSetup(outer, ['issue', 'create', '--title', 'outer']);
  // A worktree whose admin directory went (pruned, or the repository moved).
  git(outer, 'commit', '-q', '--allow-empty', '-m', 'x');
  const orphan = join(tempDir(), 'orphan');
  git(outer, 'worktree', 'add', '-q', orphan, '-b', 'orphan');
  const admin = join(outer, '.git/worktrees/orphan');
  rmSync(admin, { recursive: true });
  const nowhere = join(tempDir(), 'nowhere');
  mkdirSync(nowhere);
  const missing = join(tempDir(), 'missing');
  writeFileSync(join(nowhere, '.git'), `gitdir: ${missing}/.git\n`);
  const hollow = join(outer, 'pkg');
  mkdirSync(join(hollow, '.git'), { recursive: true });
  for (const env of bothWays()) {
    // As git does: the repository around an empty `.git` directory.
    gritOk(hollow, ['issue', 'create', '--title', 'from pkg'], { env });
    assert.deepEqual(filesUnder(join(hollow, '.git')), []);
    for (const cwd of [orphan, nowhere]) {
      const refused = grit(cwd, ['issue', 'create', '--title', 'lost', '--json'], { env });
      assert.equal(refused.code, 5, refused.stdout);
      assert.equal(refused.json.error.code, 'git_error');
      assert.match(refused.json.error.message, new RegExp(`^not a git repository: .*, which ${join(cwd, '.git')} names$`));
    }
    assert.equal(existsSync(admin), false, 'nothing made where the worktree\'s admin directory was');
    assert.equal(existsSync(missing), false);
  }
  assert.deepEqual(gritOk(outer, ['issue', 'list']).issues.map((i: { title: string }) => i.title).sort(), ['from pkg', 'from pkg', 'outer']);
  // A `.git` directory whose config says the repository is bare: git gives it no work tree.
  const bareFlag = tempRepo();
  git(bareFlag, 'config', 'core.bare', 'true');
  for (const env of bothWays()) {
    const refused = grit(bareFlag, ['init', '--json'], { env });
    assert.equal(refused.code, 5, refused.stdout);
    assert.match(refused.json.error.message, /is a bare repository to git: .*core\.bare = true/);
    // The plan is to unset the setting, not to clone the repository it is run in.
    assert.match(refused.json.error.details.suggestion, new RegExp(`^if ${bareFlag} is its working tree, run \`git -C ${bareFlag} config core\\.bare false\``));
  }
});

/** Every file under `dir`, to tell that a refused command wrote nothing. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

/** Sets the repository format by writing the config (git itself refuses `git config` in most of the formats tested). */
function setFormat(repo: string, version: number, extensions: string): void {
  const path = join(repo, '.git/config');
  const config = readFileSync(path, 'utf8').replace(/repositoryformatversion = 0/, `repositoryformatversion = ${version}`);
  writeFileSync(path, extensions ? `${config}[extensions]\n\t${extensions}\n` : config);
}

/**
 * Locally and through a daemon (of this file's own run directory, one for all its tests, stopped
 * after them): a refusal comes from discovery either way.
 */
const daemonRunDir = join(tempDir(), 'run');
const bothWays = (): NodeJS.ProcessEnv[] => [{}, { GRIT_NO_DAEMON: '', GRIT_RUN_DIR: daemonRunDir }];
after(() => stopDaemonIn(daemonRunDir));

test('a repository grit cannot write (SHA-256, reftable, an unknown extension, format version 2) is refused before anything is written', async () => {
  const repos: [string, RegExp][] = [];
  const sha256 = tempDir();
  if (spawnSync('git', ['init', '-q', '--object-format=sha256'], { cwd: sha256 }).status === 0) {
    git(sha256, '-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-q', '--allow-empty', '-m', 'x');
    repos.push([sha256, /does not support the sha256 object format/]);
  }
  const withFormat = (version: number, extensions: string, expected: RegExp) => {
    const repo = tempRepo();
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'x');
    setFormat(repo, version, extensions);
    repos.push([repo, expected]);
  };
  withFormat(1, 'refStorage = reftable', /does not support the reftable ref storage/);
  withFormat(1, 'objectFormat = sha256', /does not support the sha256 object format/);
  withFormat(1, 'compatObjectFormat = sha256', /unknown repository extension extensions.compatobjectformat/);
  withFormat(2, '', /repository format version 2/);
  withFormat(0, 'objectFormat = sha1', /version 0 with extensions.objectformat, which needs version 1/);
  const lines = [['init', '--no-agents-md'], ['issue', 'create', '--title', 'x'], ['issue', 'list']];
  for (const [n, [repo, expected]] of repos.entries()) {
    const before = filesUnder(join(repo, '.git'));
    // One check in discovery refuses every format for every command: each line here in this
    // process; through the CLI, locally and through the daemon, each line for the first repository
    // and one line, by one route, for each other.
    for (const args of lines) {
      const err = await gritSetup(repo, args).then(() => null, (e) => e);
      assert.equal(err?.code, 'git_error', `${repo} ${args.join(' ')}: ${err}`);
      assert.equal(err.exitCode, 5);
      assert.match(err.message, expected);
      assert.match(err.suggestion, /^use grit in a repository/);
    }
    const viaCli = n === 0 ? bothWays().flatMap((env) => lines.map((args) => ({ args, env }))) : [{ args: lines[n % 3], env: bothWays()[n % 2] }];
    for (const { args, env } of viaCli) {
      const refused = grit(repo, [...args, '--json'], { env });
      assert.equal(refused.code, 5, `${repo} ${args.join(' ')}: ${refused.stdout}${refused.stderr}`);
      assert.equal(refused.json.error.code, 'git_error');
      assert.match(refused.json.error.message, expected);
      assert.match(refused.json.error.details.suggestion, /^use grit in a repository/);
    }
    assert.deepEqual(filesUnder(join(repo, '.git')), before, `nothing written in ${repo}`);
    assert.ok(!existsSync(join(repo, 'AGENTS.md')));
    // doctor's report in this process, and its exit status through the CLI for the first repository.
    const doctor = (n === 0 ? gritDoctor(repo) : await gritSetup(repo, ['doctor'])).checks.find((c: { id: string }) => c.id === 'git_repo');
    assert.match(doctor.message, expected);
    assert.match(doctor.plan, /^use grit in a repository/);
  }
});

test('extensions that ask nothing grit cannot give work: noop, worktreeConfig, partialClone, preciousObjects, refStorage=files; unknown ones in a version 0 repository are ignored, as git does', async () => {
  for (const [version, extensions] of [
    [1, 'noop = x\n\tworktreeConfig = true\n\tpartialClone = origin\n\tpreciousObjects = true\n\tobjectFormat = sha1\n\trefStorage = files'],
    [0, 'somethingNew = 1'],
  ] as const) {
    const repo = tempRepo();
    setFormat(repo, version, extensions);
    // Discovery is the command functions' (this process); the write through the CLI as well.
    await gritInit(repo);
    const { issue_id } = gritOk(repo, ['issue', 'create', '--title', 'works']);
    assert.equal((await gritSetup(repo, ['issue', 'show', issue_id])).issue.title, 'works');
  }
});

const asRoot = { skip: process.geteuid?.() !== 0 ? 'needs root, to make a repository another user owns' : false };

test("another user's repository is refused (git's safe.directory rule) before anything runs or is written, unless the global config or SUDO_UID allows it", asRoot, () => {
  const repo = realpathSync(tempRepo());
  git(repo, 'commit', '-q', '--allow-empty', '-m', 'x');
  // The owner's config would run as the caller if grit went on (grit spawns git with --git-dir).
  git(repo, 'config', 'core.sshCommand', 'touch pwned; ssh');
  git(repo, 'config', 'safe.directory', '*'); // a repository cannot vouch for itself
  execFileSync('chown', ['-R', '65534', repo]);
  const global = join(tempDir(), 'gitconfig');
  writeFileSync(global, '');
  const before = filesUnder(join(repo, '.git'));
  for (const env of bothWays()) {
    for (const args of [['init', '--no-agents-md'], ['issue', 'list']]) {
      const refused = grit(repo, [...args, '--json'], { env: { ...env, GIT_CONFIG_GLOBAL: global } });
      assert.equal(refused.code, 5, refused.stdout + refused.stderr);
      assert.equal(refused.json.error.code, 'git_error');
      assert.match(refused.json.error.message, new RegExp(`^detected dubious ownership in repository at ${repo}: .* is owned by uid 65534, grit runs as uid 0$`));
      assert.equal(refused.json.error.details.suggestion, `if you trust the repository, run \`git config --global --add safe.directory ${repo}\``);
    }
  }
  assert.deepEqual(filesUnder(join(repo, '.git')), before);
  // A value that names another directory, or an empty one after the right one, does not allow it.
  writeFileSync(global, `[safe]\n\tdirectory = ${repo}\n\tdirectory = /elsewhere\n\tdirectory =\n`);
  assert.equal(grit(repo, ['issue', 'list', '--json'], { env: { GIT_CONFIG_GLOBAL: global } }).code, 5);
  writeFileSync(global, `[safe]\n\tdirectory = ${repo}\n`);
  gritOk(repo, ['init', '--no-agents-md'], { env: { GIT_CONFIG_GLOBAL: global } });
  for (const env of bothWays()) assert.equal(gritOk(repo, ['issue', 'list'], { env: { ...env, GIT_CONFIG_GLOBAL: global } }).total, 0);
  for (const env of bothWays()) {
    // root working in its own user's repository through sudo, as git (2.37 on) allows.
    assert.equal(gritOk(repo, ['issue', 'list'], { env: { ...env, GIT_CONFIG_GLOBAL: '/dev/null', SUDO_UID: '65534' } }).total, 0);
    assert.equal(grit(repo, ['issue', 'list', '--json'], { env: { ...env, GIT_CONFIG_GLOBAL: '/dev/null', SUDO_UID: '65533' } }).code, 5);
    // The global config found from the caller's HOME: one shell's allows it, another's does not.
    const home = tempDir();
    writeFileSync(join(home, '.gitconfig'), `[safe]\n\tdirectory = ${repo}\n`);
    assert.equal(gritOk(repo, ['issue', 'list'], { env: { ...env, HOME: home } }).total, 0);
    assert.equal(grit(repo, ['issue', 'list', '--json'], { env: { ...env, HOME: tempDir() } }).code, 5);
  }
  assert.ok(!existsSync(join(repo, 'pwned')));
});

test('command-line mistakes: one JSON object under --json, a one-line message that names the problem, a plan', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const cases: [string[], RegExp, RegExp][] = [
    // oclif's parse errors in grit's words, with an example of what was missing.
    [['issue', 'create'], /^--title is required$/, /^for example `grit issue create --title "…"` \(`grit issue create --help` says what it takes\)$/],
    [['issue', 'label', 'add', 'abcd'], /^--label is required$/, /^for example `grit issue label add <id> --label "…"`/],
    [['lock', 'acquire'], /^--resource is required$/, /^for example `grit lock acquire --resource "…"`/],
    [['issue', 'dep', 'add', 'abcd'], /^--target and --type are required$/, /^for example `grit issue dep add <id> --target "…" --type blocks`/],
    [['issue', 'list', '--state', 'opn'], /^--state must be one of open, closed \(got opn\)$/, /^for example --state open/],
    [['issue', 'create', '--title', 'a', '--title', 'b'], /^--title was given more than once; it takes one value$/, /^give --title once/],
    // The table adds --json after the line: `--title --json` is the flag with its value left out.
    [['issue', 'create', '--title'], /^--title needs a value$/, /^for example --title "…"; a value that starts with - goes as --title=-…/],
    [['issue', 'list', '--state'], /^--state needs a value \(one of open, closed\)$/, /^for example --state open/],
    [['issue', 'list', 'a', 'b'], /^unexpected argument for `grit issue list`: a b$/, /grit issue list --help/],
    [['issue', 'list', '--bogus'], /^unknown flag for `grit issue list`: --bogus$/, /^leave it out \(/],
    // A text argument may start with -: the hint says how to give it, not only to leave it out.
    [['context', 'set', 'test.flags', '-v'], /^unknown flag for `grit context set`: -v$/, /^leave it out, or, if it is an argument, put -- before the arguments: `grit context set -- <key> <value>` \(/],
    [['context', 'query', '-x'], /^unknown flag for `grit context query`: -x$/, /put -- before the arguments: `grit context query -- <query>`/],
    [['issue', 'show'], /^<id> is required$/, /^give <id> after `grit issue show` \(`grit issue show --help` says what it takes\)$/],
    [['issue', 'create', '--titel', 'x'], /^unknown flag for `grit issue create`: --titel$/, /^did you mean --title\? \(`grit issue create --help`/],
    [['issue', 'show', 'abcd', 'extra'], /^unexpected argument for `grit issue show`: extra$/, /--help/],
    // Worded as `--keep abc` is (the command checks both), not as oclif's parser would.
    [['snapshot', 'gc', '--keep', '-1'], /^--keep must be a whole number, 0 or more$/, /^give --keep a whole number, 0 or more, in digits only .*--keep 3$/],
    [['bogus'], /^unknown command: grit bogus$/, /grit help/],
    [['issue', 'lst'], /^unknown command: grit issue lst$/, /did you mean `grit issue list`/],
    [['issue', 'assign'], /^unknown command: grit issue assign$/, /did you mean `grit issue assignee add` or `grit issue assignee remove`\?$/],
    [['issue', 'assign', '--help'], /^unknown command: grit issue assign$/, /did you mean `grit issue assignee add --help`/],
    [['issue', 'shwo', 'abcd'], /^unknown command: grit issue shwo$/, /did you mean `grit issue show`\?$/],
    [['issue', 'comentt', 'abcd', '--body', 'x'], /^unknown command: grit issue comentt$/, /did you mean `grit issue comment`\?$/],
    [['bogus', 'abcd'], /^unknown command: grit bogus$/, /grit help/],
    // A lone topic misspelt, and the version asked for as other tools take it.
    [['isue'], /^unknown command: grit isue$/, /^did you mean `grit issue` \(`grit issue --help` lists its commands\)\?$/],
    [['version'], /^unknown command: grit version$/, /^did you mean `grit --version`\?$/],
    [['-v'], /^unknown flag before the command: -v$/, /^did you mean `grit --version`\?$/],
    // A global flag misspelt before the command: the one it is near, as a command's flags are.
    [['--jsno', 'issue', 'list'], /^unknown flag before the command: --jsno$/, /^did you mean --json\?$/],
    [['--Version'], /^unknown flag before the command: --Version$/, /^did you mean `grit --version`\?$/],
    // A command named without its topic, as other trackers spell it: the commands it names, not
    // one a few letters away (`grit dep` was "did you mean `grit mcp`?").
    [['list'], /^unknown command: grit list$/, /^did you mean `grit issue list` or `grit actor list` or `grit issue dep list`\?$/],
    [['dep', 'add', 'abcd', '--target', 'ef01'], /^unknown command: grit dep add$/, /^did you mean `grit issue dep add`\?$/],
    [['dep'], /^unknown command: grit dep$/, /^did you mean `grit issue dep`\?$/],
    [['create', '--title', 'x'], /^unknown command: grit create$/, /^did you mean `grit issue create`\?$/],
    // A long flag with one dash, as Go's flag package takes it: oclif read `-title` as `-t itle`
    // (an issue titled "itle"), `-state open` as "got tate".
    [['issue', 'create', '-title'], /^-title is read as -t with the value "itle": a long flag takes two dashes$/, /^did you mean --title\?$/],
    [['issue', 'list', '-state', 'open'], /^-state is read as -s with the value "tate": a long flag takes two dashes$/, /^did you mean --state\?$/],
    [['issue', 'dep', 'add', 'abcd', '-target', 'ef01', '--type', 'blocks'], /^-target is no flag: a long flag takes two dashes$/, /^did you mean --target\?$/],
    // Not near any command: the word typed is named, and the topic's own commands are the plan.
    [['issue', 'frobnicate', 'abcd'], /^unknown command: grit issue frobnicate$/, /^`grit issue` has: assignee, attachment, close, .*, update \(`grit issue --help`/],
    [['issue', 'dep', 'frob'], /^unknown command: grit issue dep frob$/, /^`grit issue dep` has: add, graph, list, remove, topo /],
    [['issue', 'delete', 'abcd'], /^unknown command: grit issue delete$/, /did you mean `grit issue close`\?$/],
    [['issue', 'edit', 'abcd', '--title', 'x'], /^unknown command: grit issue edit$/, /did you mean `grit issue update`\?$/],
    [['--frob', 'issue', 'list'], /^unknown flag before the command: --frob$/, /after it/],
    // Help asked for from inside a topic: the help it meant, not a command near the words.
    [['issue', 'help', 'list'], /^unknown command: grit issue help list$/, /^did you mean `grit help issue list` \(or `grit issue list --help`\)\?$/],
    [['issue', 'dep', 'help'], /^unknown command: grit issue dep help$/, /^did you mean `grit help issue dep` \(or `grit issue dep --help`\)\?$/],
    // Help for an unknown command: the help meant, in the form asked, never a line that runs one.
    [['help', 'list'], /^unknown command: grit list$/, /^did you mean `grit help issue list` or `grit help actor list` or `grit help issue dep list`\?$/],
    [['help', 'issue', 'lst'], /^unknown command: grit issue lst$/, /^did you mean `grit help issue list`\?$/],
    [['help', 'isue'], /^unknown command: grit isue$/, /^did you mean `grit help issue`\?$/],
    [['list', '--help'], /^unknown command: grit list$/, /^did you mean `grit issue list --help` or `grit actor list --help` or `grit issue dep list --help`\?$/],
    [['watch', '--kinds', 'x'], /^unknown flag for `grit watch`: --kinds$/, /^did you mean --kind\?/],
    // A global flag that means nothing to the command is refused, saying why, never ignored.
    [['daemon', 'status', '--actor', 'nobody'], /^`grit daemon status` does not take --actor: it talks to the per-user daemon/, /^leave --actor out/],
    [['daemon', 'status', '--data-dir', '/nonexistent'], /^`grit daemon status` does not take --data-dir: /, /^leave --data-dir out/],
    [['--no-daemon', 'daemon', 'status'], /^`grit daemon status` does not take --no-daemon: /, /^leave --no-daemon out/],
    [['watch', '-q'], /^`grit watch` does not take -q: it prints the daemon's notifications/, /^leave -q out/],
    [['--actor', 'nobody', 'watch'], /^`grit watch` does not take --actor: /, /^leave --actor out/],
    [['mcp', '--bogus'], /^unknown flags? for `grit mcp`: --bogus/, /--help/],
    // A word where the command takes none: named as the value of the flag it was likely meant for,
    // whether oclif's parser or the command-not-found hook (a command with no argument) finds it.
    [['lock', 'acquire', 'repo:x'], /^unexpected argument for `grit lock acquire`: repo:x$/, /^did you mean --resource "repo:x"\? \(`grit lock acquire --help`/],
    [['issue', 'comment', 'abcd', 'hello'], /^unexpected argument for `grit issue comment`: hello$/, /^did you mean --body "hello"\? \(`grit issue comment --help` says what it takes\)$/],
    [['issue', 'create', 'two', 'words'], /^unexpected argument for `grit issue create`: two words$/, /^did you mean --title "two words"\? /],
    [['issue', 'list', 'open'], /^unexpected argument for `grit issue list`: open$/, /^did you mean --state open\? /],
    [['issue', 'comment', 'abcd', '--body', 'hi', 'extra'], /^unexpected argument for `grit issue comment`: extra$/, /^leave it out, or quote/],
  ];
  // Every line reports through one renderer (printError), so its human form is asked for once per
  // place that reports such a mistake: oclif's parse of a command (GritCommand's, watch's, mcp's),
  // a command's own check, the command-not-found hook (an unexpected argument, an unknown command,
  // a flag before the command, help inside a topic) and help's unknown topic.
  const humanToo = new Set(['issue create', 'snapshot gc --keep -1', 'issue list a b', 'bogus', 'issue lst', 'issue assign --help', '-v', 'dep', '--jsno issue list', 'issue create -title', 'issue help list', 'help list', 'watch -q', 'mcp --bogus']);
  for (const [line, message, plan] of cases) {
    const r = grit(repo, [...line, '--json']);
    assert.equal(r.code, 2, line.join(' '));
    assert.equal(r.json?.error?.code, 'invalid_args', `${line.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.json.error.message, message);
    assert.match(r.json.error.details.suggestion, plan);
    if (!humanToo.delete(line.join(' '))) continue;
    const human = grit(repo, line);
    assert.equal(human.code, 2);
    assert.equal(human.stdout, '');
    assert.match(human.stderr, /^error: .+\nhint: .+\n$/);
  }
  assert.deepEqual([...humanToo], [], 'each line of humanToo is among the cases');
  // A choice given with an escape sequence is named as given (oclif's message, stripped of its
  // styling, said "got o"); shown escaped on a terminal, and quoted when it would break the line.
  for (const [value, shown] of [['\x1b[31mo', '\\x1b[31mo'], ['op\nen', '"op\\nen"']]) {
    const r = grit(repo, ['issue', 'list', '--state', value, '--json']);
    assert.deepEqual([r.code, r.json.error.details.value], [2, value]);
    assert.equal(r.json.error.message, `--state must be one of open, closed (got ${value.includes('\n') ? JSON.stringify(value) : value})`);
    const human = grit(repo, ['issue', 'list', '--state', value]);
    assert.equal(human.stderr.split('\n')[0], `error: --state must be one of open, closed (got ${shown})`);
  }
  // `grit help help` is the help command's own help (oclif skipped the word and showed the root's).
  const helpHelp = grit(repo, ['help', 'help']);
  assert.equal(helpHelp.code, 0, helpHelp.stderr);
  assert.match(helpHelp.stdout, /^USAGE\n {2}\$ grit help \[COMMAND\.\.\.\]/m);
  assert.doesNotMatch(helpHelp.stdout, /^TOPICS$/m);
  assert.equal(gritOk(repo, ['issue', 'list']).total, 0, 'nothing created by `issue create -title`');
  // A flag's value may look like one: it is the value.
  assert.equal(gritOk(repo, ['issue', 'show', gritOk(repo, ['issue', 'create', '--title=-title']).issue_id]).issue.title, '-title');
  assert.match(grit(repo, ['issue', 'create', '--title', '-title', '--json']).json.error.message, /^--title needs a value$/);
  const details = grit(repo, ['issue', 'comment', 'abcd', 'hello', '--json']).json.error.details;
  assert.deepEqual({ ...details, suggestion: undefined }, { command: 'issue comment', arguments: ['hello'], did_you_mean: '--body', suggestion: undefined });
});

test('every invalid_args error says what to try next (details.suggestion, the hint of the human output)', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'x'])).issue_id;
  const cases: [string[], RegExp][] = [
    [['issue', 'comment', id], /--body-file -/],
    [['issue', 'create', '--title', ''], /--title "…"/],
    [['issue', 'label', 'add', id, '--label', ' '], /--label bug/],
    [['issue', 'assignee', 'add', id, '--user', 'a\tb'], /escape characters from --user/],
    [['issue', 'link', 'add', id, '--url', 'javascript:alert(1)'], /http/],
    [['issue', 'attachment', 'add', id, '--name', 'x'], /sha256sum/],
    [['issue', 'attachment', 'add', id, '--name', 'x', '--sha256', 'ab'], /sha256sum/],
    [['issue', 'attachment', 'add', id, '--name', 'x', '--sha256', 'ab'.repeat(32), '--mime', 'text'], /--mime text\/plain/],
    [['export', '--since', 'abc'], /give --since a date such as 2025-01-01/],
    [['lock', 'acquire', '--resource', 'path:x', '--ttl', '500ms'], /from 1s to 30d/],
    [['lock', 'acquire', '--resource', 'path:x', '--ttl', 'soon'], /--ttl 30s/],
    [['lock', 'acquire', '--resource', 'bogus'], /--resource path:src\/git/],
    [['lock', 'acquire', '--resource', 'path:../x'], /inside the repository/],
    [['context', 'index', '--pattern', '*.{ts'], /close the braces/],
    [['context', 'set', '!key', 'v'], /build\.command/],
    [['snapshot', 'gc', '--keep', 'abc'], /--keep 3/],
  ];
  for (const [i, [line, plan]] of cases.entries()) {
    const r = grit(repo, [...line, '--json'], { input: '' });
    assert.equal(r.json?.error?.code, 'invalid_args', `${line.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.code, 2);
    assert.match(r.json.error.details.suggestion, plan, line.join(' '));
    assert.doesNotMatch(r.json.error.details.suggestion, /\n/);
    // Each is a command function's error the fast path prints with one renderer: the human form of the first and the last.
    if (i > 0 && i < cases.length - 1) continue;
    const human = grit(repo, line, { input: '' });
    assert.equal(human.stderr, `error: ${r.json.error.message}\nhint: ${r.json.error.details.suggestion}\n`);
  }
  // What only other callers can send (IPC, MCP, the API): the shared argument checks say it too.
  const { runLocal } = await import('../../src/commands/run.js');
  for (const [name, args] of [
    ['IssueList', { state: 5 }],
    ['IssueList', { state: 'done' }],
    ['IssueCreate', { title: 'x', labels: [''] }],
    ['Rebuild', { from_snapshot: 'yes' }],
    ['SnapshotGc', { keep: 1.5 }],
    ['LockAcquire', { resource: 'repo:', ttl: 1, ttl_ms: 1000 }],
    ['IssueShow', {}],
  ] as const) {
    const err = await runLocal(name, args, { cwd: repo }).then(() => null, (e) => e);
    assert.equal(err?.code, 'invalid_args', `${name} ${JSON.stringify(args)}: ${err}`);
    assert.ok(typeof err.suggestion === 'string' && err.suggestion.length > 0, `${name} ${JSON.stringify(args)}: ${err.message}`);
  }
});

test('a missing argument is an error, never read from piped standard input', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const { issue_id } = await gritSetup(repo, ['issue', 'create', '--title', 'stays open']);
  // As a `while read` loop feeds it: the line after a forgotten id must not become that id.
  for (const line of [['issue', 'close'], ['issue', 'show'], ['issue', 'comment', '--body', 'x'], ['context', 'show'], ['actor', 'use']]) {
    const r = grit(repo, [...line, '--json'], { input: `${issue_id}\nissue list\n` });
    assert.equal(r.code, 2, `${line.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.json.error.message, /^<(id|path)> is required$/);
  }
  assert.equal((await gritSetup(repo, ['issue', 'show', issue_id])).issue.state, 'open');
});

test('an empty positional argument is named as the usage line names it', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  for (const [line, name] of [
    [['issue', 'show', ''], '<id>'],
    [['context', 'query', ' '], '<query>'],
  ] as const) {
    const r = grit(repo, [...line, '--json']);
    assert.equal(r.code, 2);
    assert.equal(r.json.error.code, 'invalid_args');
    assert.equal(r.json.error.message, `${name} must not be empty`);
  }
});

test('an ambiguous prefix lists the candidates, in the message too', () => {
  // Issue ids are random, so the clash is made here: the resolver every command uses.
  const ids = ['abcd' + '1'.repeat(28), 'abcd' + '2'.repeat(28), 'abce' + '3'.repeat(28)];
  assert.throws(
    () => resolvePrefix('ABCD', () => ids),
    (err: any) => {
      assert.equal(err.code, 'invalid_args');
      assert.equal(err.exitCode, 2);
      assert.deepEqual(err.details.candidates, ids.slice(0, 2));
      assert.equal(err.message, `issue id prefix abcd is ambiguous: ${ids[0]}, ${ids[1]}`);
      return true;
    },
  );
  const many = Array.from({ length: 7 }, (_, k) => `abcd${String(k).repeat(28)}`);
  assert.throws(() => resolvePrefix('abcd', () => many), /ambiguous: abcd0{28}, .*abcd4{28}, … \(7 in all\)$/);
  assert.equal(resolvePrefix('abce', () => ids), ids[2]);
  // As `issue show` prints it.
  assert.equal(resolvePrefix('#abce', () => ids), ids[2]);
});

test('a prefix is looked up in the range of issue ids that start with it, by the rules of the resolver', async () => {
  const store = Store.open(tempDir());
  try {
    // Ids on both sides of each range's ends: after `9` comes `:` (not `a`), `f` is the last hex digit.
    const ids = ['abc9' + 'f'.repeat(28), 'abca' + '0'.repeat(28), 'abcd' + '0'.repeat(28), 'abcd' + 'f'.repeat(28), 'abce' + '0'.repeat(28), 'abd0' + '0'.repeat(28)];
    const at = (n: number) => ({ actor: new Uint8Array(16).fill(1), ts_unix_ms: 1000 + n, parent: null });
    const events = ids.map((id, n) => makeEvent({ ...at(n), issue_id: fromHex(id, 16)!, kind: { type: 'IssueCreated', title: id, body: '', labels: [] } }));
    // Project context is logged under ffff…ff, which is no issue.
    events.push(makeEvent({ ...at(9), issue_id: PROJECT_CONTEXT_ID, kind: { type: 'ProjectContextUpdated', key: 'lang', value: 'ts' } }));
    assert.ok(store.apply(events, null, fakeWalHead(1)));
    const starting = (prefix: string) => [...store.issueIdsStartingWith(prefix)];
    assert.deepEqual(starting('abcd'), [ids[2], ids[3]]);
    assert.deepEqual(starting('abc9'), [ids[0]]);
    assert.deepEqual(starting('abc'), ids.slice(0, 5));
    assert.deepEqual(starting(ids[3]), [ids[3]], 'a whole id is its own range');
    assert.deepEqual([starting('abcf'), starting('ffff')], [[], []]);
    const resolve = (input: string) => resolvePrefix(input, (prefix) => store.issueIdsStartingWith(prefix));
    assert.throws(() => resolve('ABCD'), (err: any) => err.code === 'invalid_args' && /ambiguous/.test(err.message) && err.details.candidates.join() === [ids[2], ids[3]].join());
    assert.equal(resolve('#ABC9'), ids[0]);
    assert.equal(resolve(` ${ids[4].slice(0, 6)} `), ids[4]);
    assert.equal(resolve('abcf'), null);
    assert.equal(resolve('ffffffff'), null);
    assert.throws(() => resolve('abc'), (err: any) => err.code === 'invalid_args' && /4 to 32 hex/.test(err.message));
    assert.throws(() => resolve(`${ids[3]}0`), (err: any) => err.code === 'invalid_args');
  } finally {
    await store.close();
  }
});

test('deleting the store: the next command rebuilds the same state from the WAL', async () => {
  const repo = tempRepo();
  const init = (await gritInit(repo));
  const a = await gritSetup(repo, ['issue', 'create', '--title', 'A', '--label', 'x']);
  await gritSetup(repo, ['issue', 'comment', a.issue_id, '--body', 'c']);
  await gritSetup(repo, ['issue', 'create', '--title', 'B']);
  const before = await gritSetup(repo, ['issue', 'show', a.issue_id]);
  const listBefore = await gritSetup(repo, ['issue', 'list']);
  const actorDir = join(repo, '.git/grit/actors', init.actor.actor_id);
  rmSync(join(actorDir, 'store.mdb'), { force: true });
  rmSync(join(actorDir, 'store.mdb-lock'), { force: true });
  assert.deepEqual(gritOk(repo, ['issue', 'list']), listBefore);
  assert.deepEqual(gritOk(repo, ['issue', 'show', a.issue_id]), before);
  const r = gritOk(repo, ['rebuild']);
  assert.equal(r.event_count, 3);
  assert.equal(r.wal_head, walHead(repo));
  assert.deepEqual(gritOk(repo, ['issue', 'show', a.issue_id]), before);
});

test('human output: aligned list, short ids, no colour when piped', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const a = await gritSetup(repo, ['issue', 'create', '--title', 'Alpha', '--label', 'bug']);
  await gritSetup(repo, ['issue', 'create', '--title', 'A much longer title']);
  const list = grit(repo, ['issue', 'list']);
  assert.equal(list.code, 0);
  assert.doesNotMatch(list.stdout, /\u001b\[/);
  const lines = list.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^ID\s+STATE\s+TITLE\s+LABELS\s+UPDATED$/);
  assert.equal(lines.length, 4);
  assert.equal(lines[1].indexOf('open'), lines[2].indexOf('open'));
  assert.match(list.stdout, new RegExp(a.issue_id.slice(0, 8)));
  assert.match(grit(repo, ['issue', 'show', a.issue_id.slice(0, 8)]).stdout, /^Alpha #/);
  const q = grit(repo, ['issue', 'create', '--title', 'quiet', '--quiet']);
  assert.equal(q.code, 0);
  assert.equal(q.stdout, '');
});

test('--quiet silences status lines and views, never the data asked for: dep graph, --format ids, a context value', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const a = (await gritSetup(repo, ['issue', 'create', '--title', 'first'])).issue_id;
  const b = (await gritSetup(repo, ['issue', 'create', '--title', 'second'])).issue_id;
  await gritSetup(repo, ['issue', 'dep', 'add', a, '--target', b, '--type', 'blocks']);
  await gritSetup(repo, ['context', 'set', 'build', 'make all']);
  for (const args of [['issue', 'dep', 'graph'], ['issue', 'dep', 'graph', '--format', 'mermaid'], ['issue', 'list', '--format', 'ids'], ['context', 'project', 'build']]) {
    const loud = grit(repo, args);
    const quiet = grit(repo, [...args, '-q']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.notEqual(quiet.stdout, '', args.join(' '));
    assert.equal(quiet.stdout, loud.stdout, args.join(' '));
  }
  assert.equal(grit(repo, ['context', 'project', 'build', '-q']).stdout, 'make all\n');
  // A view for a person and a status line: nothing, the exit status says how it went.
  for (const args of [['issue', 'list'], ['issue', 'show', a], ['context', 'project'], ['issue', 'dep', 'list', a], ['issue', 'comment', a, '--body', 'x']]) {
    const r = grit(repo, [...args, '-q']);
    assert.deepEqual([r.code, r.stdout], [0, ''], args.join(' '));
  }
  assert.equal(grit(repo, ['issue', 'show', 'ffff', '-q']).code, 3);
});

test('a file named on the command line that cannot be read: invalid_args (exit 2, never 3: that is "no such issue"), saying what is wrong with it', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'x'])).issue_id;
  writeFileSync(join(repo, 'note.md'), 'a file, not a directory');
  const cases: [string[], number, string, RegExp][] = [
    [['issue', 'create', '--title', 'y', '--body-file', 'missing.md'], 2, 'invalid_args', /^no file missing\.md$/],
    [['issue', 'comment', id, '--body-file', '/nonexistent'], 2, 'invalid_args', /^no file \/nonexistent$/],
    [['issue', 'update', id, '--body-file', 'note.md/x'], 2, 'invalid_args', /^no file note\.md\/x$/], // ENOTDIR
    [['issue', 'update', id, '--body-file', `${'n'.repeat(300)}.md`], 2, 'invalid_args', /^no file n{300}\.md$/], // ENAMETOOLONG
    [['issue', 'attachment', 'add', id, 'missing.bin'], 2, 'invalid_args', /^no file .*missing\.bin$/],
    [['issue', 'create', '--title', 'y', '--body-file', '.git'], 2, 'invalid_args', /^\.git is a directory, not a file$/],
    [['issue', 'attachment', 'add', id, '.git'], 2, 'invalid_args', /\.git is a directory, not a file$/],
    // A file named with a trailing slash: resolved, the slash was dropped and the file attached.
    [['issue', 'attachment', 'add', id, 'note.md/'], 2, 'invalid_args', /^note\.md\/ ends in \/, which names a directory, not a file$/],
    [['issue', 'comment', id, '--body-file', 'note.md/'], 2, 'invalid_args', /^note\.md\/ ends in \/, which names a directory, not a file$/],
  ];
  for (const [args, code, errCode, message] of cases) {
    const r = grit(repo, [...args, '--json']);
    assert.equal(r.code, code, r.stdout);
    assert.equal(r.json.error.code, errCode);
    assert.match(r.json.error.message, message);
    assert.ok(r.json.error.details.suggestion, 'with a hint');
  }
  assert.equal((await gritSetup(repo, ['issue', 'list'])).total, 1, 'nothing written');
  assert.equal((await gritSetup(repo, ['issue', 'show', id])).issue.attachments.length, 0, 'nothing attached');
  // Through the API too (the path as given, relative to the caller's directory).
  await assert.rejects(gritLib(repo, 'IssueAttachmentAdd', { issue_id: id, file: 'note.md/' }), (e: any) => e.code === 'invalid_args' && /^note\.md\/ ends in \//.test(e.message));
});

test('a FIFO or a device is refused unread, and a body file stops being read past what a body may hold', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'x'])).issue_id;
  execFileSync('mkfifo', [join(repo, 'pipe')]);
  // Each would read forever (/dev/zero) or wait forever for a writer (the FIFO): a timeout fails the test instead.
  for (const file of ['/dev/zero', 'pipe']) {
    for (const args of [['issue', 'attachment', 'add', id, file], ['issue', 'comment', id, '--body-file', file]]) {
      const r = grit(repo, [...args, '--json'], { timeout: 20_000 });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json.error.code, 'invalid_args');
      // An attachment's path is made absolute (the daemon may read it); a body file's is kept as given.
      assert.ok(r.json.error.message.endsWith(`${file} is not a regular file`), r.json.error.message);
    }
  }
  // A sparse file: 17 MiB long, nothing of it on disk, refused before a byte is read.
  const big = join(repo, 'big.md');
  writeFileSync(big, '');
  truncateSync(big, 17 << 20);
  const tooBig = [
    grit(repo, ['issue', 'comment', id, '--body-file', 'big.md', '--json']),
    grit(repo, ['issue', 'comment', id, '--body-file', '-', '--json'], { input: 'y'.repeat((16 << 20) + 1) }),
  ];
  for (const [r, what] of [[tooBig[0], 'big.md'], [tooBig[1], 'standard input']] as const) {
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.json.error.message, `${what} holds more than 16 MiB, the most a body may take`);
    assert.equal(r.json.error.details.max_bytes, 16 << 20);
  }
  assert.equal((await gritSetup(repo, ['issue', 'show', id])).issue.comments.length, 0, 'nothing written');
  // A file over the body limit is fine as an attachment: only its hash is taken.
  writeFileSync(big, Buffer.alloc(17 << 20, 'z'));
  const att = gritOk(repo, ['issue', 'attachment', 'add', id, 'big.md']);
  const sha = createHash('sha256').update(readFileSync(big)).digest('hex');
  assert.equal((await gritSetup(repo, ['issue', 'show', id])).issue.attachments[0].sha256, sha, att.event_id);
});

test('one-line fields refuse control characters as labels do: title, assignee, link url and note, attachment name; nothing written', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'x'])).issue_id;
  const sha = ['--sha256', 'ab'.repeat(32), '--mime', 'text/plain'];
  const cases = [
    [['issue', 'assignee', 'add', id, '--user', '\x1b[31mbob'], '--user'],
    [['issue', 'link', 'add', id, '--url', 'http://x\x1b[2J'], '--url'],
    [['issue', 'link', 'add', id, '--url', 'http://x', '--note', 'n\x1b[2J'], '--note'],
    [['issue', 'link', 'add', id, '--url', 'http://x', '--note', 'two\nlines'], '--note'],
    [['issue', 'attachment', 'add', id, '--name', '\x1b[31mred\x1b[0m', ...sha], '--name'],
    [['issue', 'create', '--title', 'two\nlines'], '--title'],
    [['issue', 'create', '--title', 'esc\x1b[31mred'], '--title'],
    [['issue', 'update', id, '--title', 'tab\there'], '--title'],
  ] as const;
  for (const [i, [args, flag]] of cases.entries()) {
    // One check of the command functions: every field here, the first and the last through the CLI as well.
    const err = await gritSetup(repo, [...args]).then(() => null, (e) => e);
    assert.deepEqual([err?.code, err?.exitCode], ['invalid_args', 2], `${args.join(' ')}: ${err}`);
    assert.equal(err.message, `${flag} must be one line without control characters`);
    if (i > 0 && i < cases.length - 1) continue;
    const r = grit(repo, [...args, '--json']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.json.error.code, 'invalid_args');
    assert.equal(r.json.error.message, `${flag} must be one line without control characters`);
  }
  // A file whose name holds one names the attachment: the file is blamed, and --name is the way out
  // (the message had named --name, which was not given).
  writeFileSync(join(repo, 'tab\there.log'), 'x');
  const fromFile = grit(repo, ['issue', 'attachment', 'add', id, join(repo, 'tab\there.log'), '--json']);
  assert.equal(fromFile.code, 2, fromFile.stdout + fromFile.stderr);
  assert.equal(fromFile.json.error.message, 'the file\'s name "tab\\there.log" names the attachment, and a name must be one line without control characters');
  assert.equal(fromFile.json.error.details.suggestion, 'give the attachment a name of one line with --name');
  assert.equal((await gritSetup(repo, ['issue', 'show', id])).events.length, 1, 'nothing written');
  assert.equal((await gritSetup(repo, ['issue', 'list'])).total, 1, 'nothing created');
  gritOk(repo, ['issue', 'attachment', 'add', id, join(repo, 'tab\there.log'), '--name', 'tab.log']);
  // Printable text, non-ASCII included, is fine; a line break at either end is trimmed off.
  assert.equal(gritOk(repo, ['issue', 'show', gritOk(repo, ['issue', 'create', '--title', '\nÜber → 漢字\n']).issue_id]).issue.title, 'Über → 漢字');
  gritOk(repo, ['issue', 'assignee', 'add', id, '--user', 'zoë']);
  gritOk(repo, ['issue', 'link', 'add', id, '--url', 'https://example.com/ü', '--note', 'see → here']);
  gritOk(repo, ['issue', 'attachment', 'add', id, '--name', 'log (1).txt', ...sha]);
});

test('a body file or standard input that is not UTF-8 is refused (invalid_args), not stored with U+FFFD in its place', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'x'])).issue_id;
  writeFileSync(join(repo, 'latin1.txt'), Buffer.from('caf\xe9\n', 'latin1'));
  for (const [args, input, what] of [
    [['issue', 'comment', id, '--body-file', '-'], Buffer.from([0x61, 0xff, 0xfe, 0x62]), 'standard input'],
    [['issue', 'create', '--title', 'y', '--body-file', 'latin1.txt'], undefined, 'latin1.txt'],
  ] as const) {
    const r = grit(repo, [...args, '--json'], { input });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.json.error.code, 'invalid_args');
    assert.equal(r.json.error.message, `${what} is not valid UTF-8`);
    assert.match(r.json.error.details.suggestion, /convert it to UTF-8/);
  }
  assert.equal((await gritSetup(repo, ['issue', 'list'])).total, 1, 'nothing written');
  assert.equal((await gritSetup(repo, ['issue', 'show', id])).issue.comments.length, 0);
  // A byte order mark and a real U+FFFD are text like any other, kept as given.
  gritOk(repo, ['issue', 'comment', id, '--body-file', '-'], { input: '\uFEFFkept \uFFFD' });
  assert.equal((await gritSetup(repo, ['issue', 'show', id])).issue.comments[0].body, '\uFEFFkept \uFFFD');
});

test('a setting grit does not know in config.toml is refused, not ignored (a misspelt lock_policy would leave it at warn)', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const path = join(repo, '.git', 'grit', 'config.toml');
  const good = readFileSync(path, 'utf8');
  // A typo at the top; the right key appended at the end, where it falls into the [snapshot] table.
  for (const [text, name] of [[`lock_polcy = "require"\n${good}`, 'lock_polcy'], [`${good}lock_policy = "require"\n`, 'snapshot.lock_policy']]) {
    assert.match(good, /\[snapshot\]/);
    writeFileSync(path, text);
    const r = grit(repo, ['issue', 'list', '--json']);
    assert.equal(r.code, 5, r.stdout);
    assert.equal(r.json.error.code, 'io_error');
    assert.match(r.json.error.message, new RegExp(`unknown setting ${name.replace('.', '\\.')} \\(known`));
    assert.deepEqual(r.json.error.details.unknown, [name]);
    const doctor = gritDoctor(repo);
    assert.equal(doctor.checks.find((c: any) => c.id === 'actor_config').status, 'error');
  }
  // A key of kilobytes, and many stray keys: the message names five, each cut short; the details keep them whole.
  const long = 'k'.repeat(3000);
  const strays = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
  writeFileSync(path, `${long} = 1\n${strays.map((k) => `${k} = 1\n`).join('')}${good}`);
  const r = grit(repo, ['issue', 'list', '--json']);
  assert.equal(r.json.error.message, `${path}: unknown setting ${'k'.repeat(64)}… (3000 characters), a1, a2, a3, a4, … (7 in all) (known: default_actor, lock_policy, signature_policy, snapshot)`);
  assert.deepEqual(r.json.error.details.unknown, [long, ...strays]);
  writeFileSync(path, good);
  assert.equal(gritOk(repo, ['issue', 'list']).total, 0);
});

test('[snapshot] counts are positive whole numbers: 1.5 events or days is refused naming the value, 1e4 is ten thousand', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const path = join(repo, '.git', 'grit', 'config.toml');
  const good = readFileSync(path, 'utf8');
  const values = [['max_events', '1.5'], ['max_age_days', '0.5'], ['max_events', '0'], ['max_events', '-3'], ['max_events', 'inf']];
  for (const [i, [key, value]] of values.entries()) {
    writeFileSync(path, good.replace(new RegExp(`^${key} = .*$`, 'm'), `${key} = ${value}`));
    const message = new RegExp(`snapshot\\.${key} must be a positive whole number, got `);
    // The config is read by the command functions: every value here, the first and the last through the CLI as well.
    const err = await gritSetup(repo, ['issue', 'list']).then(() => null, (e) => e);
    assert.deepEqual([err?.code, err?.exitCode], ['io_error', 5], `${key} = ${value}: ${err}`);
    assert.match(err.message, message, `${key} = ${value}`);
    if (i > 0 && i < values.length - 1) continue;
    const r = grit(repo, ['issue', 'list', '--json']);
    assert.equal(r.code, 5, `${key} = ${value}: ${r.stdout}`);
    assert.equal(r.json.error.code, 'io_error');
    assert.match(r.json.error.message, message, `${key} = ${value}`);
  }
  writeFileSync(path, good.replace(/^max_events = .*$/m, 'max_events = 1e4'));
  assert.equal(gritOk(repo, ['issue', 'list']).total, 0);
});

test('short flags as elsewhere: -h is help, -l a label on label add|remove; an issue is not related_to itself', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'x'])).issue_id;
  const help = grit(repo, ['issue', 'list', '-h']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^List issues/);
  gritOk(repo, ['issue', 'label', 'add', id, '-l', 'bug']);
  gritOk(repo, ['issue', 'label', 'remove', id, '-l', 'bug']);
  assert.deepEqual((await gritSetup(repo, ['issue', 'show', id])).issue.labels, []);
  const self = grit(repo, ['issue', 'dep', 'add', id, '--target', id, '--type', 'related_to', '--json']);
  assert.equal(self.code, 2, self.stdout);
  assert.equal(self.json.error.code, 'invalid_args');
  const selfBlock = grit(repo, ['issue', 'dep', 'add', id, '--target', id, '--type', 'blocks', '--json']);
  assert.equal(selfBlock.json.error.code, 'invalid_args');
  assert.doesNotMatch(selfBlock.json.error.details.suggestion, /related_to/);
});

test('a refused value of 100 KB is echoed cut short in the message and the details, not whole (twice)', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const big = 'q'.repeat(100_000);
  const cases: [string[], number][] = [
    [['issue', 'list', '--state', big], 2],
    [['issue', 'list', '--format', big], 2],
    [['export', '--format', big], 2],
    [['export', '--format', 'json', '--since', big], 2],
    [['issue', 'dep', 'add', 'abcd', '--target', 'abcd', '--type', big], 2],
    [['issue', 'show', big], 2],
    [['lock', 'acquire', '--resource', 'repo:', '--ttl', big], 2],
    [['lock', 'acquire', '--resource', big], 2],
    [['context', 'set', big, 'v'], 2],
    [['issue', 'list', `--json=${big}`], 2],
    [['context', 'show', big], 3],
    [['actor', 'show', big], 3],
  ];
  for (const [args, code] of cases) {
    const what = args.map((a) => a.slice(0, 20)).join(' ');
    const r = grit(repo, [...args, '--json']);
    assert.equal(r.code, code, `${what}: ${r.stdout.slice(0, 300)}`);
    assert.ok(r.stdout.length < 4000, `${what}: ${r.stdout.length} bytes`);
    // Echoed (most do), it is cut: its start, `…` and how long it was.
    if (r.json.error.message.includes('qqqq')) assert.match(r.json.error.message, /q…"? \(100000 characters\)/, what);
    const kept = JSON.stringify(r.json.error.details);
    assert.ok(!kept.includes('q'.repeat(1100)), `${what}: ${kept.slice(0, 200)}`);
    const human = grit(repo, args);
    assert.ok(human.stderr.length < 4000, `${what}: ${human.stderr.length} bytes on stderr`);
  }
  // A value of ordinary length is echoed whole, as before.
  assert.equal(grit(repo, ['issue', 'list', '--state', 'opne', '--json']).json.error.message, '--state must be one of open, closed (got opne)');
});
