/** Human output: relative times, `--format`, colours only on a TTY and never with NO_COLOR, Markdown bodies. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { colorEnabled, isPlainCell, relativeTime, singleLine, table, truncate, visibleLength } from '../../src/cli/format.js';
import { isCommonWide } from '../../src/cli/cells.js';
import { visibleDeep } from '../../src/core/terminal-safe.js';
import { renderMarkdown } from '../../src/cli/markdown.js';
import { parseArgv } from '../../src/cli/fast.js';
import { pagerCommand } from '../../src/cli/pager.js';
import { OPS_ACTIONS } from '../../src/cli/ops-actions.js';
import { runLocal } from '../../src/commands/run.js';
import { GRIT_BIN, REPO_ROOT } from '../helpers/paths.js';
import { git, grit, gritOk, tempDir, tempRepo, gritInit, gritSetup } from '../helpers/repo.js';
import { writeRaw } from '../helpers/write-raw.js';
import { daemonPausingSyncs, startDaemon } from '../helpers/daemon.js';
import { generateWal } from '../helpers/gen-events.js';
import { until } from '../helpers/wait.js';
import { GritClient } from '../../src/protocol/client.js';
import type { Notification } from '../../src/protocol/notifications.js';

const ANSI = /\u001b\[/;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** Runs grit on a real pseudo-terminal of the given width, and height (0: unknown) (util-linux `script`). */
function onTty(cwd: string, args: string[], cols: number, env: NodeJS.ProcessEnv = {}, code = 0, rows = 0, input?: string): string {
  const cmd = `stty cols ${cols} rows ${rows}; exec ${[process.execPath, GRIT_BIN, ...args].map((a) => `'${a}'`).join(' ')}`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
    cwd,
    input,
    encoding: 'utf8',
    env: { ...process.env, GRIT_NO_DAEMON: '1', NO_COLOR: undefined, FORCE_COLOR: undefined, COLUMNS: undefined, TERM: 'xterm', ...env },
    timeout: 30_000,
  });
  assert.equal(r.status, code, r.stdout + r.stderr);
  return r.stdout.replace(/\r/g, '');
}
const hasScript = spawnSync('script', ['--version']).status === 0;
/** What is left on the screen of `onTty`'s output once progress lines are erased (each drawn up to an erase to its end, `ESC [K`). */
const onScreen = (out: string): string => out.replace(/^.*\u001b\[K/gm, '');

describe('format helpers', () => {
  it('says how long ago, or how soon', () => {
    const now = 1_700_000_000_000;
    assert.equal(relativeTime(now - 10_000, now), 'just now');
    assert.equal(relativeTime(now - 50_000, now), '1m ago');
    assert.equal(relativeTime(now - 5 * MIN, now), '5m ago');
    assert.equal(relativeTime(now - 3 * HOUR - 59 * MIN, now), '3h ago');
    assert.equal(relativeTime(now - 2 * DAY, now), '2d ago');
    assert.equal(relativeTime(now - 65 * DAY, now), '2mo ago');
    assert.equal(relativeTime(now - 800 * DAY, now), '2y ago');
    assert.equal(relativeTime(now + 15 * MIN, now), 'in 15m');
  });

  it('says when the store was last rebuilt as other listings say a moment: to the second, and how long ago', () => {
    const stats = (ago: number) => {
      const ts = Date.now() - ago;
      const data = { path: '/r/store.mdb', size_bytes: 4096, event_count: 3, issue_count: 1, last_rebuild_ts: ts, events_since_rebuild: 2, days_since_rebuild: Math.floor(ago / DAY), rebuild_recommended: false };
      return { line: String(OPS_ACTIONS['db:stats'].render(data, {} as any)).split('\n').find((l) => l.startsWith('last rebuild'))!, ts };
    };
    // "(1 days ago)" and "(0 days ago)" were the whole days of days_since_rebuild, and the moment had its milliseconds.
    const day = stats(DAY + 2 * HOUR);
    assert.equal(day.line, `last rebuild  ${new Date(day.ts).toISOString().replace(/\.\d+Z$/, 'Z')} (1d ago)`);
    assert.match(stats(5 * MIN).line, /^last rebuild  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(5m ago\)$/);
  });

  it('colours a TTY unless NO_COLOR; FORCE_COLOR colours a pipe', () => {
    const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR, TERM: process.env.TERM };
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    const set = (env: Record<string, string | undefined>) => {
      for (const k of Object.keys(saved)) delete process.env[k];
      for (const [k, v] of Object.entries(env)) if (v !== undefined) process.env[k] = v;
    };
    try {
      const cases: [Record<string, string | undefined>, boolean, boolean][] = [
        [{ TERM: 'xterm' }, true, false],
        [{ TERM: 'xterm', NO_COLOR: '1' }, false, false],
        [{ TERM: 'xterm', NO_COLOR: '' }, true, false], // no-color.org: an empty NO_COLOR is unset
        [{ TERM: 'dumb' }, false, false],
        [{ TERM: 'xterm', FORCE_COLOR: '1' }, true, true],
        [{ TERM: 'xterm', FORCE_COLOR: '0' }, false, false], // as Node and chalk read it
        [{ TERM: 'xterm', FORCE_COLOR: '1', NO_COLOR: '1' }, false, false],
      ];
      for (const [env, onTty, onPipe] of cases) {
        set(env);
        assert.equal(colorEnabled(tty), onTty, `tty ${JSON.stringify(env)}`);
        assert.equal(colorEnabled(pipe), onPipe, `pipe ${JSON.stringify(env)}`);
      }
    } finally {
      set(saved);
    }
  });

  it('draws a table of 200k rows, in a pipe and to a width (measuring no column by spreading it into arguments)', () => {
    const rows = [['ID', 'TITLE', 'AGE'], ...Array.from({ length: 200_000 }, (_, i) => [String(i), i === 7 ? 'the longest title' : 'title', '3h ago'])];
    for (const width of [undefined, 30]) {
      const lines = table(rows, { shrink: [1], width }).split('\n');
      assert.equal(lines.length, rows.length);
      assert.equal(lines[0], width === undefined ? 'ID      TITLE              AGE' : 'ID      TITLE           AGE');
      assert.equal(lines[8], width === undefined ? '7       the longest title  3h ago' : '7       the longest t…  3h ago');
    }
  });

  it('cuts the shrinking column to the width, and only it', () => {
    const rows = [['ID', 'TITLE', 'AGE'], ['abcd', 'a rather long title that will not fit', '3h ago']];
    const wide = table(rows, { shrink: [1], width: 200 });
    assert.equal(wide, table(rows));
    const narrow = table(rows, { shrink: [1], width: 30 }).split('\n');
    assert.ok(narrow.every((l) => l.length <= 30), narrow.join('\n'));
    assert.equal(narrow[1], 'abcd  a rather long t…  3h ago');
    // Several: the first gives way down to its minimum (12 cells), then the next.
    const labelled = [['ID', 'TITLE', 'LABELS', 'AGE'], ['abcd', 'a rather long title that will not fit', 'needs-triage,backend-team', '3h']];
    const both = table(labelled, { shrink: [1, 2], width: 40 }).split('\n');
    assert.deepEqual(both, ['ID    TITLE         LABELS           AGE', 'abcd  a rather lo…  needs-triage,b…  3h']);
    // A tab is a space in a table: its width depends on where it falls.
    assert.equal(table([['a\tb', 'x'], ['abc', 'y']]), 'a b  x\nabc  y');
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(truncate('abc', 4), 'abc');
    // Cells, not characters: wide characters take two, combining marks none.
    assert.equal(visibleLength('日本語'), 6);
    assert.equal(visibleLength('e\u0301 🎉'), 4);
    assert.equal(truncate('日本語のタイトル', 7), '日本語…');
    assert.equal(table([['日本', 'x'], ['ab', 'y']]), '日本  x\nab    y');
  });

  it('in a pipe, pads a text column only to cells of up to 80: a longer one runs on in its own row, uncut', () => {
    const long = 'x'.repeat(100_000);
    const rows = [['ID', 'TITLE', 'LABELS', 'AGE'], ['a1', 'short', 'bug', '1h'], ['b2', long, 'p0', '2h'], ['c3', 'a bit longer', '', '3h']];
    const lines = table(rows, { shrink: [1, 2] }).split('\n');
    assert.deepEqual([lines[0], lines[1], lines[3]], ['ID  TITLE         LABELS  AGE', 'a1  short         bug     1h', 'c3  a bit longer          3h']);
    assert.equal(lines[2], `b2  ${long}  p0      2h`);
    // Up to 80 cells a column is padded as before; a column that is not text (`shrink`) always is.
    const eighty = 'y'.repeat(80);
    assert.deepEqual(table([['a', eighty, 'z'], ['b', 'c', 'z']], { shrink: [1] }).split('\n'), [`a  ${eighty}  z`, `b  c${' '.repeat(79)}  z`]);
    assert.deepEqual(table([[long, 'z'], ['b', 'z']]).split('\n'), [`${long}  z`, `b${' '.repeat(99_999)}  z`]);
  });

  it('counts the cells a terminal draws: emoji and their sequences two, wide CJK two, U+FFFD and other ambiguous characters one', () => {
    const cases: Array<[string, number]> = [
      ['bad \ufffd\ufffd bytes', 12], // invalid UTF-8 as read: East Asian Ambiguous, drawn narrow
      ['①②③ ± ━ \ufffc', 9],
      ['🚀 🪐 🟢 🫠', 11], // emoji beyond the Miscellaneous Symbols and Pictographs
      ['⌚☕✅❌⭐', 10], // emoji in the BMP
      ['⚠️ ❤️', 5], // made emoji by U+FE0F
      ['👩‍💻', 2], // a ZWJ sequence is one glyph
      ['🏳️‍🌈', 2],
      ['👍🏽', 2], // with a skin tone
      ['🇺🇸🇯🇵', 4], // flags: regional indicators in pairs
      ['🏴󠁧󠁢󠁳󠁣󠁴󠁿', 2], // a flag of tags
      ['1️⃣ #️⃣', 5], // keycaps
      ['漢字 𠀀𪚥 한국어 ＡＢＣ ｱｲｳ', 27], // wide and fullwidth, the second ideographic plane, halfwidth katakana
      ['ᄀ\u1160 \u3164', 3], // Hangul vowel jamo and fillers draw nothing of their own
      ['zero\u200bwidth\u2060\ufeff', 9],
      ['soft\u00adhyphen', 11],
    ];
    for (const [text, width] of cases) assert.equal(visibleLength(text), width, JSON.stringify(text));
    // A cut never splits what is drawn as one glyph: its base goes whole, or not at all.
    assert.equal(truncate('ab👩‍💻cd', 5), 'ab👩‍💻…');
    assert.equal(truncate('ab👩‍💻cd', 4), 'ab…');
    assert.equal(truncate('🇺🇸🇯🇵', 3), '🇺🇸…');
    // Columns line up after every one of them.
    const rows = cases.map(([text], n) => [text, String(n)]);
    const lines = table(rows).split('\n');
    const widest = Math.max(...cases.map(([, w]) => w));
    lines.forEach((line, n) => assert.equal(line, `${cases[n][0]}${' '.repeat(widest - cases[n][1] + 2)}${n}`));
  });

  it('takes the short way only where the full one gives the same: plain cells by their length, kana, CJK and Hangul two cells each', () => {
    const plain = ['', 'abc', 'Fix the flaky test #12', 'café ± Ø', 'x'.repeat(500), '\u0001\u007f\u0085'];
    const other = ['a\tb', 'a\nb', '\u001b[36mabc\u001b[0m', '日本', 'e\u0301', '🚀', '👩‍💻', '\u200b', '\ufffd', 'ｱ', 'a\u3000'];
    for (const s of plain) assert.ok(isPlainCell(s), JSON.stringify(s));
    for (const s of other) assert.ok(!isPlainCell(s), JSON.stringify(s));
    // What a plain cell skips (made one line, cleared of colour codes, measured) would change nothing.
    for (const s of [...plain, ...other]) if (isPlainCell(s)) assert.ok(singleLine(s) === s && visibleLength(s) === s.length, JSON.stringify(s));
    // None of the shortcut's characters is a mark, a format character, an emoji or a part of a sequence
    // (what the full measure looks for), and each takes two cells wherever it stands.
    const special = /[\p{M}\p{Cf}\p{Emoji}\p{Extended_Pictographic}\p{Emoji_Component}]/u;
    let seen = 0;
    for (let code = 0x300; code < 0x10000; code++) {
      if (!isCommonWide(code)) continue;
      seen++;
      const c = String.fromCharCode(code);
      assert.ok(!special.test(c), code.toString(16));
      for (const [text, width] of [[c, 2], [`a${c}`, 3], [`👩\u200d${c}`, 4], [`${c}\ufe0f`, 2], [`${c}\u0301`, 2], [`🇺${c}`, 4]] as const) {
        assert.equal(visibleLength(text), width, `${code.toString(16)} in ${JSON.stringify(text)}`);
      }
    }
    assert.ok(seen > 30_000, `${seen} code points`);
  });

  it('ends a line at its last cell with text, trimmed as a whole line is', () => {
    const rows = [['a', 'b', ''], ['cc', '', ''], ['d ', ' ', ''], [' ', '', 'e'], ['', '', ''], ['f', 'g\u3000', '']];
    const lines = ['a   b', 'cc', 'd', '         e', '', 'f   g'];
    assert.deepEqual(table(rows).split('\n'), lines);
    assert.deepEqual(table(rows, { width: 8, shrink: [1] }).split('\n'), lines);
    assert.deepEqual(rows[2], ['d ', ' ', ''], 'the rows given are left as they were');
    const tabbed = [['a\tb', 'x']];
    assert.equal(table(tabbed), 'a b  x');
    assert.deepEqual(tabbed, [['a\tb', 'x']]);
  });

  it('shows the data of a renderer made terminal-safe: a copy of what changes only, own fields only', () => {
    const quiet = { title: 'plain', labels: ['a', 'b'], n: 1, none: null };
    assert.equal(visibleDeep(quiet), quiet);
    const loud = { title: 'ok', labels: ['a', 'x\u001b[2J'], body: 'line\r\nnext' };
    const shown = visibleDeep(loud);
    assert.deepEqual(shown, { title: 'ok', labels: ['a', 'x\\x1b[2J'], body: 'line\nnext' });
    assert.deepEqual(loud.labels, ['a', 'x\u001b[2J'], 'the data given is left as it was');
    const inherited = Object.assign(Object.create({ from: 'proto\u0007' }), { own: 'x' });
    assert.equal(visibleDeep(inherited), inherited);
  });

  it('fits narrow widths: drops columns, cuts below the usual minimum, wraps a last column', () => {
    const rows = [['ID', 'STATE', 'TITLE', 'LABELS', 'UPDATED'], ['3b04bdac', 'open', 'a rather long title that will not fit', 'bug,backend', 'just now']];
    const fit = (width: number) => table(rows, { shrink: [2, 3], drop: [3, 4], width }).split('\n');
    assert.deepEqual(fit(40), ['ID        STATE  TITLE          UPDATED', '3b04bdac  open   a rather lon…  just now']);
    assert.deepEqual(fit(24), ['ID        STATE  TITLE', '3b04bdac  open   a rath…']);
    // Narrower than the kept columns allow: the cut stops at 4 cells and the row runs over.
    assert.deepEqual(fit(18), ['ID        STATE  TIT…', '3b04bdac  open   a r…']);
    // A coloured cell is cut by what shows, and its colour reset after the ellipsis.
    assert.equal(truncate('\u001b[36mabcdefgh\u001b[0m', 5), '\u001b[36mabcd…\u001b[0m');
    const findings = [['ok', 'git_repo', 'the repository at /tmp/some/where (git dir /tmp/some/where/.git)']];
    assert.deepEqual(table(findings, { wrap: true, width: 50 }).split('\n'), [
      'ok  git_repo  the repository at /tmp/some/where',
      '              (git dir /tmp/some/where/.git)',
    ]);
    assert.deepEqual(table(findings, { wrap: true, width: 30 }).split('\n'), [
      'ok  git_repo',
      '    the repository at',
      '    /tmp/some/where (git dir',
      '    /tmp/some/where/.git)',
    ]);
    assert.equal(table(findings, { wrap: true }), table(findings), 'nothing is cut or wrapped without a width');
    // A path longer than the room breaks after a `/`, never inside a name (`db stats` split the
    // actor id of its store's path), and only where it must; a name longer still is split.
    const store = [['store', `/tmp/repo/.git/grit/actors/${'d3dc78d7'.repeat(4)}/store.mdb`], ['size', '76 KiB']];
    assert.deepEqual(table(store, { wrap: true, width: 50 }).split('\n'), [
      'store  /tmp/repo/.git/grit/actors/',
      `       ${'d3dc78d7'.repeat(4)}/store.mdb`,
      'size   76 KiB',
    ]);
    assert.deepEqual(table(store, { wrap: true, width: 30 }).split('\n'), [
      'store',
      '    /tmp/repo/.git/grit/',
      `    actors/`,
      `    ${'d3dc78d7'.repeat(3)}d3`,
      '    dc78d7/store.mdb',
      'size',
      '    76 KiB',
    ]);
  });

  it('styles Markdown only when colouring, and keeps it as written otherwise', async () => {
    const md = '# Title\n\nSome `code` and **bold**, a [link](https://x.y/a_b_c), `**not bold**`.\n\n```\nraw *text*\n```\n- item\n> quoted';
    const saved = process.env.FORCE_COLOR;
    const savedNo = process.env.NO_COLOR;
    try {
      process.env.NO_COLOR = '1';
      assert.equal(renderMarkdown(md), md);
      delete process.env.NO_COLOR;
      process.env.FORCE_COLOR = '1';
      const out = renderMarkdown(md);
      const plain = out.replace(/\u001b\[[0-9;]*m/g, '');
      assert.equal(plain, 'Title\n\nSome code and bold, a link <https://x.y/a_b_c>, **not bold**.\n\n    raw *text*\n• item\n│ quoted');
      assert.match(out, /\u001b\[36mcode\u001b\[0m/);
      // A heading is emphasised, never case-mapped: that would change its text.
      const headings = renderMarkdown('# Straße\n## iOS ﬁxes ##\n### ǆ und ı');
      assert.equal(headings, '\u001b[1mStraße\u001b[0m\n\u001b[1miOS ﬁxes\u001b[0m\n\u001b[1mǆ und ı\u001b[0m');
    } finally {
      if (saved === undefined) delete process.env.FORCE_COLOR;
      else process.env.FORCE_COLOR = saved;
      if (savedNo === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = savedNo;
    }
  });
});

describe('issue list and show for people', () => {
  let repo: string;
  let ids: string[];
  let closed: string;

  before(async () => {
    repo = tempRepo();
    await gritInit(repo);
    ids = [
      (await gritSetup(repo, ['issue', 'create', '--title', 'A title long enough to be cut on a narrow terminal, surely', '--label', 'bug'])).issue_id,
      (await gritSetup(repo, ['issue', 'create', '--title', 'Short', '--body', '## Steps\n\nRun `grit sync`.'])).issue_id,
    ];
    closed = (await gritSetup(repo, ['issue', 'create', '--title', 'Done'])).issue_id;
    await gritSetup(repo, ['issue', 'close', closed]);
    ids.push(closed);
  });

  it('--format json is byte for byte --json; --format table is the default', () => {
    const json = grit(repo, ['issue', 'list', '--json']);
    assert.equal(grit(repo, ['issue', 'list', '--format', 'json']).stdout, json.stdout);
    assert.equal(grit(repo, ['issue', 'list', '--format=json', '--state', 'open']).stdout, grit(repo, ['issue', 'list', '--state', 'open', '--json']).stdout);
    assert.equal(grit(repo, ['issue', 'list', '--format', 'table']).stdout, grit(repo, ['issue', 'list']).stdout);
    // --json wins over another --format.
    assert.equal(grit(repo, ['issue', 'list', '--format', 'ids', '--json']).stdout, json.stdout);
  });

  it('--format ids prints one full id a line, as the JSON orders them', () => {
    const out = grit(repo, ['issue', 'list', '--format', 'ids']);
    assert.equal(out.code, 0);
    const expected = gritOk(repo, ['issue', 'list']).issues.map((i: any) => i.issue_id);
    assert.equal(out.stdout, expected.join('\n') + '\n');
    assert.deepEqual([...expected].sort(), [...ids].sort());
    assert.equal(grit(repo, ['issue', 'list', '--format', 'ids', '--state', 'closed']).stdout, `${closed}\n`);
    assert.equal(grit(repo, ['issue', 'list', '--format', 'ids', '--label', 'nothing']).stdout, '');
  });

  it('rejects an unknown format as invalid_args, as JSON when --format json was meant', () => {
    const bad = grit(repo, ['issue', 'list', '--format', 'xml']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /error: --format must be one of table, json, ids \(got xml\)/);
    const badJson = grit(repo, ['issue', 'list', '--format', 'json', '--bogus']);
    assert.equal(badJson.code, 2);
    assert.equal(badJson.json.error.code, 'invalid_args');
    // export's --format is its file format, not an output format: no envelope there.
    assert.equal(grit(repo, ['export', '--format', 'json', '--bogus']).json, null);
  });

  it('runs --format on the fast path', () => {
    const commands = JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')).commands;
    assert.deepEqual(parseArgv(['issue', 'list', '--format', 'ids'], commands)?.flags.format, 'ids');
    assert.equal(parseArgv(['issue', 'list'], commands)?.flags.format, 'table');
    assert.equal(parseArgv(['issue', 'list', '--format', 'xml'], commands), null);
  });

  it('keeps the other rows of `issue list` short in a pipe when one title is very long', async () => {
    const own = tempRepo();
    await gritInit(own);
    await gritSetup(own, ['issue', 'create', '--title', 'short one', '--label', 'bug']);
    const long = 'w'.repeat(100_000);
    await gritSetup(own, ['issue', 'create', '--title', long]);
    const lines = grit(own, ['issue', 'list']).stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.ok(lines.filter((l) => !l.includes(long)).every((l) => l.length < 80), lines.filter((l) => l.length < 1000).join('\n'));
    assert.match(lines.find((l) => l.includes(long))!, /^[0-9a-f]{8}  open   w{100000}  +just now$/);
  });

  it('has relative times and no colour in a pipe', () => {
    const list = grit(repo, ['issue', 'list'], { env: { NO_COLOR: undefined } });
    assert.doesNotMatch(list.stdout, ANSI);
    assert.match(list.stdout, /^ID +STATE +TITLE +LABELS +UPDATED$/m);
    assert.match(list.stdout, /(just now|\d+m ago)$/m);
    assert.match(list.stdout, /A title long enough to be cut on a narrow terminal, surely/);
    const show = grit(repo, ['issue', 'show', ids[1]], { env: { NO_COLOR: undefined } });
    assert.doesNotMatch(show.stdout, ANSI);
    assert.match(show.stdout, /opened (just now|\d+m ago) by [0-9a-f]{8} · updated (just now|\d+m ago)/);
    assert.match(show.stdout, /## Steps\n\nRun `grit sync`\./);
    assert.match(grit(repo, ['issue', 'list'], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } }).stdout, ANSI);
  });

  it('colours and fits a terminal, unless NO_COLOR', { skip: !hasScript && 'util-linux `script` is not installed' }, () => {
    const list = onTty(repo, ['issue', 'list'], 70);
    assert.match(list, ANSI);
    const lines = list.replace(/\u001b\[[0-9;]*m/g, '').trimEnd().split('\n');
    assert.ok(lines.every((l) => l.length <= 70), lines.join('\n'));
    assert.match(lines.join('\n'), /A title long enough to be cut[^\n]*…/);
    assert.doesNotMatch(lines.join('\n'), /surely/);
    assert.doesNotMatch(onTty(repo, ['issue', 'list'], 70, { NO_COLOR: '1' }), ANSI);
    const show = onTty(repo, ['issue', 'show', ids[1]], 100).replace(/\u001b\[[0-9;]*m/g, '');
    assert.match(show, /^Steps\n\nRun grit sync\.$/m);
    // JSON never changes on a terminal.
    assert.equal(onTty(repo, ['issue', 'list', '--json'], 70).trim(), grit(repo, ['issue', 'list', '--json']).stdout.trim());
  });

  it('fits every table to a 40-column terminal, or to COLUMNS; a pipe is never cut', { skip: !hasScript && 'util-linux `script` is not installed' }, async () => {
    const [a, b] = ids;
    await gritSetup(repo, ['issue', 'dep', 'add', a, '--target', b, '--type', 'blocks']);
    await gritSetup(repo, ['issue', 'label', 'add', a, '--label', 'backend-team']);
    await gritSetup(repo, ['lock', 'acquire', '--resource', 'path:src/some/deep/directory/parser', '--ttl', '30m', '--local']);
    try {
      const commands = [['issue', 'list'], ['lock', 'status'], ['issue', 'dep', 'topo'], ['issue', 'dep', 'list', b, '--reverse'], ['doctor']];
      const fitted = (out: string) => out.replace(/\u001b\[[0-9;]*m/g, '').trimEnd().split('\n');
      for (const args of commands) {
        for (const [cols, env] of [[40, {}], [120, { COLUMNS: '40' }]] as const) {
          const lines = fitted(onTty(repo, args, cols, env));
          assert.ok(lines.every((l) => visibleLength(l) <= 40), `${args.join(' ')} at ${cols} ${JSON.stringify(env)}:\n${lines.join('\n')}`);
        }
      }
      assert.match(fitted(onTty(repo, ['lock', 'status'], 40)).join('\n'), /^path:src\/some\/deep\S*…  you  \(in (30|29)m\)$/m);
      // Help too is fitted to COLUMNS as to a terminal that wide (oclif read only the terminal's width).
      for (const args of [['--help'], ['issue', 'create', '--help']]) {
        assert.equal(onTty(repo, args, 120, { COLUMNS: '40' }), onTty(repo, args, 40), args.join(' '));
      }
      const piped = grit(repo, ['issue', 'list'], { env: { COLUMNS: '40' } }).stdout;
      assert.match(piped, /A title long enough to be cut on a narrow terminal, surely +backend-team,bug/);
    } finally {
      await gritSetup(repo, ['lock', 'release', '--resource', 'path:src/some/deep/directory/parser', '--local']);
      await gritSetup(repo, ['issue', 'dep', 'remove', a, '--target', b, '--type', 'blocks']);
      await gritSetup(repo, ['issue', 'label', 'remove', a, '--label', 'backend-team']);
    }
  });

  it('fits `context query` to the terminal without cutting the names: a long path goes on under its row', { skip: !hasScript && 'util-linux `script` is not installed' }, async () => {
    const deep = 'very/long/directory/structure/that/goes/deeper/and/deeper/still';
    mkdirSync(join(repo, deep), { recursive: true });
    for (const file of ['m.py', `${deep}/module_name.py`]) writeFileSync(join(repo, file), 'def handle_incoming_request_payload():\n    pass\n');
    git(repo, 'add', 'm.py', deep);
    await gritSetup(repo, ['context', 'index']);
    const lines = onTty(repo, ['context', 'query', 'handle_incoming'], 80, { NO_COLOR: '1' }).trimEnd().split('\n');
    assert.ok(lines.every((l) => visibleLength(l) <= 80), lines.join('\n'));
    assert.equal(lines.filter((l) => l.startsWith('handle_incoming_request_payload  function  ')).length, 2, lines.join('\n'));
    assert.match(lines.join('\n'), /m\.py:1-2/);
    assert.match(lines.map((l) => l.trim()).join(''), /deeper\/still\/module_name\.py:1-2/, 'the path whole, over the lines it takes');
  });

  it('fits `issue dep topo` to the terminal too; FORCE_COLOR=0 means no colour', { skip: !hasScript && 'util-linux `script` is not installed' }, () => {
    const topo = onTty(repo, ['issue', 'dep', 'topo'], 50, { NO_COLOR: '1' }).trimEnd().split('\n');
    assert.ok(topo.length >= 3 && topo.every((l) => l.length <= 50), topo.join('\n'));
    assert.match(topo.join('\n'), /A title long[^\n]*…/);
    assert.doesNotMatch(onTty(repo, ['issue', 'list'], 70, { FORCE_COLOR: '0' }), ANSI);
  });

  it('gives a narrow terminal\'s room to the title before the labels, and before the prerequisites in `dep topo`', { skip: !hasScript && 'util-linux `script` is not installed' }, async () => {
    const [a, b, c] = ids;
    const labels = ['backend-team', 'needs-triage', 'very-long-label-name'];
    const d = (await gritSetup(repo, ['issue', 'create', '--title', 'Another'])).issue_id;
    for (const label of labels) await gritSetup(repo, ['issue', 'label', 'add', a, '--label', label]);
    for (const before of [b, c, d]) await gritSetup(repo, ['issue', 'dep', 'add', before, '--target', a, '--type', 'blocks']);
    try {
      const plain = (args: string[]) => onTty(repo, args, 80, { NO_COLOR: '1' }).trimEnd().split('\n');
      const list = plain(['issue', 'list']);
      const row = list.find((l) => l.startsWith(a.slice(0, 8)))!;
      // 50 cells for both: the labels give up all but 12 of theirs, the title keeps 38.
      assert.match(row, /A title long enough to be cut on a na… +backend-tea… /, list.join('\n'));
      const topo = plain(['issue', 'dep', 'topo']);
      assert.ok(topo.every((l) => l.length <= 80), topo.join('\n'));
      assert.match(topo.find((l) => l.includes(a.slice(0, 8)))!, /A title long enough to be cut on a[^…]*… +\S{11}…$/, topo.join('\n'));
    } finally {
      for (const before of [b, c, d]) await gritSetup(repo, ['issue', 'dep', 'remove', before, '--target', a, '--type', 'blocks']);
      for (const label of labels) await gritSetup(repo, ['issue', 'label', 'remove', a, '--label', label]);
      await gritSetup(repo, ['issue', 'close', d]);
    }
  });

  it('quotes a label or assignee holding a comma or quote, so that it cannot be read as two', async () => {
    const id = (await gritSetup(repo, ['issue', 'create', '--title', 'commas', '--label', 'a,b', '--label', 'say "hi"', '--label', 'c'])).issue_id;
    await gritSetup(repo, ['issue', 'assignee', 'add', id, '--user', 'Doe, Jane']);
    await gritSetup(repo, ['issue', 'assignee', 'add', id, '--user', 'bob']);
    try {
      assert.match(grit(repo, ['issue', 'list']).stdout, /commas +"a,b",c,"say ""hi""" +just now/);
      const show = grit(repo, ['issue', 'show', id]).stdout;
      assert.match(show, /^labels: "a,b", c, "say ""hi"""$/m);
      assert.match(show, /^assignees: "Doe, Jane", bob$/m);
    } finally {
      await gritSetup(repo, ['issue', 'close', id]);
    }
  });

  it('shows a repository path with a newline on one line in `daemon status`', async () => {
    const odd = join(tempDir(), 'nl\nrepo \u001b[31mred');
    mkdirSync(odd);
    git(odd, 'init', '-q');
    await gritInit(odd);
    const daemon = await startDaemon();
    try {
      gritOk(odd, ['issue', 'list'], { env: daemon.env }); // its worker is up
      const status = grit(odd, ['daemon', 'status'], { env: daemon.env }).stdout;
      assert.match(status, /^ {2}[0-9a-f]{8} {2}\S*\/nl repo \\x1b\[31mred$/m, status);
    } finally {
      await daemon.stop();
    }
  });

  it('shows a sync on a terminal with git\'s progress at most: no advice, ref names or raw errors', { skip: !hasScript && 'util-linux `script` is not installed' }, async () => {
    const remote = join(tempDir('grit-remote-'), 'remote.git');
    git(tempDir(), 'init', '-q', '--bare', remote);
    git(repo, 'remote', 'add', 'origin', remote);
    const other = tempRepo();
    git(other, 'remote', 'add', 'origin', remote);
    await gritInit(other);
    // First a push into an empty remote, then a pull of another clone's event.
    for (const round of [1, 2]) {
      const out = onScreen(onTty(repo, ['sync'], 100, { NO_COLOR: '1' }));
      assert.match(out, round === 1 ? /^pulled 0 events, rebased 0, pushed \d+/m : /^pulled 1 event, rebased 0, pushed 0/m, `round ${round}: ${out}`);
      assert.doesNotMatch(out, /warning:|hint:|refs\/grit|^From /m, `round ${round}: ${out}`);
      await gritSetup(other, ['issue', 'create', '--title', 'from the other clone']);
      await gritSetup(other, ['sync']);
    }
    // git's own error text is not printed ahead of grit's.
    const failed = onTty(repo, ['sync', '--remote', 'nosuch'], 100, { NO_COLOR: '1' }, 5);
    assert.match(failed, /^error: git fetch nosuch failed: no remote is named nosuch\nhint: see the remotes there are \(`git remote -v`\)/, failed);
    assert.doesNotMatch(failed, /access rights/, failed);
  });

  it('says when a lock expires, to the second and how soon', async () => {
    const locked = grit(repo, ['lock', 'acquire', '--resource', 'path:docs', '--ttl', '10m']);
    assert.match(locked.stdout, /^locked path:docs until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (10|9)m\) \((on origin|local only)\)$/m);
    await gritSetup(repo, ['lock', 'acquire', '--resource', 'path:src', '--ttl', '30s']);
    const status = grit(repo, ['lock', 'status']).stdout;
    assert.match(status, /^path:src +you +\S+Z +\(in [1-3]\ds\)$/m);
    assert.match(status, /^path:docs +you +\S+Z +\(in (10|9)m\)$/m);
    for (const resource of ['path:docs', 'path:src']) await gritSetup(repo, ['lock', 'release', '--resource', resource]);
  });

  it('shows control characters in synced text instead of sending them to the terminal, and in the Markdown export; JSON keeps them', async () => {
    const title = 'bell\x07 esc\x1b[31mRED\x1b[0m\nsecond line \u202eevil';
    const body = 'para\n\x1b]0;PWNED\x07\x1b[2J cleared\ttab';
    const id = (await gritSetup(repo, ['issue', 'create', '--title', 'plain', '--body', body])).issue_id;
    // grit refuses such a title and label; another writer's, arriving by sync, is written as it came.
    await writeRaw(repo, id, { type: 'IssueUpdated', title, body: null });
    await writeRaw(repo, id, { type: 'LabelAdded', label: 'l\x1b[1m' });
    await writeRaw(repo, id, { type: 'LabelAdded', label: 'new\nline' });
    const list = grit(repo, ['issue', 'list']).stdout;
    const show = grit(repo, ['issue', 'show', id]).stdout;
    assert.match(show, /^labels: l\\x1b\[1m, new line$/m, "show's labels: one line, as a table's cells");
    for (const out of [list, show]) assert.doesNotMatch(out, /[\x00-\x08\x0b-\x1f\x7f\u202e]/, out);
    assert.match(list, /bell\\x07 esc\\x1b\[31mRED\\x1b\[0m second line \\u202eevil/, 'one row, escapes shown');
    assert.match(show, /^bell\\x07 esc\\x1b\[31mRED\\x1b\[0m second line \\u202eevil #/, "show's title: one line");
    assert.match(show, /para\n\\x1b\]0;PWNED\\x07\\x1b\[2J cleared\ttab/, 'newlines and tabs kept');
    assert.equal(gritOk(repo, ['issue', 'show', id]).issue.title, title);
    // One-line fields refuse control characters now; another writer's, arriving by sync, are still shown.
    await writeRaw(repo, id, { type: 'AssigneeAdded', user: 'bob\x1b[31m' });
    await writeRaw(repo, id, { type: 'LinkAdded', url: 'http://x\x1b[2J', note: 'n\x1b[2J' });
    await writeRaw(repo, id, { type: 'AttachmentAdded', name: '\x1b[31mred', sha256: new Uint8Array(32), mime: 'text/plain' });
    await writeRaw(repo, id, { type: 'CommentAdded', body: 'c\x1b[2J\r\nnext\tline\rover' });
    const md = grit(repo, ['export', '--format', 'md', '--output', '-']).stdout;
    assert.doesNotMatch(md, /[\x00-\x08\x0b-\x1f\x7f\u202e]/, md);
    // Assignees, notes and names are text in the Markdown, so their `[` is escaped as well (`\[`).
    for (const shown of ['para\n\\x1b]0;PWNED\\x07\\x1b[2J cleared\ttab', 'bob\\x1b\\[31m', '<http://x\\x1b[2J> — n\\x1b\\[2J', '\\x1b\\[31mred', 'c\\x1b[2J\nnext\tline\\x0dover', '\\u202eevil']) {
      assert.ok(md.includes(shown), `${JSON.stringify(shown)} in ${md}`);
    }
    const exported = JSON.parse(grit(repo, ['export', '--output', '-']).stdout);
    assert.equal(exported.issues.find((i: any) => i.issue_id === id).body, body, 'the JSON export is data, kept as it is');
    await gritSetup(repo, ['issue', 'close', id]);
  });

  it('shows a CRLF line end as a line break, in show and the Markdown export; a lone CR stays shown; JSON keeps both', async () => {
    const crlf = 'Steps:\r\n1. open\r\n2. crash\r\n\rover';
    const id = (await gritSetup(repo, ['issue', 'create', '--title', 'crlf', '--body', crlf])).issue_id;
    await gritSetup(repo, ['issue', 'comment', id, '--body', crlf]);
    const show = grit(repo, ['issue', 'show', id]).stdout;
    const md = grit(repo, ['export', '--format', 'md', '--output', '-']).stdout;
    for (const out of [show, md]) {
      assert.equal(out.split('Steps:\n1. open\n2. crash\n\\x0dover').length, 3, `body and comment, broken into lines: ${out}`);
      assert.doesNotMatch(out, /\r/);
    }
    assert.equal(gritOk(repo, ['issue', 'show', id]).issue.body, crlf);
    await gritSetup(repo, ['issue', 'close', id]);
  });

  it('says what it reads from a terminal and how to end it; nothing of the kind in a pipe', { skip: !hasScript && 'util-linux `script` is not installed' }, async () => {
    const hint = (what: string) => new RegExp(`^grit: reading ${what} from the terminal; end it with Ctrl-D on a line of its own$`, 'm');
    // Typed, then Ctrl-D: the terminal ends the input.
    const created = onTty(repo, ['issue', 'create', '--title', 'typed', '--body-file', '-', '--json'], 100, {}, 0, 0, 'typed body\n\x04');
    assert.match(created, hint('the body'));
    const id = JSON.parse(created.split('\n').find((l) => l.startsWith('{'))!).data.issue_id;
    assert.equal(gritOk(repo, ['issue', 'show', id]).issue.body, 'typed body\n');
    // An attachment's content is piped, never typed: a terminal there is refused, nothing read.
    const typed = onTty(repo, ['issue', 'attachment', 'add', id, '-', '--name', 'typed.txt'], 100, { NO_COLOR: '1' }, 2, 0, 'data\n\x04');
    assert.match(typed, /^error: standard input is a terminal: nothing is piped in for the attachment$/m);
    assert.doesNotMatch(typed, hint('the attachment'));
    assert.deepEqual(gritOk(repo, ['issue', 'show', id]).issue.attachments, []);
    assert.match(onTty(repo, ['mcp'], 100, {}, 0, 0, '\x04'), hint('MCP requests .*'));
    // A program's input: no such line, on stderr or anywhere.
    const piped = grit(repo, ['issue', 'create', '--title', 'piped', '--body-file', '-'], { input: 'piped body' });
    assert.deepEqual([piped.code, piped.stderr], [0, '']);
    const attached = grit(repo, ['issue', 'attachment', 'add', id, '-', '--name', 'piped.txt'], { input: 'data' });
    assert.deepEqual([attached.code, attached.stderr], [0, '']);
    await gritSetup(repo, ['issue', 'close', id]);
    await gritSetup(repo, ['issue', 'close', piped.stdout.match(/[0-9a-f]{8}/)![0]]);
  });

  it('keeps oclif\'s styling out of error messages on a terminal', { skip: !hasScript && 'util-linux `script` is not installed' }, () => {
    const out = onTty(repo, ['issue', 'create', '--json'], 100, {}, 2);
    assert.equal(JSON.parse(out).error.message, grit(repo, ['issue', 'create', '--json']).json.error.message);
    assert.doesNotMatch(out, /\\u001b|\x1b/);
  });

  it('says what the remote said when it refuses a push', async () => {
    const remote = join(tempDir('grit-remote-'), 'remote.git');
    git(tempDir(), 'init', '-q', '--bare', remote);
    writeFileSync(join(remote, 'hooks', 'pre-receive'), '#!/bin/sh\necho "policy: no grit refs here" >&2\nexit 1\n', { mode: 0o755 });
    const r = grit(repo, ['sync', '--remote', remote, '--json']);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.json.error.code, 'git_error');
    assert.match(r.json.error.message, /^git push to .* failed: error: failed to push some refs to .*; the remote said: policy: no grit refs here/);
    assert.match(r.json.error.details.suggestion, /the remote refused the update/);
  });
});

describe('a pager for long output on a terminal', { skip: !hasScript && 'util-linux `script` is not installed' }, () => {
  let repo: string;
  let big: string;
  const dir = tempDir();
  /** A pager that records that it ran, with its LESS, and what it was given. */
  const recorder = join(dir, 'less');
  const ran = join(dir, 'ran');
  const got = join(dir, 'got');
  writeFileSync(recorder, `#!/bin/sh\necho "LESS=$LESS" > '${ran}'\ncat > '${got}'\n`, { mode: 0o755 });
  /** What the pager recorded, if it ran: its LESS and its input. */
  const paged = (): { less: string; input: string } | null => {
    if (!existsSync(ran)) return null;
    const out = { less: readFileSync(ran, 'utf8').trim(), input: readFileSync(got, 'utf8') };
    rmSync(ran);
    return out;
  };
  // The height of the terminals below: 10 rows, so that 9 lines fit and the prompt has one.
  const tty = (args: string[], env: NodeJS.ProcessEnv, rows = 10, code = 0) =>
    onTty(repo, args, 80, { NO_COLOR: '1', GRIT_PAGER: undefined, PAGER: undefined, LESS: undefined, ...env }, code, rows);

  before(async () => {
    repo = tempRepo();
    await gritInit(repo);
    for (let k = 1; k <= 12; k++) await runLocal('IssueCreate', { title: `issue ${k}` }, { cwd: repo });
    // A body larger than a pipe holds (64 KiB): a pager that reads none of it makes the write fail.
    const body = Array.from({ length: 4000 }, (_, k) => `line ${k} of a long body`).join('\n');
    big = ((await runLocal('IssueCreate', { title: 'big', body }, { cwd: repo })) as { issue_id: string }).issue_id;
  });

  it('pages a listing longer than the terminal through GRIT_PAGER, with LESS=FRX, and one that fits not', () => {
    const out = tty(['issue', 'list'], { GRIT_PAGER: recorder });
    const run = paged();
    assert.ok(run, 'the pager ran');
    assert.equal(run.less, 'LESS=FRX');
    for (let k = 1; k <= 12; k++) assert.match(run.input, new RegExp(`  issue ${k}  `), `issue ${k} went to the pager`);
    assert.match(run.input, /^13 issues\n$/m);
    assert.doesNotMatch(out, /issue 1/, 'nothing of it written past the pager');
    // Its own LESS is kept.
    tty(['issue', 'show', big], { GRIT_PAGER: recorder, LESS: '-S' });
    assert.equal(paged()?.less, 'LESS=-S');
    // 14 lines on a terminal of 20 rows: written as it is.
    assert.match(tty(['issue', 'list'], { GRIT_PAGER: recorder }, 20), /^13 issues$/m);
    assert.equal(paged(), null);
  });

  it('pages with PAGER, else with less from PATH; GRIT_PAGER outranks PAGER', () => {
    tty(['issue', 'list'], { PAGER: recorder });
    assert.ok(paged(), 'PAGER');
    tty(['issue', 'list'], { PATH: `${dir}:${process.env.PATH}` });
    assert.equal(paged()?.less, 'LESS=FRX', 'the `less` first on PATH');
    tty(['issue', 'list'], { GRIT_PAGER: 'cat', PAGER: recorder });
    assert.equal(paged(), null, 'GRIT_PAGER=cat');
    assert.equal(pagerCommand({ PATH: dir }), 'less');
    assert.equal(pagerCommand({ PATH: join(dir, 'nowhere') }), null, 'no less on PATH: no pager');
    assert.equal(pagerCommand({ GRIT_PAGER: 'most -s', PAGER: 'less' }), 'most -s');
  });

  it('never pages with --no-pager, --json, -q, GRIT_PAGER= or PAGER=cat, in a pipe, nor a command that does not list or show', () => {
    const cases: [string[], NodeJS.ProcessEnv][] = [
      [['issue', 'list', '--no-pager'], { GRIT_PAGER: recorder }],
      [['--no-pager', 'issue', 'show', big], { GRIT_PAGER: recorder }],
      [['issue', 'list', '--json'], { GRIT_PAGER: recorder }],
      [['issue', 'list', '--format', 'json'], { GRIT_PAGER: recorder }],
      [['issue', 'list', '-q'], { GRIT_PAGER: recorder }],
      [['issue', 'list'], { GRIT_PAGER: '', PAGER: recorder }],
      [['issue', 'list'], { PAGER: 'cat' }],
      [['doctor'], { GRIT_PAGER: recorder }],
    ];
    for (const [args, env] of cases) {
      const out = tty(args, env);
      assert.equal(paged(), null, `${args.join(' ')} ${JSON.stringify(env)}`);
      if (!args.includes('-q')) assert.notEqual(out, '', `${args.join(' ')}: written to the terminal`);
    }
    const piped = grit(repo, ['issue', 'show', big], { env: { GRIT_PAGER: recorder } });
    assert.match(piped.stdout, /line 3999 of a long body/);
    assert.equal(paged(), null, 'a pipe');
  });

  it('costs a listing that fits nothing: no child_process unless the pager runs (through a warm daemon)', async () => {
    const daemon = await startDaemon();
    const probe = join(dir, 'probe.cjs');
    const report = join(dir, 'child_process');
    writeFileSync(probe, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, String(process.moduleLoadList.includes('NativeModule child_process'))));\n`);
    const childProcess = (rows: number): string => {
      tty(['issue', 'list'], { ...daemon.env, GRIT_PAGER: recorder, NODE_OPTIONS: `--require ${probe}` }, rows);
      return readFileSync(report, 'utf8');
    };
    try {
      gritOk(repo, ['issue', 'list'], { env: daemon.env }); // the worker is up
      assert.equal(childProcess(40), 'false', 'fits: printed, nothing spawned');
      assert.equal(paged(), null);
      assert.equal(childProcess(10), 'true', 'pages: the probe sees child_process');
      assert.ok(paged());
    } finally {
      await daemon.stop();
    }
  });

  it('a pager that quits before reading it all, or cannot be run, is no error', () => {
    const quit = tty(['issue', 'show', big], { GRIT_PAGER: 'exit 3' });
    assert.doesNotMatch(quit, /error|line 1 of/i, quit.slice(0, 500));
    const missing = tty(['issue', 'list'], { GRIT_PAGER: join(dir, 'no-such-pager') });
    assert.match(missing, /no-such-pager: not found/, 'the shell says so');
    assert.match(missing, /^13 issues$/m, 'and the output is not lost');
  });
});

describe('human errors', () => {
  it('always end with a one-line hint, the error\'s own or one for its code', async () => {
    const repo = tempRepo();
    await gritInit(repo);
    const id = (await gritSetup(repo, ['issue', 'create', '--title', 't'])).issue_id;
    const cases: [string[], number, RegExp][] = [
      [['lock', 'acquire', '--resource', 'nope:x'], 2, /^hint: for example --resource path:src\/git/m],
      [['issue', 'update', id, '--title', ''], 2, /^hint: give a title/m],
      [['issue', 'show', 'ffffffff'], 3, /^hint: .*grit issue list/m],
    ];
    for (const [args, code, hint] of cases) {
      const r = grit(repo, args);
      assert.equal(r.code, code, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.match(lines[0], /^error: /, r.stderr);
      assert.match(r.stderr, hint);
      assert.equal(lines.length, 2, r.stderr);
    }
  });
});

describe('progress on a terminal', { skip: !hasScript && 'util-linux `script` is not installed' }, () => {
  it('through the daemon, a rebuild draws its bar on the terminal as in process and erases it; a pipe, --json or -q gets none', async () => {
    const repo = tempRepo();
    await gritInit(repo);
    await generateWal(join(repo, '.git'), { seed: 11, events: 6000, actors: [{ id: 'c'.repeat(32) }], packed: true });
    const BAR = /replaying WAL \[[#.]+\] \d+% \d+\/\d+/;
    // In process first: the daemon's worker, once it serves the repository, holds its store.
    assert.match(onTty(repo, ['rebuild', '--no-daemon'], 100), BAR);
    for (const flag of ['--json', '-q']) assert.doesNotMatch(onTty(repo, ['rebuild', '--no-daemon', flag], 100), /replaying|\u001b/, flag);
    const daemon = await startDaemon();
    try {
      const served = onTty(repo, ['rebuild'], 100, daemon.env);
      assert.match(served, BAR, served.slice(-400));
      assert.match(served, /\u001b\[Krebuilt 6000 events up to [0-9a-f]+ \(from the WAL\)\n$/, 'the line is erased before the summary');
      assert.deepEqual(gritOk(repo, ['daemon', 'status'], { env: daemon.env }).workers.map((w: { repo_root: string }) => w.repo_root), [repo], 'the daemon ran it');
      for (const flag of ['--json', '-q']) assert.doesNotMatch(onTty(repo, ['rebuild', flag], 100, daemon.env), /replaying|\u001b/, flag);
      const piped = grit(repo, ['rebuild'], { env: daemon.env });
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal(piped.stderr, '');
    } finally {
      await daemon.stop();
    }
  });

  it('Ctrl-C while a sync waits for another in the daemon erases the line and ends the CLI; the daemon runs the sync all the same', async () => {
    // The first sync stops after applying its first step, until the test lets it go on.
    const { daemon, repo, paused, events } = await daemonPausingSyncs();
    const client = await daemon.client();
    const synced: Notification[] = [];
    const watch = await GritClient.subscribe((n) => synced.push(n), { endpoint: events, kinds: ['WalSynced'] });
    try {
      const first = client.request('Sync', {}, { repoRoot: repo });
      await until('the first sync paused half-way', () => existsSync(paused));
      const cmd = `stty cols 100; exec ${[process.execPath, GRIT_BIN, 'sync'].map((a) => `'${a}'`).join(' ')}`;
      const tty = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: repo, env: { ...process.env, ...daemon.env, TERM: 'xterm' } });
      let out = '';
      tty.stdout.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((r) => tty.on('exit', (code) => r(code)));
      await until(() => `the second sync says it waits: ${JSON.stringify(out)}`, () => out.includes('waiting for a sync already running in the daemon…'));
      // `script` runs the shell that execs grit: its child is grit's process.
      const cli = Number(spawnSync('pgrep', ['-P', String(tty.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
      process.kill(cli, 'SIGINT');
      assert.equal(await exited, 130, out);
      assert.match(out, /waiting for a sync already running in the daemon…\u001b\[K\r\u001b\[K$/, 'the line is erased, and nothing follows');
      rmSync(paused);
      await first;
      await until('the interrupted sync ran in the daemon too', () => synced.length === 2);
    } finally {
      rmSync(paused, { force: true });
      watch.close();
      client.close();
      await daemon.stop();
    }
  });
});
