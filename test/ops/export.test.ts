import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvField, PIECE_CHARS } from '../../src/commands/export.js';
import { RepoContext, type OutputSink, type WriteItem } from '../../src/commands/context.js';
import { runLocal } from '../../src/commands/run.js';
import { compareEvents, eventToJson } from '../../src/core/event.js';
import { compareBytes, toHex } from '../../src/core/hex.js';
import { newIssueId } from '../../src/core/ids.js';
import { generateWal } from '../helpers/gen-events.js';
import { GRIT_BIN } from '../helpers/paths.js';
import { startDaemon } from '../helpers/daemon.js';
import { git, grit, gritAsync, gritDoctor, gritOk, tempDir, tempRepo, gritInit, gritSetup, twoWorktrees } from '../helpers/repo.js';
import { writeRaw } from '../helpers/write-raw.js';
import { exportTempName } from '../../src/commands/temp-files.js';

async function scene() {
  const repo = tempRepo();
  await gritInit(repo);
  // A title with a line break: refused by `issue create` now, but one written before (or by
  // another writer) arrives by sync as it is, and the exports must still hold it.
  const a = toHex(newIssueId());
  await writeRaw(repo, a, { type: 'IssueCreated', title: 'Crash, "badly"\non start', body: 'Steps:\n1. run\n2. boom', labels: ['bug', 'p0'] });
  await gritSetup(repo, ['issue', 'comment', a, '--body', 'seen it too']);
  await gritSetup(repo, ['issue', 'assignee', 'add', a, '--user', 'alice']);
  await gritSetup(repo, ['issue', 'link', 'add', a, '--url', 'https://example.com/1', '--note', 'log']);
  const b = (await gritSetup(repo, ['issue', 'create', '--title', 'Plain'])).issue_id;
  const mark = await gritSetup(repo, ['issue', 'close', b]);
  await gritSetup(repo, ['issue', 'comment', a, '--body', 'after the mark']);
  return { repo, a, b, mark };
}

test('export --format json: meta, full issues sorted by id, events in (issue_id, ts, actor, event_id) order', async () => {
  const { repo, a, b } = await scene();
  const r = gritOk(repo, ['export', '--format', 'json']);
  assert.deepEqual(Object.keys(r), ['format', 'output_path', 'wal_head', 'event_count', 'issue_count']);
  assert.equal(r.format, 'json');
  assert.equal(r.output_path, join(repo, '.grit', 'export.json'));
  assert.equal(r.wal_head, git(repo, 'rev-parse', 'refs/grit/wal').trim());
  assert.equal(r.event_count, 7);
  const doc = JSON.parse(readFileSync(r.output_path, 'utf8'));
  assert.deepEqual(Object.keys(doc), ['meta', 'issues', 'events']);
  assert.deepEqual(Object.keys(doc.meta), ['schema_version', 'generated_ts', 'wal_head', 'event_count']);
  assert.deepEqual([doc.meta.schema_version, doc.meta.wal_head, doc.meta.event_count], [1, r.wal_head, 7]);
  assert.deepEqual(doc.issues.map((i: any) => i.issue_id), [a, b].sort());
  const ia = doc.issues.find((i: any) => i.issue_id === a);
  // As `issue show` has it, less the edges other issues record on it (each edge is exported once, on its own issue).
  const { dependents, ...shown } = (await gritSetup(repo, ['issue', 'show', a])).issue;
  assert.deepEqual(dependents, []);
  assert.deepEqual(ia, shown);
  const key = (e: any) => [e.issue_id, String(e.ts_unix_ms).padStart(16, '0'), e.actor, e.event_id].join(' ');
  const keys = doc.events.map(key);
  assert.deepEqual(keys, [...keys].sort());
  assert.deepEqual(Object.keys(doc.events[0].kind).length, 1);

  // Exports live in .grit/, which ignores itself: the working tree stays clean.
  assert.equal(readFileSync(join(repo, '.grit', '.gitignore'), 'utf8').trim().split('\n').pop(), '*');
  assert.equal(git(repo, 'status', '--porcelain').trim(), '');
});

test('export --since: a timestamp keeps later events, an event id keeps the events after it', async () => {
  const { repo, a, b, mark } = await scene();
  const all = JSON.parse(readFileSync(gritOk(repo, ['export']).output_path, 'utf8'));
  const markEvent = all.events.find((e: any) => e.event_id === mark.event_id);

  const byId = gritOk(repo, ['export', '--since', mark.event_id, '--output', join(tempDir(), 'x.json')]);
  const after = JSON.parse(readFileSync(byId.output_path, 'utf8'));
  assert.deepEqual(after.events.map((e: any) => e.kind), [{ CommentAdded: { body: 'after the mark' } }]);
  assert.equal(after.meta.event_count, 1);
  assert.deepEqual(after.issues.map((i: any) => i.issue_id), [a], 'only issues with kept events');

  const byTs = gritOk(repo, ['export', '--since', String(markEvent.ts_unix_ms - 1), '--output', join(tempDir(), 'y.json')]);
  const later = JSON.parse(readFileSync(byTs.output_path, 'utf8'));
  assert.deepEqual(later.events.map((e: any) => e.event_id).sort(), [mark.event_id, after.events[0].event_id].sort());
  assert.deepEqual(later.issues.map((i: any) => i.issue_id), [a, b].sort());
  assert.equal(gritOk(repo, ['export', '--since', '99999999999999']).event_count, 0);
  // Dates that exist (a leap day, an offset that moves the time into the day before) are read; others refused.
  assert.equal(gritOk(repo, ['export', '--since', '2024-02-29', '-o', '-', '--json']).event_count, all.meta.event_count);
  assert.equal(gritOk(repo, ['export', '--since', '2099-03-01T00:30:00+02:00', '-o', '-', '--json']).event_count, 0);

  // Only RFC 3339's forms, the accepted ones named: no other text that Date.parse would have read somehow.
  for (const since of ['yesterday', '2025-02-30', '2025-13-01', ' 2024-02-29', '2026-12-06 EST', '2026-12-01 12:00 PM', '2026-12-01 (comment)']) {
    const bad = grit(repo, ['export', '--since', since, '--json']);
    assert.equal(bad.code, 2, since);
    assert.equal(bad.json.error.code, 'invalid_args', since);
    assert.match(bad.json.error.message, /2025-01-01, 2025-01-01T12:00, 2025-01-01T12:00:30\.5Z, 2025-01-01T12:00\+02:00; a time without an offset is UTC/, since);
  }
  for (const since of ['2026-12-06Z', '2026-12-06T24:00', '2026-12-06T10:60', '2026-12-06T10:00+24:00', '2026-12-06T10:00+0200', 'Sun, 06 Dec 2026 10:00:00 GMT']) {
    await assert.rejects(runLocal('Export', { since, output: '-' }, { cwd: repo }), { code: 'invalid_args' }, since);
  }
  assert.equal((await runLocal('Export', { since: '2099-03-01t00:30:00.999z', output: '-' }, { cwd: repo }) as { event_count: number }).event_count, 0);
  const missing = grit(repo, ['export', '--since', 'ab'.repeat(32), '--json']);
  assert.equal(missing.code, 3);
  assert.equal(missing.json.error.code, 'not_found');
});

test('export --since: a date-time without an offset is UTC, whatever the time zone of the CLI or of the daemon that runs the export', { timeout: 30_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const { issue_id } = await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  const ts: number = (await gritSetup(repo, ['issue', 'show', issue_id])).events[0].ts_unix_ms;
  // To the minute or the second, without an offset: a minute before the event keeps it, a minute after does not.
  const before = new Date(ts - 60_000).toISOString();
  const after = new Date(ts + 60_000).toISOString();
  const daemon = await startDaemon({ env: { TZ: 'Asia/Tokyo' } });
  try {
    for (const env of [{ TZ: 'America/New_York' }, { ...daemon.env, TZ: 'America/New_York' }]) {
      const count = (since: string) => gritOk(repo, ['export', '--since', since, '-o', '-'], { env }).event_count;
      assert.deepEqual([count(before.slice(0, 16)), count(before.slice(0, 19)), count(after.slice(0, 16))], [1, 1, 0], JSON.stringify(env));
    }
  } finally {
    await daemon.stop();
  }
});

test('export --format md: one section per issue with state, labels, assignees, body and comments', async () => {
  const { repo, a } = await scene();
  const r = gritOk(repo, ['export', '--format', 'md']);
  assert.equal(r.output_path, join(repo, '.grit', 'export.md'));
  const md = readFileSync(r.output_path, 'utf8');
  assert.equal(md.match(/^## /gm)!.length, 2);
  const section = md.slice(md.indexOf('## Crash'), md.indexOf('## Plain') > md.indexOf('## Crash') ? md.indexOf('## Plain') : undefined);
  assert.match(section, /^## Crash, "badly" on start$/m);
  assert.match(section, new RegExp(`\\*\\*ID:\\*\\* \`${a}\``));
  assert.match(section, /\*\*State:\*\* open/);
  assert.match(section, /\*\*Labels:\*\* `bug`, `p0`/);
  assert.match(section, /\*\*Assignees:\*\* alice/);
  assert.match(section, /Steps:\n1\. run\n2\. boom/);
  assert.match(section, /### Comments \(2\)/);
  assert.match(section, /seen it too[\s\S]*after the mark/);
  assert.match(section, /\*\*Link:\*\* <https:\/\/example.com\/1> — log/);
  assert.match(md, /## Plain[\s\S]*\*\*State:\*\* closed/);
});

test('export --format csv: issue summaries with RFC 4180 quoting', async () => {
  const { repo, a, b } = await scene();
  const out = join(tempDir(), 'issues.csv');
  const r = gritOk(repo, ['export', '--format', 'csv', '--output', out]);
  assert.equal(r.output_path, out);
  assert.ok(!existsSync(join(repo, '.grit')), 'an explicit --output writes nothing into .grit/');
  const text = readFileSync(out, 'utf8');
  const lines = text.split('\r\n');
  assert.equal(lines[0], 'issue_id,title,state,labels,assignees,created_ts,updated_ts,comment_count');
  assert.equal(lines[lines.length - 1], '');
  const rowA = text.slice(text.indexOf(a));
  assert.ok(rowA.startsWith(`${a},"Crash, ""badly""\non start",open,bug;p0,alice,`), rowA);
  assert.match(rowA, /,2\r\n/);
  assert.match(text, new RegExp(`${b},Plain,closed,,,\\d+,\\d+,0\\r\\n`));
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField(42), '42');
  // A title a spreadsheet would run as a formula is written as text.
  assert.equal(csvField('=HYPERLINK("http://x","y")'), '"\'=HYPERLINK(""http://x"",""y"")"');
  for (const lead of ['+1', '-1+2', '@SUM(A1)', '\tx']) assert.equal(csvField(lead), `'${lead}`);
  assert.equal(csvField(-5), '-5');

  // `--output -`: the same bytes on standard output, and no file anywhere.
  const piped = grit(repo, ['export', '--format', 'csv', '--output', '-']);
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdout, text);
  const json = gritOk(repo, ['export', '--format', 'csv', '-o', '-']);
  assert.equal(json.output_path, '-');
  assert.equal(json.content, text);
  assert.ok(!existsSync(join(repo, '-')) && !existsSync(join(repo, '.grit')), 'nothing written for --output -');
});

test('export --format csv: a label or assignee holding `;` or `\\` is escaped, so a reader gets the exact sets back', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const labels = ['x;y', 'has space', 'c:\\dir\\', 'bug'];
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'semi', ...labels.flatMap((l) => ['--label', l])])).issue_id;
  for (const user of ['a;b', 'carol']) await gritSetup(repo, ['issue', 'assignee', 'add', id, '--user', user]);
  const row = grit(repo, ['export', '--format', 'csv', '-o', '-']).stdout.split('\r\n')[1].split(',');
  assert.deepEqual(row.slice(3, 5), ['bug;c:\\\\dir\\\\;has space;x\\;y', 'a\\;b;carol'], 'ordinary labels as they were');
  // The reader operations.md describes: split on a `;` with no `\` before it, then `\c` is `c`.
  const members = (field: string): string[] => {
    const out = [''];
    for (let k = 0; k < field.length; k++) {
      if (field[k] === ';') out.push('');
      else out[out.length - 1] += field[k] === '\\' ? field[++k] : field[k];
    }
    return field === '' ? [] : out;
  };
  const { issue } = await gritSetup(repo, ['issue', 'show', id]);
  assert.deepEqual(members(row[3]), issue.labels);
  assert.deepEqual(members(row[4]), issue.assignees);
  assert.deepEqual([...issue.labels].sort(), [...labels].sort());
});

/** An export's text without the time it was made. */
const undated = (t: string) => t.replace(/"generated_ts": \d+/, '').replace(/^Exported by grit at \S+/m, '');

/** A store's export, whole, as the caller's process makes it (`output: '-'` with no sink: the text in the result). */
async function exportText(repo: string, args: Record<string, string> = {}): Promise<string> {
  return ((await runLocal('Export', { output: '-', ...args }, { cwd: repo })) as any).content;
}

test('export: Markdown and CSV, read by people, show bidirectional controls and control characters escaped, by one rule; JSON keeps them exactly', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  // Trojan-source text: an override and an isolate reorder what a viewer shows.
  const title = 'access \u202eadmin\u202c check';
  const label = 'ok\u2066x\u2069';
  const { issue_id } = (await runLocal('IssueCreate', { title, labels: [label] }, { cwd: repo })) as any;
  await writeRaw(repo, issue_id, { type: 'AssigneeAdded', user: 'eve\u001b[2J' });
  const bidi = /[\u202a-\u202e\u2066-\u2069\u001b]/;
  for (const format of ['md', 'csv']) {
    const text = await exportText(repo, { format });
    assert.doesNotMatch(text, bidi, `${format}: nothing raw`);
    // A CSV set escapes a `\` in a member (operations.md): the shown text is read back from it.
    // Markdown escapes the `[` of an assignee, which is text, not Markdown (the test below).
    const member = (shown: string) => (format === 'csv' ? shown.replaceAll('\\', '\\\\') : shown);
    for (const shown of ['access \\u202eadmin\\u202c check', member('ok\\u2066x\\u2069'), format === 'md' ? 'eve\\x1b\\[2J' : member('eve\\x1b[2J')]) assert.ok(text.includes(shown), `${format} shows ${shown}: ${text}`);
  }
  const json = JSON.parse(await exportText(repo, { format: 'json' }));
  assert.deepEqual([json.issues[0].title, json.issues[0].labels, json.issues[0].assignees], [title, [label], ['eve\u001b[2J']]);
});

test('export --format md: titles, labels, assignees, link urls and notes, attachment names are text, shown as typed, never Markdown or HTML that runs (<script>, a javascript: link, a url that closes its <…>); bodies stay Markdown', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const title = '<script>alert(1)</script> *not em* [x](javascript:alert(2)) C# \\`a\\` &lt; 1\\u2';
  const { issue_id } = (await runLocal('IssueCreate', { title, body: '**bold** stays', labels: ['a`b', '`x'] }, { cwd: repo })) as any;
  await gritSetup(repo, ['issue', 'assignee', 'add', issue_id, '--user', '<b>bob</b>']);
  await gritSetup(repo, ['issue', 'link', 'add', issue_id, '--url', 'https://e.example/x><img/src=x/onerror=alert(3)>', '--note', '[click](javascript:alert(4))']);
  await gritSetup(repo, ['issue', 'attachment', 'add', issue_id, '--name', 'my_file_[1].txt', '--sha256', 'ab'.repeat(32)]);
  // `issue link add` refuses a javascript: url; another writer's arrives by sync.
  await writeRaw(repo, issue_id, { type: 'LinkAdded', url: 'JavaScript:alert(5)', note: null });
  await writeRaw(repo, issue_id, { type: 'LinkAdded', url: 'https://e.example/a b', note: null });
  const md = await exportText(repo, { format: 'md' });
  const lines = md.split('\n');
  assert.ok(lines.includes('## \\<script\\>alert(1)\\</script\\> \\*not em\\* \\[x\\](javascript:alert(2)) C\\# \\\\\\`a\\\\\\` \\&lt; 1\\u2'), md);
  assert.ok(lines.includes('- **Labels:** `` `x ``, ``a`b``'), md);
  assert.ok(lines.includes('- **Assignees:** \\<b\\>bob\\</b\\>'), md);
  assert.ok(lines.includes('- **Link:** <https://e.example/x%3E%3Cimg/src=x/onerror=alert(3)%3E> — \\[click\\](javascript:alert(4))'), md);
  assert.ok(lines.includes('- **Link:** <https://e.example/a%20b>'), md);
  assert.ok(lines.includes('- **Link:** `JavaScript:alert(5)`'), md);
  assert.ok(lines.includes(`- **Attachment:** my\\_file\\_\\[1\\].txt (text/plain, sha256 \`${'ab'.repeat(32)}\`)`), md);
  assert.ok(lines.includes('**bold** stays'), 'a body is Markdown, as written');
});

test('export --format md: a code fence or an HTML comment that a body or comment leaves open is closed at its end, not left to swallow the issues after it', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const bodies = [
    ['log, cut short:\n```\nline 1', 'log, cut short:\n```\nline 1\n```'],
    ['longer:\n~~~~ sh\nx\n~~~\n```', 'longer:\n~~~~ sh\nx\n~~~\n```\n~~~~'],
    ['closed:\n```\nx\n```\nafter', 'closed:\n```\nx\n```\nafter'],
    ['not a fence: ```js `x` ```', 'not a fence: ```js `x` ```'],
    ['<!-- fill in the steps\n1. run', '<!-- fill in the steps\n1. run\n-->'],
    ['<!-- closed -->\ntext', '<!-- closed -->\ntext'],
  ];
  const ids: string[] = [];
  for (const [n, [body]] of bodies.entries()) ids.push(((await runLocal('IssueCreate', { title: `t${n}`, body }, { cwd: repo })) as any).issue_id);
  await gritSetup(repo, ['issue', 'comment', ids[0], '--body', '```\nopen in a comment']);
  const md = await exportText(repo, { format: 'md' });
  // A body is a block of its own: a blank line before it, and after it one or the end of the export.
  const block = (shown: string) => md.includes(`\n\n${shown}\n\n`) || md.endsWith(`\n\n${shown}\n`);
  for (const [body, shown] of bodies) assert.ok(block(shown), `${JSON.stringify(body)} shown as ${JSON.stringify(shown)}: ${md}`);
  assert.ok(block('```\nopen in a comment\n```'), md);
  // Each issue's heading is outside any fence: the fences of the whole document pair up before it.
  for (let n = 0; n < bodies.length; n++) {
    const before = md.slice(0, md.indexOf(`\n## t${n}\n`));
    assert.ok(before.length > 0, `t${n} heading`);
    assert.equal((before.match(/^(```|~~~)/gm) ?? []).length % 2, 0, `t${n} is not inside a code block`);
  }
});

/** What a command run in this process writes to its stdout sink, piece by piece. */
function recordingSink(): OutputSink & { pieces: string[]; begun: object[] } {
  const pieces: string[] = [];
  const begun: object[] = [];
  return { pieces, begun, begin: (r) => void begun.push(r), write: (text) => void pieces.push(text) };
}

/** Text from anyone: wide, combining, astral (a surrogate pair in JS), line separators (a title has no tab or newline: the body below does). */
const ODD_TITLE = 'Ümlaut 漢字 🐛 e\u0301 \u2028 end';

test('export -o - in the caller\'s process: written in bounded pieces, the bytes of the document written whole', { timeout: 120_000 }, async () => {
  const { repo } = await scene();
  await gritSetup(repo, ['issue', 'create', '--title', ODD_TITLE, '--body', `${ODD_TITLE}\ttab\n`.repeat(50), '--label', '🏷️']);
  // Enough events (every kind, several actors) that the export is many pieces long.
  await generateWal(join(repo, '.git'), { seed: 3, events: 1500, actors: [{ id: '11'.repeat(16) }, { id: '22'.repeat(16), secretKey: '5e'.repeat(32) }] });
  const opts = { cwd: repo };
  for (const format of ['json', 'md', 'csv']) {
    const sink = recordingSink();
    const r = (await runLocal('Export', { format, output: '-' }, opts, sink)) as any;
    assert.equal(r.content, undefined, 'streamed, not returned');
    assert.deepEqual(sink.begun, [r], 'begun once, with the result');
    const text = sink.pieces.join('');
    // The CSV (one short row per issue) is one piece here.
    assert.ok(sink.pieces.length > (format === 'csv' ? 0 : 1), `${format}: ${sink.pieces.length} pieces`);
    for (const piece of sink.pieces) assert.ok(piece.length < 2 * PIECE_CHARS, `${format}: a piece of ${piece.length}`);
    // Over IPC the export is the reply's content: the same text (but the time it was made).
    const whole = ((await runLocal('Export', { format, output: '-' }, opts)) as any).content;
    assert.equal(undated(text), undated(whole), format);
    const file = join(tempDir(), `x.${format}`);
    await runLocal('Export', { format, output: file }, opts);
    assert.equal(undated(readFileSync(file, 'utf8')), undated(text), `${format} in a file`);
    if (format !== 'json') continue;

    // The document the export was before it was streamed, from the same store: byte for byte.
    const doc = JSON.parse(text);
    assert.equal(doc.meta.event_count, r.event_count);
    const ctx = RepoContext.open(opts);
    try {
      const events = [...ctx.store.allEvents()].sort((a, b) => compareBytes(a.issue_id, b.issue_id) || compareEvents(a, b));
      const issues = [...ctx.store.issueIds()].sort().map((id) => ctx.store.getIssue(id));
      assert.equal(text, JSON.stringify({ meta: doc.meta, issues, events: events.map(eventToJson) }, null, 2) + '\n');
    } finally {
      await ctx.close();
    }
    assert.equal(JSON.stringify(doc, null, 2) + '\n', text, 'JSON.parse round-trips');
    assert.ok(doc.issues.some((i: any) => i.title === ODD_TITLE));
  }
});

test('export -o - from the CLI: the export on stdout, or in the --json envelope, as if printed whole; --quiet still writes it', async () => {
  const { repo } = await scene();
  await gritSetup(repo, ['issue', 'create', '--title', ODD_TITLE]);
  const out = grit(repo, ['export', '-o', '-']);
  assert.equal(out.code, 0, out.stderr);
  const doc = JSON.parse(out.stdout);
  assert.equal(JSON.stringify(doc, null, 2) + '\n', out.stdout);
  assert.equal(doc.events.length, 8);

  for (const format of ['json', 'md']) {
    const r = grit(repo, ['export', '--format', format, '-o', '-', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.stringify(r.json) + '\n', r.stdout, 'the envelope as JSON.stringify writes it');
    assert.deepEqual(Object.keys(r.json), ['schema_version', 'ok', 'data']);
    assert.deepEqual(Object.keys(r.json.data), ['format', 'output_path', 'wal_head', 'event_count', 'issue_count', 'content']);
    assert.deepEqual([r.json.data.format, r.json.data.output_path, r.json.data.issue_count], [format, '-', 3]);
    const content = r.json.data.content;
    if (format === 'json') assert.ok(JSON.parse(content).issues.some((i: any) => i.title === ODD_TITLE));
    else assert.match(content, /^## Ümlaut 漢字 🐛 /m);
  }
  // The export is what was asked for: -q silences chatter, never that (`-q > backup.json` is a backup).
  const quiet = grit(repo, ['export', '-o', '-', '-q']);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.deepEqual(JSON.parse(quiet.stdout).events, doc.events);
  assert.equal(grit(repo, ['export', '-o', join(repo, 'x.json'), '-q']).stdout, '', 'the status line of an export to a file is chatter');
});

test('export --output: a path it cannot write is io_error naming it (never the temporary file), with a suggestion, and leaves no temp file', { timeout: 30_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  const daemon = await startDaemon();
  try {
    for (const env of [{}, daemon.env]) {
      const proc = grit(repo, ['export', '--output', '/proc/self/x.json', '--json'], { timeout: 15_000, env });
      assert.equal(proc.code, 1, proc.stderr);
      assert.equal(proc.json.error.code, 'io_error');
      assert.equal(proc.json.error.message, 'cannot write /proc/self/x.json: ENOENT: no such file or directory');
      assert.match(proc.json.error.details.suggestion, /written beside that file and renamed over it.*`-o -` for standard output/);
    }
  } finally {
    await daemon.stop();
  }
});

test('export --output: a regular file is replaced whole, a character device written straight (/dev/null); a directory or a pipe is refused, never replaced', { timeout: 30_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  const dir = tempDir();
  mkdirSync(join(dir, 'taken'));
  spawnSync('mkfifo', [join(dir, 'pipe')]);
  for (const [target, what, suggestion] of [
    [join(dir, 'taken'), 'a directory', /name a file to write/],
    [join(dir, 'pipe'), 'a named pipe', /-o - > pipe/],
  ] as const) {
    const r = grit(repo, ['export', '--output', target, '--json'], { timeout: 15_000 });
    assert.deepEqual([r.code, r.json.error.code], [2, 'invalid_args'], target);
    assert.equal(r.json.error.message, `--output ${target} is ${what}`);
    assert.match(r.json.error.details.suggestion, suggestion);
  }
  const daemon = await startDaemon();
  try {
    for (const env of [{}, daemon.env]) {
      const r = grit(repo, ['export', '--output', '/dev/null', '--json'], { timeout: 15_000, env });
      assert.equal(r.code, 0, r.stdout);
      assert.deepEqual([r.json.data.output_path, r.json.data.issue_count], ['/dev/null', 1]);
    }
  } finally {
    await daemon.stop();
  }
  assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still the device');
  assert.deepEqual(readdirSync('/dev').filter((f) => f.includes('.grit-')), [], 'no temp file beside it');
  // A device's own failure is said as such, not as a full disk.
  const full = grit(repo, ['export', '--output', '/dev/full', '--json'], { timeout: 15_000 });
  assert.deepEqual([full.code, full.json.error.message], [1, 'cannot write /dev/full: ENOSPC: no space left on device']);
  assert.deepEqual(readdirSync(dir).sort(), ['pipe', 'taken'], 'no temp file left');
  // A file replaced keeps its mode (as `>` does); through a symbolic link, the target is written
  // and the link stays one, a dangling link's target made.
  const kept = join(dir, 'private.json');
  writeFileSync(kept, 'old', { mode: 0o600 });
  chmodSync(kept, 0o600);
  symlinkSync('private.json', join(dir, 'link.json'));
  symlinkSync('made.json', join(dir, 'dangling.json'));
  for (const out of ['private.json', 'link.json', 'dangling.json']) gritOk(repo, ['export', '--output', join(dir, out)]);
  assert.equal(statSync(kept).mode & 0o777, 0o600);
  assert.equal(JSON.parse(readFileSync(kept, 'utf8')).meta.event_count, 1);
  for (const link of ['link.json', 'dangling.json']) assert.ok(lstatSync(join(dir, link)).isSymbolicLink(), link);
  assert.equal(JSON.parse(readFileSync(join(dir, 'made.json'), 'utf8')).meta.event_count, 1);
});

test('export through the daemon makes its file, its directories and .grit/ with the caller\'s umask, as --no-daemon does, not the daemon\'s', { timeout: 60_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  const withUmask = <T>(mask: number, run: () => T): T => {
    const old = process.umask(mask); // what a process spawned meanwhile inherits
    try {
      return run();
    } finally {
      process.umask(old);
    }
  };
  const daemon = await withUmask(0o027, () => startDaemon());
  const made = ['.grit', '.grit/.gitignore', '.grit/export.json', 'made', 'made/x.json'];
  try {
    for (const [mask, dirMode, fileMode] of [[0o077, '700', '600'], [0o022, '755', '644']] as const) {
      for (const env of [{}, daemon.env]) {
        // Each made by the export: .grit/, its .gitignore, the directory for -o.
        for (const dir of ['.grit', 'made']) rmSync(join(repo, dir), { recursive: true, force: true });
        withUmask(mask, () => {
          gritOk(repo, ['export'], { env });
          gritOk(repo, ['export', '-o', 'made/x.json'], { env });
        });
        const modes = made.map((f) => (statSync(join(repo, f)).mode & 0o777).toString(8));
        assert.deepEqual(modes, [dirMode, fileMode, fileMode, dirMode, fileMode], `umask ${mask.toString(8)}, ${env === daemon.env ? 'daemon' : 'local'}`);
      }
    }
  } finally {
    await daemon.stop();
  }
});

test('export --output: empty is refused as empty; /dev/stdout is standard output; other names of a process\'s own descriptors are refused', { timeout: 30_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  const empty = grit(repo, ['export', '-o', '', '--json']);
  assert.deepEqual([empty.code, empty.json.error.code, empty.json.error.message], [2, 'invalid_args', '--output is empty']);
  assert.match(empty.json.error.details.suggestion, /`-o -` for standard output, or leave --output out/);
  const stdout = grit(repo, ['export', '-o', '/dev/stdout', '--format', 'csv']);
  assert.equal(stdout.code, 0, stdout.stderr);
  assert.deepEqual([stdout.stdout, stdout.stderr], [grit(repo, ['export', '-o', '-', '--format', 'csv']).stdout, '']);
  for (const target of ['/dev/stderr', '/dev/fd/2', '/proc/self/fd/2']) {
    const r = grit(repo, ['export', '-o', target, '--json']);
    assert.deepEqual([r.code, r.json.error.code], [2, 'invalid_args'], target);
    assert.match(r.json.error.message, /names a descriptor of the process that runs the export/);
  }
  // Over the API (and MCP), whose standard output is not the caller's, /dev/stdout is refused too.
  await assert.rejects(runLocal('Export', { output: '/dev/stdout' }, { cwd: repo }), /names a descriptor/);
});

test('export --output: never into the git dir, a linked worktree\'s .git or an actor\'s data dir, however the path leads there (.., a symbolic link, the daemon): refused, nothing written', { timeout: 60_000 }, async () => {
  const { main: repo, linked } = await twoWorktrees();
  await gritSetup(repo, ['actor', 'init', '--generate-key']);
  const home = join(tempDir(), 'home');
  await gritSetup(repo, ['actor', 'init', '--data-dir', home, '--generate-key']);
  await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  const key = readdirSync(join(repo, '.git', 'grit', 'actors'), { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('signing.key'))!;
  symlinkSync(join(repo, '.git', 'grit'), join(repo, 'state'));
  symlinkSync(join(repo, '.git', 'grit', 'config.toml'), join(repo, 'config-link'));
  const everything = () => [repo, home, linked].map((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((f) => `${f} ${lstatSync(join(dir, f)).isFile() ? readFileSync(join(dir, f), 'hex') : ''}`));
  const was = everything();
  const refused = (cwd: string, output: string, guarded: string, env = {}, selection: string[] = []) => {
    const r = grit(cwd, ['export', '-o', output, ...selection, '--json'], { timeout: 15_000, env });
    assert.deepEqual([r.code, r.json?.error?.code], [2, 'invalid_args'], `${output}: ${r.stdout}`);
    assert.match(r.json.error.message, /^--output .* is inside .*: an export there would replace grit's or git's own files$/, output);
    assert.equal(r.json.error.details.guarded_dir, guarded, output);
  };
  const gitDir = join(repo, '.git');
  for (const output of [join('.git', 'grit', 'actors', key), '.git/refs/grit/wal', '.git/grit/config.toml', 'sub/../.git/HEAD', '.git/new/x.json', 'state/exports/x.json', 'config-link']) refused(repo, output, gitDir);
  // A linked worktree's .git file, which names its git dir (inside the repository's).
  refused(linked, '.git', join(linked, '.git'));
  // An actor's data dir outside the repository, named by --data-dir or GRIT_HOME.
  refused(repo, join(home, 'config.toml'), home, {}, ['--data-dir', home]);
  refused(repo, join(home, 'keys', 'new.json'), home, { GRIT_HOME: home });
  const daemon = await startDaemon();
  try {
    refused(repo, join('.git', 'grit', 'actors', key), gitDir, daemon.env);
    refused(repo, join(home, 'keys', 'signing.key'), home, daemon.env, ['--data-dir', home]);
  } finally {
    await daemon.stop();
  }
  assert.deepEqual(everything(), was, 'nothing written, made or replaced');
});

test('export --output: missing directories are made inside the repository only; elsewhere the parent must exist', { timeout: 30_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  const dir = tempDir();
  const head = git(repo, 'rev-parse', 'refs/grit/wal');
  for (const out of [join(dir, 'a', 'b', 'c.json'), '/proc/self/nope/x.json', join(repo, '..', `${repo.split('/').pop()}-typo`, 'x.json')]) {
    const r = grit(repo, ['export', '--output', out, '--json'], { timeout: 15_000 });
    assert.deepEqual([r.code, r.json.error.code], [2, 'invalid_args'], out);
    assert.match(r.json.error.message, /^the directory of --output does not exist: \//);
    assert.match(r.json.error.details.suggestion, /mkdir -p .*only inside the repository/);
  }
  // Paths no file can have (stat throws for them rather than find nothing): the caller's mistake too.
  writeFileSync(join(dir, 'note.md'), 'a file');
  for (const [out, problem] of [[join(dir, 'note.md', 'x.json'), /is under a file, not a directory$/], [join(dir, `${'n'.repeat(300)}.json`), /is longer than the file system takes for a name$/]] as const) {
    const r = grit(repo, ['export', '--output', out, '--json'], { timeout: 15_000 });
    assert.deepEqual([r.code, r.json.error.code], [2, 'invalid_args'], out);
    assert.match(r.json.error.message, problem);
  }
  rmSync(join(dir, 'note.md'));
  assert.deepEqual(readdirSync(dir), [], 'nothing made outside the repository');
  assert.ok(!existsSync(join(repo, '..', `${repo.split('/').pop()}-typo`)));
  assert.equal(git(repo, 'rev-parse', 'refs/grit/wal'), head);

  // Inside the worktree (given relative to a subdirectory, as the CLI resolves it): made.
  mkdirSync(join(repo, 'sub'));
  const r = grit(join(repo, 'sub'), ['export', '--output', 'reports/2024/x.json', '--json']);
  assert.equal(r.code, 0, r.stdout);
  assert.equal(r.json.data.output_path, join(repo, 'sub', 'reports', '2024', 'x.json'));
  assert.ok(existsSync(r.json.data.output_path));
  // Outside, an existing parent is enough.
  assert.equal(gritOk(repo, ['export', '--output', join(dir, 'y.json')]).output_path, join(dir, 'y.json'));
});

test('export to the default .grit/: a file or a link to no directory in its place is said to be so, not with the errno of the .gitignore inside it; a link to a directory is followed', { timeout: 30_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  const dot = join(repo, '.grit');
  const outside = tempDir();
  const cases: [string, () => void, RegExp][] = [
    ['a file', () => writeFileSync(dot, 'notes\n'), /\.grit is a file, not a directory: the default export goes into the directory \.grit\/$/],
    ['a dangling link', () => symlinkSync(join(outside, 'gone'), dot), /\.grit is a symbolic link to .*gone, which does not exist/],
    ['a link to a file', () => { writeFileSync(join(outside, 'f'), ''); symlinkSync(join(outside, 'f'), dot); }, /\.grit is a symbolic link to .*f, not a directory/],
  ];
  for (const [what, make, message] of cases) {
    make();
    const r = grit(repo, ['export', '--json'], { timeout: 15_000 });
    assert.deepEqual([r.code, r.json.error.code], [1, 'io_error'], what);
    assert.match(r.json.error.message, message, what);
    assert.doesNotMatch(r.json.error.message, /E[A-Z]+:/, what);
    assert.match(r.json.error.details.suggestion, /out of the way.*--output/, what);
    rmSync(dot);
  }
  assert.deepEqual(readdirSync(outside), ['f'], 'nothing made through a link');
  symlinkSync(outside, dot);
  assert.equal(gritOk(repo, ['export']).output_path, join(dot, 'export.json'));
  assert.ok(existsSync(join(outside, 'export.json')));
});

test('export to the default .grit/export.<ext>: a link there (one a cloned repository may hold: into .git/config, ~/.bashrc, ../.env) is never written through, nor a .grit that links into the git dir; a directory or a pipe there is refused, not replaced', { timeout: 30_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  const config = readFileSync(join(repo, '.git', 'config'), 'utf8');
  const dot = join(repo, '.grit');
  const precious = join(tempDir(), 'bashrc');
  writeFileSync(precious, 'alias ll="ls -l"\n');
  writeFileSync(join(repo, '.env'), 'TOKEN=1\n');
  const cases: [string, () => void, RegExp, string][] = [
    ['a link to .git/config', () => { mkdirSync(dot); symlinkSync('../.git/config', join(dot, 'export.json')); }, /export\.json, where exports go by default, is inside the repository's git dir/, join(dot, 'export.json')],
    ['.grit a link to .git', () => symlinkSync('.git', dot), /export\.json, where exports go by default, is inside the repository's git dir/, dot],
    ['a directory', () => mkdirSync(join(dot, 'export.json'), { recursive: true }), /export\.json, where exports go by default, is a directory$/, join(dot, 'export.json')],
    ['a named pipe', () => { mkdirSync(dot); spawnSync('mkfifo', [join(dot, 'export.json')]); }, /export\.json, where exports go by default, is a named pipe$/, join(dot, 'export.json')],
    // Anywhere else, a link there is not written through either: `--output` says so when it is meant.
    ['a link out of the worktree', () => { mkdirSync(dot); symlinkSync(precious, join(dot, 'export.json')); }, /export\.json, where exports go by default, is a symbolic link \(to .*bashrc\), which the default export does not write through$/, join(dot, 'export.json')],
    ['a link to an untracked file', () => { mkdirSync(dot); symlinkSync('../.env', join(dot, 'export.json')); }, /is a symbolic link \(to .*\.env\)/, join(dot, 'export.json')],
  ];
  for (const [what, make, message, culprit] of cases) {
    make();
    const r = grit(repo, ['export', '--json'], { timeout: 15_000 });
    assert.deepEqual([r.code, r.json?.error?.code], [1, 'io_error'], `${what}: ${r.stdout}${r.stderr}`);
    assert.match(r.json.error.message, message, what);
    assert.ok(r.json.error.details.suggestion.startsWith(`move ${culprit} out of the way, or export elsewhere (`), what);
    assert.ok(r.json.error.details.suggestion.endsWith('`--output <path>`, `-o -` for standard output)'), what);
    assert.equal(readFileSync(join(repo, '.git', 'config'), 'utf8'), config, `${what}: git's config untouched`);
    assert.ok(!existsSync(join(repo, '.git', 'export.json')) && !existsSync(join(repo, '.git', '.gitignore')), `${what}: nothing written in .git`);
    rmSync(dot, { recursive: true, force: true });
  }
  assert.equal(git(repo, 'config', 'core.bare').trim(), 'false', 'the repository still reads its config');
  assert.equal(gritOk(repo, ['export']).output_path, join(dot, 'export.json'));
  assert.deepEqual([readFileSync(precious, 'utf8'), readFileSync(join(repo, '.env'), 'utf8')], ['alias ll="ls -l"\n', 'TOKEN=1\n'], 'no file written through a link');
  // Nor is a .gitignore there that is a dangling link: writing it made the file it names.
  rmSync(dot, { recursive: true });
  mkdirSync(dot);
  const named = join(tempDir(), 'made-by-grit');
  symlinkSync(named, join(dot, '.gitignore'));
  gritOk(repo, ['export']);
  assert.ok(!existsSync(named), 'nothing made through .grit/.gitignore');
});

test('export: a link planted at a temporary file\'s name an export may take (.grit/ may come with a clone) is not written through', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  mkdirSync(join(repo, '.grit'));
  const precious = join(tempDir(), 'bashrc');
  writeFileSync(precious, 'keep\n');
  // In this process, so the pid in the name is this one's: the name an older grit took (the pid
  // alone), and one of this grit's (the exclusive create, not the name, is what keeps the link
  // from being written through: replace-file.test.ts).
  const links = [`.export.json.grit-${process.pid}.tmp`, exportTempName('export.json', process.pid, 1)];
  for (const name of links) symlinkSync(precious, join(repo, '.grit', name));
  const r = (await runLocal('Export', {}, { cwd: repo })) as any;
  assert.equal(readFileSync(precious, 'utf8'), 'keep\n');
  assert.equal(JSON.parse(readFileSync(r.output_path, 'utf8')).meta.event_count, 1);
  assert.ok(lstatSync(r.output_path).isFile());
  assert.deepEqual(readdirSync(join(repo, '.grit')).sort(), ['.gitignore', 'export.json', ...links].sort(), 'the links left as they were');
});

test('export --since "": refused, not taken as no filter', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const r = grit(repo, ['export', '--since', '', '-o', '-', '--json']);
  assert.equal(r.code, 2);
  assert.equal(r.json.error.code, 'invalid_args');
});

test('export --since over a large, varied WAL: byte for byte the whole export\'s events after the mark (same-millisecond ties included) and the issues they touch', { timeout: 180_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await generateWal(join(repo, '.git'), { seed: 11, events: 3000, actors: [{ id: '11'.repeat(16) }, { id: '22'.repeat(16) }, { id: '33'.repeat(16) }], packed: true });
  const whole = await exportText(repo);
  const doc = JSON.parse(whole);
  const csvWhole = await exportText(repo, { format: 'csv' });
  // Event order on the JSON's hex fields (lowercase hex sorts as the bytes do): (ts, actor, event_id).
  const order = (e: any) => [String(e.ts_unix_ms).padStart(16, '0'), e.actor, e.event_id].join(' ');
  const byOrder = [...doc.events].sort((a, b) => (order(a) < order(b) ? -1 : 1));
  const tied = byOrder.findIndex((e, n) => n > byOrder.length * 0.9 && byOrder[n + 1]?.ts_unix_ms === e.ts_unix_ms);
  assert.ok(tied > 0, 'the WAL has events of one millisecond');
  const mark = byOrder[tied];
  const cases: Array<[string, (e: any) => boolean]> = [
    [mark.event_id, (e) => order(e) > order(mark)],
    [String(mark.ts_unix_ms), (e) => e.ts_unix_ms > mark.ts_unix_ms],
    [new Date(byOrder[100].ts_unix_ms).toISOString(), (e) => e.ts_unix_ms > byOrder[100].ts_unix_ms],
  ];
  for (const [since, kept] of cases) {
    const events = doc.events.filter(kept);
    const touched = new Set(events.map((e: any) => e.issue_id));
    const issues = doc.issues.filter((i: any) => touched.has(i.issue_id));
    assert.ok(events.length > 0 && events.length < doc.events.length, since);
    if (since === mark.event_id) assert.ok(issues.length < doc.issues.length, 'some issues have no event after the mark');
    const r = (await runLocal('Export', { output: '-', since }, { cwd: repo })) as any;
    const meta = { ...doc.meta, generated_ts: JSON.parse(r.content).meta.generated_ts, event_count: events.length };
    assert.equal(r.content, JSON.stringify({ meta, issues, events }, null, 2) + '\n', `--since ${since}`);
    // Counted from the log's keys: context events and events of issues not created yet are kept, under ids that are no issue.
    assert.deepEqual([r.event_count, r.issue_count], [events.length, issues.length], `--since ${since}, counts`);
    assert.ok(events.some((e: any) => !doc.issues.some((i: any) => i.issue_id === e.issue_id)), `--since ${since} keeps events of ids that are no issue`);
    const csv = await exportText(repo, { since, format: 'csv' });
    const rows = csvWhole.split('\r\n').filter((row, n) => n === 0 || row === '' || touched.has(row.slice(0, 32)));
    assert.equal(csv, rows.join('\r\n'), `--since ${since}, csv`);
  }
});

test('export reads the store once, as it was when it began: a write made while it is being written is neither counted nor written', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  // Issues enough that the first piece is written while the issues are still being read.
  await generateWal(join(repo, '.git'), { seed: 12, events: 4000, actors: [{ id: '11'.repeat(16) }], packed: true });
  let added: string | null = null;
  const pieces: string[] = [];
  const sink: OutputSink = {
    begin: () => {},
    write: async (text) => {
      pieces.push(text);
      if (added) return;
      // Another process writes to the same store and WAL in the middle of the export, and the
      // export waits a moment, as for a slow reader of its standard output.
      added = gritOk(repo, ['issue', 'create', '--title', 'written meanwhile']).issue_id;
      await new Promise((resolve) => setTimeout(resolve, 20));
    },
  };
  const r = (await runLocal('Export', { output: '-' }, { cwd: repo }, sink)) as any;
  assert.ok(added && pieces.length > 1);
  const doc = JSON.parse(pieces.join(''));
  assert.equal(doc.events.length, doc.meta.event_count);
  assert.deepEqual([r.event_count, r.issue_count], [doc.events.length, doc.issues.length]);
  assert.ok(!doc.issues.some((i: any) => i.issue_id === added) && !doc.events.some((e: any) => e.issue_id === added));
  assert.equal(doc.meta.wal_head, r.wal_head);
  assert.notEqual(r.wal_head, git(repo, 'rev-parse', 'refs/grit/wal').trim(), 'the WAL moved on');
  assert.equal(JSON.parse(await exportText(repo)).meta.event_count, doc.meta.event_count + 1, 'the next export has it');
});

/** A repository of `batches` × 24 issues with two 64 KiB comments each: an export of 2 MiB a batch. */
async function repoOfBigComments(batches: number): Promise<string> {
  const repo = tempRepo();
  await gritInit(repo);
  const ctx = RepoContext.open({ cwd: repo });
  try {
    for (let batch = 0; batch < batches; batch++) {
      const items: WriteItem[] = [];
      for (let n = 0; n < 24; n++) {
        const issue_id = newIssueId();
        items.push({ issue_id, kind: { type: 'IssueCreated', title: `big ${batch}.${n}`, body: '', labels: [] } });
        for (const c of [1, 2]) items.push({ issue_id, kind: { type: 'CommentAdded', body: `comment ${c} of ${batch}.${n}: ${'lorem ipsum '.repeat(5461)}` } });
      }
      await ctx.write(items);
    }
  } finally {
    ctx.wal.objects.close();
    await ctx.close();
  }
  return repo;
}

test('export holds a record at a time, not the store: 24 MiB of comments export in every format under a 24 MiB heap', { timeout: 300_000 }, async () => {
  // 192 issues of two 64 KiB comments each: held whole (the events, and the issues that repeat
  // their comments), the export needs twice the heap it is given; a record at a time, a fraction.
  const repo = await repoOfBigComments(8);
  const dir = tempDir();
  const env = { NODE_OPTIONS: '--max-old-space-size=24' };
  for (const format of ['json', 'md', 'csv']) {
    const file = join(dir, `x.${format}`);
    const r = grit(repo, ['export', '--format', format, '-o', file, '--no-daemon', '--json'], { env });
    assert.equal(r.code, 0, `${format}: ${r.stderr.slice(0, 2000)}`);
    assert.deepEqual([r.json.data.event_count, r.json.data.issue_count], [576, 192]);
    assert.equal(undated(readFileSync(file, 'utf8')), undated(await exportText(repo, { format })), format);
    rmSync(file);
  }
  // `-o -`: written to standard output (a file here) as it is made.
  const file = join(dir, 'stdout.json');
  const fd = openSync(file, 'w');
  try {
    const r = spawnSync(process.execPath, [GRIT_BIN, 'export', '-o', '-', '--no-daemon'], { cwd: repo, env: { ...process.env, ...env, GRIT_NO_DAEMON: '1' }, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr.slice(0, 2000));
  } finally {
    closeSync(fd);
  }
  assert.ok(statSync(file).size > 48 << 20, 'every comment, in its event and in its issue');
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).events.length, 576);
});

/** `grit export --no-daemon` (args), sent `signal` once its temporary file has data; how it ended, and that file's path. */
async function interruptedExport(repo: string, args: string[], signal: NodeJS.Signals): Promise<{ signal: NodeJS.Signals | null; tmp: string }> {
  const child = spawn(process.execPath, [GRIT_BIN, 'export', '--no-daemon', ...args], { cwd: repo, env: { ...process.env, GRIT_NO_DAEMON: '1' }, stdio: 'ignore' });
  const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  const ours = new RegExp(`^\\.export\\.json\\.grit-${child.pid}\\.\\d+\\.tmp$`);
  let tmp = '';
  for (;;) {
    const name = (existsSync(join(repo, '.grit')) ? readdirSync(join(repo, '.grit')) : []).find((n) => ours.test(n));
    tmp = name ? join(repo, '.grit', name) : '';
    if (tmp && (statSync(tmp, { throwIfNoEntry: false })?.size ?? 0) > 0) break;
    assert.equal(child.exitCode, null, 'the export ended before it could be interrupted');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  child.kill(signal);
  return { signal: await ended, tmp };
}

test('an interrupted export: Ctrl-C and SIGTERM remove its temporary file and end by the signal (exit 130, 143); after kill -9 doctor finds it and --fix deletes it', { timeout: 180_000 }, async () => {
  const repo = await repoOfBigComments(4);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const r = await interruptedExport(repo, [], signal);
    assert.equal(r.signal, signal, 'ended by the signal, as the shell reports it (128 + its number)');
    assert.deepEqual(readdirSync(join(repo, '.grit')).filter((n) => n !== '.gitignore'), [], `${signal}: a temporary file or an export left`);
  }
  const killed = await interruptedExport(repo, [], 'SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  assert.ok(existsSync(killed.tmp));
  // Left alone a while (a writer in another pid namespace keeps its file changing).
  const old = new Date(Date.now() - 120_000);
  utimesSync(killed.tmp, old, old);
  const temp = gritDoctor(repo).checks.find((c: any) => c.id === 'temp_files');
  assert.equal(temp.status, 'warn');
  assert.ok(temp.message.includes(killed.tmp), temp.message);
  gritDoctor(repo, ['--fix']);
  assert.ok(!existsSync(killed.tmp));
  assert.equal(gritOk(repo, ['export']).event_count, 288, 'an export after it is whole');
});

test('exports a daemon runs at once to one file each succeed, and leave a whole export: they shared a temporary file (named by the pid alone), so one failed with ENOENT and another put a half-written file in place', { timeout: 180_000 }, async () => {
  const repo = await repoOfBigComments(2);
  const daemon = await startDaemon();
  try {
    const path = join(repo, '.grit', 'export.json');
    // The daemon's one worker for the actor runs them together: each yields between its pieces.
    const runs = await Promise.all([1, 2, 3].map(() => gritAsync(repo, ['export', '--json'], { env: daemon.env })));
    for (const r of runs) assert.equal(r.code, 0, r.stdout + r.stderr.slice(0, 2000));
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).events.length, 144, 'whole');
    assert.deepEqual(readdirSync(join(repo, '.grit')).sort(), ['.gitignore', 'export.json'], 'no temporary file left');
  } finally {
    await daemon.stop();
  }
});
