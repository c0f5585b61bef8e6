import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { git, grit, gritDoctor, gritOk, gritSetup, tempDir, tempRepo, gritInit } from '../helpers/repo.js';
import { startDaemon } from '../helpers/daemon.js';
import { open } from 'lmdb';

test('actor init, list, show, current, use', async () => {
  const repo = tempRepo();
  const first = (await gritInit(repo)).actor;
  const second = gritOk(repo, ['actor', 'init', '--label', 'bot']).actor;
  assert.equal(second.label, 'bot');
  assert.equal(second.is_default, false);
  const list = gritOk(repo, ['actor', 'list']).actors;
  assert.deepEqual(list.map((a: any) => a.actor_id).sort(), [first.actor_id, second.actor_id].sort());
  assert.equal(gritOk(repo, ['actor', 'current']).actor.actor_id, first.actor_id);
  assert.equal(gritOk(repo, ['actor', 'show', second.actor_id.slice(0, 6)]).actor.label, 'bot');
  gritOk(repo, ['actor', 'use', second.actor_id]);
  assert.equal(gritOk(repo, ['actor', 'current']).actor.actor_id, second.actor_id);
  const missing = grit(repo, ['actor', 'use', 'ffffffff', '--json']);
  assert.equal(missing.code, 3);
});

test('actor init with a label an actor has answers with that actor; --actor takes a label', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const first = gritOk(repo, ['actor', 'init', '--label', 'agent-7']);
  assert.equal(first.created, true);
  const again = gritOk(repo, ['actor', 'init', '--label', 'agent-7']);
  assert.deepEqual([again.created, again.actor.actor_id], [false, first.actor.actor_id]);
  // Trimmed as issue labels are; a control character refused.
  const spaced = gritOk(repo, ['actor', 'init', '--label', ' agent-7 ']);
  assert.deepEqual([spaced.created, spaced.actor.actor_id], [false, first.actor.actor_id]);
  const twoLines = grit(repo, ['actor', 'init', '--label', 'agent\n7', '--json']);
  assert.equal(twoLines.code, 2, twoLines.stdout);
  assert.match(twoLines.json.error.message, /^--label must be one line without control characters$/);
  const human = grit(repo, ['actor', 'init', '--label', 'agent-7'], { env: { NO_COLOR: '1' } }).stdout;
  assert.match(human, /^the actor labelled agent-7 exists already: this one \(nothing created\)\nactor +[0-9a-f]{32}\n/);
  assert.doesNotMatch(grit(repo, ['actor', 'init', '--label', 'agent-5']).stdout, /exists already/);
  assert.equal(gritOk(repo, ['actor', 'list']).actors.filter((a: any) => a.label === 'agent-7').length, 1);
  // Unlabelled actors are each new.
  assert.notEqual(gritOk(repo, ['actor', 'init']).actor.actor_id, gritOk(repo, ['actor', 'init']).actor.actor_id);
  const made = gritOk(repo, ['issue', 'create', '--title', 'by label', '--actor', 'agent-7']);
  assert.equal(gritOk(repo, ['issue', 'show', made.issue_id]).events[0].actor, first.actor.actor_id);
  // show names authors by the label this repository knows them by; unlabelled ones by id.
  await gritSetup(repo, ['issue', 'comment', made.issue_id, '--body', 'from the default actor']);
  const shown = gritOk(repo, ['issue', 'show', made.issue_id]);
  assert.deepEqual(shown.actor_labels, { [first.actor.actor_id]: 'agent-7' });
  const page = grit(repo, ['issue', 'show', made.issue_id], { env: { NO_COLOR: '1' } }).stdout;
  assert.match(page, /^open · opened just now by agent-7 · /m);
  assert.match(page, new RegExp(`^── ${shown.events[1].actor.slice(0, 8)} · `, 'm'));
  assert.equal(gritOk(repo, ['actor', 'show', 'agent-7']).actor.actor_id, first.actor.actor_id);
  const unknown = grit(repo, ['issue', 'list', '--actor', 'agent-8', '--json']);
  assert.equal(unknown.code, 3);
  assert.match(unknown.json.error.message, /no actor agent-8 .*neither an id nor a label/);

  // A key given to an actor that existed before is said to leave its earlier events unsigned; a new one's is not.
  const keyed = grit(repo, ['actor', 'init', '--label', 'agent-7', '--generate-key', '--json']);
  assert.equal(keyed.json.data.actor.key_scheme, 'ed25519');
  assert.match(keyed.stderr, new RegExp(`actor ${first.actor.actor_id} had no key until now`));
  const fresh = grit(repo, ['actor', 'init', '--label', 'agent-9', '--generate-key', '--json']);
  assert.equal(fresh.json.data.created, true);
  assert.doesNotMatch(fresh.stderr, /had no key/);

  // Two actors with one label (made by hand, or by an older grit): the label names neither.
  const twin = join(repo, '.git/grit/actors', 'ab'.repeat(16));
  mkdirSync(twin, { recursive: true });
  writeFileSync(join(twin, 'config.toml'), `actor_id = "${'ab'.repeat(16)}"\nlabel = "agent-7"\ncreated_ts = 1\n`);
  const ambiguous = grit(repo, ['issue', 'list', '--actor', 'agent-7', '--json']);
  assert.equal(ambiguous.code, 2);
  assert.match(ambiguous.json.error.message, /2 actors have the label "agent-7"/);
});

test('selection order: --data-dir / GRIT_HOME, then --actor, then the default, else auto-init', () => {
  const repo = tempRepo();
  // No init: the first command creates an actor and makes it the default.
  const auto = gritOk(repo, ['issue', 'create', '--title', 'x']);
  const def = gritOk(repo, ['actor', 'current']).actor.actor_id;
  assert.equal(gritOk(repo, ['issue', 'show', auto.issue_id]).events[0].actor, def);
  const other = gritOk(repo, ['actor', 'init']).actor.actor_id;
  const viaFlag = gritOk(repo, ['issue', 'create', '--title', 'y', '--actor', other]);
  assert.equal(gritOk(repo, ['issue', 'show', viaFlag.issue_id]).events[0].actor, other);
  const home = join(tempDir(), 'actor');
  gritOk(repo, ['actor', 'init', '--data-dir', home]);
  const viaHome = gritOk(repo, ['issue', 'create', '--title', 'z', '--actor', other], { env: { GRIT_HOME: home } });
  const homeActor = gritOk(repo, ['actor', 'current'], { env: { GRIT_HOME: home } }).actor.actor_id;
  assert.notEqual(homeActor, other);
  assert.equal(gritOk(repo, ['issue', 'show', viaHome.issue_id], { env: { GRIT_HOME: home } }).events[0].actor, homeActor);
  const viaDataDir = gritOk(repo, ['actor', 'current', '--data-dir', home]).actor.actor_id;
  assert.equal(viaDataDir, homeActor);
  // Every actor sees every event: all views are folds of one WAL.
  assert.equal(gritOk(repo, ['issue', 'list', '--actor', other]).total, 3);
  assert.equal(gritOk(repo, ['issue', 'list']).total, 3);
});

test('a --data-dir or GRIT_HOME that holds no actor is refused, nothing written, locally and through the daemon; actor init and init make one there', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const daemon = await startDaemon();
  try {
    for (const [how, env] of [['local', {}], ['daemon', daemon.env]] as const) {
      const parent = tempDir();
      const cases: [string, RegExp][] = [
        [join(parent, 'typo'), /does not exist$/],
        [join(parent, 'no', 'such', 'dir'), /does not exist$/],
        [parent, /holds no actor \(no config\.toml\)$/],
      ];
      for (const [dir, why] of cases) {
        for (const r of [
          grit(repo, ['issue', 'list', '--json', '--data-dir', dir], { env }),
          grit(repo, ['issue', 'create', '--title', 'x', '--json'], { env: { ...env, GRIT_HOME: dir } }),
        ]) {
          assert.equal(r.code, 2, `${how} ${dir}: ${r.stdout}${r.stderr}`);
          assert.equal(r.json.error.code, 'invalid_args');
          assert.match(r.json.error.message, new RegExp(`^the data dir ${dir} \\(--data-dir or GRIT_HOME\\) ${why.source}`), how);
          assert.equal(r.json.error.details.suggestion, `check the path; \`grit actor init --data-dir ${dir}\` makes a new actor there`);
        }
      }
      assert.deepEqual(readdirSync(parent), [], `${how}: nothing was written`);
      // The explicit ways: actor init (again: the same actor), and init.
      const made = join(parent, 'agent', 'home');
      const created = gritOk(repo, ['actor', 'init', '--data-dir', made, '--label', 'agent']);
      assert.deepEqual([created.created, created.actor.data_dir, created.actor.is_default], [true, made, false]);
      assert.deepEqual(gritOk(repo, ['actor', 'init'], { env: { GRIT_HOME: made } }), { ...created, created: false });
      const r = grit(repo, ['issue', 'create', '--title', 'as agent', '--json', '--data-dir', made], { env });
      assert.equal(r.code, 0, r.stdout);
      assert.equal(r.stderr, '');
      assert.equal(gritOk(repo, ['issue', 'show', r.json.data.issue_id]).events[0].actor, created.actor.actor_id);
      const viaInit = gritOk(repo, ['init', '--no-agents-md'], { env: { GRIT_HOME: join(parent, 'init') } }).actor;
      assert.equal(viaInit.data_dir, join(parent, 'init'));
    }
    assert.notEqual(gritOk(repo, ['actor', 'current']).actor.data_dir.indexOf('.git/grit/actors/'), -1, 'the default stays the repository\'s');
  } finally {
    await daemon.stop();
  }
});

test('an empty --actor, --data-dir or GRIT_HOME is refused (invalid_args, exit 2), on the fast path and oclif\'s, locally and through the daemon: never the default actor', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['actor', 'init', '--label', 'bot']);
  const home = join(tempDir(), 'agent');
  await gritSetup(repo, ['actor', 'init', '--data-dir', home]);
  const daemon = await startDaemon();
  try {
    // [flags, env, message, details.field]: `--actor "$AGENT_ID"` with the variable unset, and its kin.
    const cases: [string[], NodeJS.ProcessEnv, string, string | undefined][] = [
      [['--actor', ''], {}, '--actor must not be empty', 'actor'],
      [['--actor='], {}, '--actor must not be empty', 'actor'],
      [['--actor', ' '], {}, '--actor must not be empty', 'actor'],
      // The data dir outranks --actor, yet an empty one beside it is as much a slip.
      [['--actor', '', '--data-dir', home], {}, '--actor must not be empty', 'actor'],
      [['--data-dir', ''], {}, '--data-dir must not be empty', 'data_dir'],
      [['--data-dir='], {}, '--data-dir must not be empty', 'data_dir'],
      [[], { GRIT_HOME: '' }, 'GRIT_HOME is set but empty', undefined],
      [['--actor', 'bot'], { GRIT_HOME: ' ' }, 'GRIT_HOME is set but empty', undefined],
    ];
    const refused = (how: string, line: string[], [flags, extra, message, field]: (typeof cases)[number], env: NodeJS.ProcessEnv, end: string[] = []) => {
      const what = `${line.join(' ')} ${JSON.stringify(flags)} ${JSON.stringify(extra)} (${how})`;
      const r = grit(repo, [...line, ...flags, '--json', ...end], { env: { ...env, ...extra } });
      assert.equal(r.code, 2, `${what}: ${r.stdout}${r.stderr}`);
      assert.deepEqual([r.json.error.code, r.json.error.message, r.json.error.details.field], ['invalid_args', message, field], what);
    };
    const create = ['issue', 'create', '--title', 'as bot?'];
    for (const c of cases) refused('local', create, c, {});
    // A trailing `--` is a line the fast path leaves to oclif.
    for (const c of [cases[0], cases[4], cases[6]]) refused('oclif', create, c, {}, ['--']);
    for (const [how, env] of [['local', {}], ['daemon', daemon.env]] as const) {
      // A read as well as a write; through the daemon an empty actor_id reaches it (a data dir is read before it is asked).
      const line = how === 'local' ? ['actor', 'current'] : create;
      for (const c of [cases[0], cases[3], cases[4]]) refused(how, line, c, env);
      // doctor reports an actor it cannot select as a finding; an empty selector is refused as by any command.
      for (const c of [cases[0], cases[6]]) refused(how, ['doctor'], c, env);
      const unknown = grit(repo, ['doctor', '--actor', 'nosuch', '--json'], { env });
      assert.equal(unknown.code, 1, `${how}: ${unknown.stdout}`);
      assert.match(unknown.json.data.checks.find((c: { id: string }) => c.id === 'actor_config').message, /^no actor nosuch in this repository/, how);
      const human = grit(repo, ['issue', 'close', 'abcd', '--actor', ''], { env });
      assert.deepEqual([human.code, human.stdout], [2, ''], how);
      assert.equal(human.stderr, "error: --actor must not be empty\nhint: give --actor an actor's id or label (`grit actor list`), or leave it out to act as the default actor\n", how);
    }
    assert.equal(gritOk(repo, ['issue', 'list']).total, 0, 'nothing was written');
  } finally {
    await daemon.stop();
  }
});

test('a text that begins one actor\'s id and is another\'s label selects neither: invalid_args naming both; actor init refuses such a label; a full id still selects', async () => {
  const repo = tempRepo();
  const def = (await gritInit(repo)).actor.actor_id;
  const prefix = def.slice(0, 4);
  // The label is refused while an id begins with it, in any case, and nothing is made.
  for (const label of [prefix, prefix.toUpperCase(), def.slice(0, 9)]) {
    const r = grit(repo, ['actor', 'init', '--label', label, '--json']);
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.json.error.code, 'invalid_args');
    assert.equal(r.json.error.message, `the label ${label} would also be read as the start of an actor id (${def}): \`--actor ${label}\` could not tell them apart`);
    assert.deepEqual([r.json.error.details.field, r.json.error.details.candidates], ['label', [def]]);
  }
  assert.equal((await gritSetup(repo, ['actor', 'list'])).actors.length, 1, 'no actor was made');
  // A label an id comes to begin with later (an actor from a clone, or made by an older grit).
  const other = (await gritSetup(repo, ['actor', 'init', '--label', 'bot'])).actor.actor_id;
  const config = join(repo, '.git/grit/actors', other, 'config.toml');
  writeFileSync(config, readFileSync(config, 'utf8').replace('label = "bot"', `label = "${prefix}"`));
  for (const line of [['actor', 'show', prefix], ['issue', 'create', '--title', 'as whom?', '--actor', prefix], ['issue', 'list', '--actor', prefix, '--no-daemon']]) {
    const r = grit(repo, [...line, '--json']);
    assert.equal(r.code, 2, `${line.join(' ')}: ${r.stdout}`);
    assert.equal(r.json.error.message, `actor ${prefix} is ambiguous: it begins the id of ${def} and is the label of ${other}`, line.join(' '));
    assert.deepEqual(r.json.error.details.candidates, [def, other].sort());
    assert.equal(r.json.error.details.suggestion, 'name the actor by its full id (`grit actor list`)');
  }
  assert.equal((await gritSetup(repo, ['issue', 'list'])).total, 0, 'nothing was written');
  // The full id names its actor, and a longer prefix that is no label is an id prefix as before.
  assert.equal(gritOk(repo, ['actor', 'show', def]).actor.actor_id, def);
  assert.equal(gritOk(repo, ['actor', 'show', def.slice(0, 8)]).actor.actor_id, def);
  // The labelled actor answers to its id; an existing label is still answered with its actor.
  assert.equal(gritOk(repo, ['actor', 'show', other]).actor.label, prefix);
  assert.deepEqual(gritOk(repo, ['actor', 'init', '--label', prefix]).actor.actor_id, other);
});

test('a leading ~/ in --data-dir=~/x or a quoted GRIT_HOME is the home directory (as git reads paths), never a `~` directory in the repository; ~name is refused', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const home = tempDir();
  const daemon = await startDaemon();
  try {
    const made = gritOk(repo, ['actor', 'init', '--data-dir=~/agent-7', '--label', 'agent'], { env: { HOME: home } });
    assert.equal(made.actor.data_dir, join(home, 'agent-7'));
    for (const env of [{ HOME: home }, { ...daemon.env, HOME: home }]) {
      const created = gritOk(repo, ['issue', 'create', '--title', 'as agent'], { env: { ...env, GRIT_HOME: '~/agent-7' } });
      assert.equal(gritOk(repo, ['issue', 'show', created.issue_id]).events[0].actor, made.actor.actor_id);
      assert.equal(gritOk(repo, ['actor', 'current', '--data-dir=~/agent-7'], { env }).actor.actor_id, made.actor.actor_id);
      for (const r of [grit(repo, ['issue', 'list', '--json', '--data-dir=~nobody/x'], { env }), grit(repo, ['issue', 'list', '--json'], { env: { ...env, GRIT_HOME: '~nobody/x' } })]) {
        assert.equal(r.code, 2, r.stdout);
        assert.equal(r.json.error.code, 'invalid_args');
        assert.match(r.json.error.message, /~nobody\/x: grit expands a leading ~\/ \(your home directory\) only, not ~name$/);
        assert.match(r.json.error.details.suggestion, /write the path out in full/);
      }
    }
    assert.equal(existsSync(join(repo, '~')), false, 'no `~` directory in the repository');
  } finally {
    await daemon.stop();
  }
});

test('a linked worktree shares the main repository state', async () => {
  const repo = tempRepo();
  git(repo, 'commit', '-q', '--allow-empty', '-m', 'root');
  await gritInit(repo);
  const a = await gritSetup(repo, ['issue', 'create', '--title', 'from main']);
  const wt = join(tempDir(), 'wt');
  git(repo, 'worktree', 'add', '-q', wt);
  assert.equal(gritOk(wt, ['issue', 'show', a.issue_id]).issue.title, 'from main');
  const b = gritOk(wt, ['issue', 'create', '--title', 'from worktree']);
  assert.equal(gritOk(repo, ['issue', 'show', b.issue_id]).issue.title, 'from worktree');
  assert.equal(gritOk(wt, ['actor', 'current']).actor.actor_id, gritOk(repo, ['actor', 'current']).actor.actor_id);
});

test('a default actor whose directory or config.toml is gone: missing config (exit 5) saying which, not silently replaced; init makes a new default', async (t) => {
  const repo = tempRepo();
  const first = (await gritInit(repo)).actor.actor_id;
  await gritSetup(repo, ['issue', 'create', '--title', 'by the first actor']);
  const dir = join(repo, '.git', 'grit', 'actors', first);
  const aside = join(tempDir(), 'actor');
  cpSync(dir, aside, { recursive: true });
  const daemon = await startDaemon();
  t.after(() => daemon.stop());
  for (const [gone, message] of [
    [join(dir, 'config.toml'), new RegExp(`default actor ${first} .* has no ${dir}/config\\.toml$`)],
    [dir, new RegExp(`default actor ${first} .* has no directory in `)],
  ] as const) {
    rmSync(gone, { recursive: true });
    const r = grit(repo, ['issue', 'list', '--json']);
    assert.equal(r.code, 5, r.stdout);
    assert.equal(r.json.error.code, 'io_error');
    assert.match(r.json.error.message, message);
    assert.equal(r.json.error.details.path, gone);
    assert.match(r.json.error.details.suggestion, /from a backup, pick an actor with `grit actor use <id>`.*grit init/);
    // Exit 1: an error, as every command fails. Through a daemon too, whose route to the actor fails.
    for (const env of [{}, daemon.env]) {
      const check = gritDoctor(repo, [], { env }).checks.find((c: any) => c.id === 'actor_config');
      assert.equal(check.status, 'error');
      assert.match(check.message, message);
    }
  }
  assert.match(readFileSync(join(repo, '.git', 'grit', 'config.toml'), 'utf8'), new RegExp(`default_actor = "${first}"`), 'the config is left alone');
  cpSync(aside, dir, { recursive: true });
  assert.equal(gritOk(repo, ['issue', 'list']).total, 1, 'restored, the actor works again');
  rmSync(dir, { recursive: true });
  const second = gritOk(repo, ['init', '--no-agents-md']).actor.actor_id;
  assert.notEqual(second, first);
  assert.equal(gritOk(repo, ['issue', 'list']).total, 1, 'the WAL is all there');
});

test('a repo config emptied, deleted or without its default_actor while actors are there: every command but init refuses (exit 5) naming them, locally and through the daemon; no new default is made', async (t) => {
  const repo = tempRepo();
  const first = (await gritInit(repo, { generate_key: true })).actor.actor_id;
  await gritSetup(repo, ['issue', 'create', '--title', 'by the first actor']);
  const bot = (await gritSetup(repo, ['actor', 'init', '--label', 'bot'])).actor.actor_id;
  const cfg = join(repo, '.git', 'grit', 'config.toml');
  const actors = join(repo, '.git', 'grit', 'actors');
  const full = readFileSync(cfg, 'utf8');
  const head = git(repo, 'rev-parse', 'refs/grit/wal').trim();
  const daemon = await startDaemon();
  t.after(() => daemon.stop());
  const named = [first, bot].sort().map((id) => (id === bot ? `${id} \\(bot\\)` : id)).join(', ');
  for (const [lose, what] of [
    [() => writeFileSync(cfg, ''), 'names no default_actor'],
    [() => rmSync(cfg), 'is missing'],
    [() => writeFileSync(cfg, full.replace(/^default_actor = .*\n/m, '')), 'names no default_actor'],
  ] as const) {
    lose();
    for (const env of [{}, daemon.env]) {
      for (const args of [['issue', 'create', '--title', 'after'], ['issue', 'list'], ['actor', 'current']]) {
        const r = grit(repo, [...args, '--json'], { env });
        assert.equal(r.code, 5, r.stdout + r.stderr);
        assert.equal(r.json.error.code, 'io_error');
        assert.match(r.json.error.message, new RegExp(`^${cfg} ${what}, and ${actors} holds 2 actors: ${named}$`));
        assert.deepEqual(r.json.error.details.actors, [first, bot].sort());
        assert.match(r.json.error.details.suggestion, /^make yours the default with `grit actor use <id>`.*or run `grit init` to make a new default actor$/);
      }
      const check = gritDoctor(repo, [], { env }).checks.find((c: any) => c.id === 'actor_config');
      assert.equal(check.status, 'error');
      assert.match(check.plan, /grit actor use <id>/);
    }
    assert.deepEqual(readdirSync(actors).sort(), [first, bot].sort(), 'no actor made');
    writeFileSync(cfg, full);
  }
  assert.equal(git(repo, 'rev-parse', 'refs/grit/wal').trim(), head, 'nothing written');
  // A new actor made then does not become the default in their place; `actor use` names one.
  rmSync(cfg);
  const made = gritOk(repo, ['actor', 'init', '--label', 'late']);
  assert.equal(made.actor.is_default, false);
  assert.equal(grit(repo, ['issue', 'list', '--json']).code, 5);
  gritOk(repo, ['actor', 'use', first]);
  assert.equal(gritOk(repo, ['actor', 'current']).actor.actor_id, first);
  assert.equal(gritOk(repo, ['issue', 'list']).total, 1);
  // `grit init`, asked to set the repository up, still makes a new default.
  rmSync(cfg);
  const fresh = gritOk(repo, ['init', '--no-agents-md']).actor.actor_id;
  assert.ok(![first, bot, made.actor.actor_id].includes(fresh));
  assert.equal(gritOk(repo, ['actor', 'current']).actor.actor_id, fresh);
});

const titles = (repo: string, env: NodeJS.ProcessEnv): string[] => gritOk(repo, ['issue', 'list'], { env }).issues.map((i: any) => i.title).sort();
/** A new data dir holding a new actor, made in `repo` (a data dir must hold an actor). */
const newHome = (repo: string, env: NodeJS.ProcessEnv = {}): string => {
  const dir = join(tempDir(), 'home');
  gritOk(repo, ['actor', 'init', '--data-dir', dir], { env });
  return dir;
};
/** The titles in the repository's WAL, as a store built afresh from it (a new data dir) sees them. */
const walTitles = (repo: string): string[] => titles(repo, { GRIT_HOME: newHome(repo) });

test('a data dir serves one repository: in another it is refused (exit 5, naming both), locally and through the daemon, and no event crosses', async (t) => {
  const daemon = await startDaemon();
  t.after(() => daemon.stop());
  for (const [how, env] of [['local', {}], ['daemon', daemon.env]] as const) {
    const g1 = tempRepo();
    const g2 = tempRepo();
    gritOk(g1, ['issue', 'create', '--title', 'in g1'], { env });
    gritOk(g2, ['issue', 'create', '--title', 'g2 own'], { env });
    // g1's own actor, named as a data dir in g2 (QA: GRIT_HOME set once, two clones).
    const h = join(g1, '.git', 'grit', 'actors', gritOk(g1, ['actor', 'current']).actor.actor_id);
    const g2Wal = git(g2, 'rev-parse', 'refs/grit/wal').trim();
    for (const args of [['issue', 'create', '--title', 'written in g2'], ['issue', 'list']]) {
      const r = grit(g2, [...args, '--json'], { env: { ...env, GRIT_HOME: h } });
      assert.equal(r.code, 5, `${how}: ${r.stdout}`);
      assert.equal(r.json.error.code, 'io_error');
      assert.match(r.json.error.message, /serves the repository at .*, not this one .*: a data dir \(--data-dir, GRIT_HOME\) serves one repository/);
      assert.equal(r.json.error.details.store_repository, realpathSync(join(g1, '.git')), how);
      assert.equal(r.json.error.details.repository, realpathSync(join(g2, '.git')), how);
      assert.match(r.json.error.details.suggestion, /`grit rebuild` here moves the data dir to this repository/);
    }
    // A plain command in g1 after the daemon was asked to serve g1's actor for g2 goes to g1.
    gritOk(g1, ['issue', 'create', '--title', 'plain g1 command'], { env });
    assert.equal(git(g2, 'rev-parse', 'refs/grit/wal').trim(), g2Wal, `${how}: g2's WAL did not move`);
    assert.deepEqual(walTitles(g1), ['in g1', 'plain g1 command'], how);
    assert.deepEqual(walTitles(g2), ['g2 own'], how);
    assert.deepEqual(titles(g1, env), ['in g1', 'plain g1 command'], how);

    // Two projects and one external GRIT_HOME, the lost-events repair's case (QA 1c): the second is refused, nothing copied.
    const [p1, p2] = [tempRepo(), tempRepo()];
    const home = { ...env, GRIT_HOME: newHome(p1, env) };
    gritOk(p1, ['issue', 'create', '--title', 'p1 secret roadmap'], { env: home });
    const refused = grit(p2, ['issue', 'create', '--title', 'p2 issue', '--json'], { env: home });
    assert.equal(refused.code, 5, how);
    const again = grit(p1, ['issue', 'create', '--title', 'p1 second', '--json'], { env: home });
    assert.equal(again.code, 0, again.stdout);
    assert.doesNotMatch(again.stderr, /went back into the WAL/, how);
    assert.equal(grit(p2, ['issue', 'list', '--json'], { env: home }).code, 5, how);
    assert.deepEqual(walTitles(p2), [], how);
    assert.deepEqual(walTitles(p1), ['p1 second', 'p1 secret roadmap'], how);
  }
  // One worker per data dir, bound to the repository it serves.
  const workers = gritOk(tempRepo(), ['daemon', 'status'], { env: daemon.env }).workers;
  assert.equal(new Set(workers.map((w: any) => w.data_dir)).size, workers.length);
});

test('a warm daemon worker whose repository is replaced at its path (made anew, or another moved there) judges its data dir\'s store as a run without the daemon does: rebuilt, never repaired into the new WAL', async (t) => {
  const daemon = await startDaemon();
  t.after(() => daemon.stop());
  const base = tempDir();
  const p = join(base, 'p');
  for (const replace of ['made anew', 'another moved there'] as const) {
    rmSync(p, { recursive: true, force: true });
    mkdirSync(p);
    git(p, 'init', '-q');
    const home = { ...daemon.env, GRIT_HOME: newHome(p) };
    // One command through the daemon: its worker and its route are warm from here on.
    gritOk(p, ['issue', 'create', '--title', 'old secret'], { env: home });
    let kept = ['new project'];
    if (replace === 'made anew') {
      rmSync(p, { recursive: true });
      mkdirSync(p);
      git(p, 'init', '-q');
      gritOk(p, ['issue', 'create', '--title', 'new project'], { env: { GRIT_NO_DAEMON: '1' } });
    } else {
      const q = tempRepo();
      gritOk(q, ['issue', 'create', '--title', 'q issue'], { env: { GRIT_NO_DAEMON: '1' } });
      renameSync(p, join(base, `p-old`));
      renameSync(q, p);
      kept = ['q issue'];
    }
    const r = grit(p, ['issue', 'list', '--json'], { env: home });
    assert.equal(r.code, 0, `${replace}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /which is no longer there \(deleted or made anew\); it is a cache, so it is rebuilt from this repository's WAL/, replace);
    assert.doesNotMatch(r.stderr, /went back into the WAL|started a new WAL/, replace);
    assert.deepEqual(r.json.data.issues.map((i: any) => i.title), kept, replace);
    assert.deepEqual(walTitles(p), kept, `${replace}: the old repository's event is in no WAL here`);
    rmSync(join(base, 'p-old'), { recursive: true, force: true });
  }
});

test('a data dir follows its repository when it moves, goes to another by itself when its own is gone (deleted), and by `grit rebuild` when it is not', () => {
  const base = tempDir();
  const p1 = join(base, 'p1');
  mkdirSync(p1);
  git(p1, 'init', '-q');
  const home = { GRIT_HOME: newHome(p1) };
  gritOk(p1, ['issue', 'create', '--title', 'p1 issue'], { env: home });
  // Moved (the same grit/repository-id, gone from its old path): the same repository, no rebuild.
  const built = gritOk(p1, ['db', 'stats'], { env: home }).last_rebuild_ts;
  const moved = join(base, 'moved');
  renameSync(p1, moved);
  const afterMove = grit(moved, ['issue', 'list', '--json'], { env: home });
  assert.equal(afterMove.code, 0, afterMove.stdout);
  assert.equal(afterMove.stderr, '');
  assert.deepEqual(afterMove.json.data.issues.map((i: any) => i.title), ['p1 issue']);
  assert.equal(gritOk(moved, ['db', 'stats'], { env: home }).last_rebuild_ts, built);
  // Deleted, and a repository made anew at its path: a store of the old one, never repaired into the new WAL.
  rmSync(moved, { recursive: true });
  mkdirSync(moved);
  git(moved, 'init', '-q');
  const fresh = grit(moved, ['issue', 'create', '--title', 'new project', '--json'], { env: home });
  assert.equal(fresh.code, 0, fresh.stdout);
  assert.match(fresh.stderr, /which is no longer there/);
  assert.doesNotMatch(fresh.stderr, /went back into the WAL/);
  assert.deepEqual(walTitles(moved), ['new project']);
  assert.deepEqual(titles(moved, home), ['new project']);
  // Still there: refused elsewhere until `grit rebuild` moves the data dir, and then the first is refused.
  const other = tempRepo();
  assert.equal(grit(other, ['issue', 'list', '--json'], { env: home }).code, 5);
  const taken = grit(other, ['rebuild', '--json'], { env: home });
  assert.equal(taken.code, 0, taken.stdout);
  assert.match(taken.stderr, /`grit rebuild` moved it to this repository/);
  gritOk(other, ['issue', 'create', '--title', 'other issue'], { env: home });
  assert.deepEqual(titles(other, home), ['other issue']);
  const back = grit(moved, ['issue', 'list', '--json'], { env: home });
  assert.equal(back.code, 5);
  assert.equal(back.json.error.details.store_repository, realpathSync(join(other, '.git')));
  // A doctor there says so, as an error a person settles (no fix takes the data dir over).
  const check = gritDoctor(moved, ['--fix'], { env: home }).checks.find((c: any) => c.id === 'store_integrity');
  assert.equal(check.status, 'error');
  assert.match(check.message, /serves the repository at/);
  assert.equal(grit(moved, ['issue', 'list', '--json'], { env: home }).code, 5, 'doctor --fix left it');
});

test("a repository copied with its actors: the copy's store is its own, rebuilt once from the copy's WAL", async () => {
  const repo = tempRepo();
  await gritSetup(repo, ['issue', 'create', '--title', 'before the copy']);
  const copy = join(tempDir(), 'copy');
  cpSync(repo, copy, { recursive: true });
  await gritSetup(repo, ['issue', 'create', '--title', 'only in the original']);
  const r = grit(copy, ['issue', 'create', '--title', 'only in the copy', '--json']);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stderr, new RegExp(`was built in the repository at ${realpathSync(join(repo, '.git'))}, which this one \\(${realpathSync(join(copy, '.git'))}\\) is a copy of \\(the same grit/repository-id, and that repository is still there\\); it is a cache, so it is rebuilt from this repository's WAL`));
  assert.deepEqual(titles(copy, {}), ['before the copy', 'only in the copy']);
  assert.deepEqual(titles(repo, {}), ['before the copy', 'only in the original']);
  assert.equal(grit(repo, ['issue', 'list', '--json']).stderr, '', 'the original goes on untouched');
});

test('a repository moved, and moved back: its actor\'s store keeps its contents and records the new path (no rebuild, no warning), and doctor agrees', async () => {
  const base = tempDir();
  const here = join(base, 'here');
  const there = join(base, 'there');
  mkdirSync(here);
  git(here, 'init', '-q');
  await gritSetup(here, ['issue', 'create', '--title', 'before the moves']);
  const built = (await gritSetup(here, ['db', 'stats'])).last_rebuild_ts;
  for (const [from, to] of [[here, there], [there, here], [here, there]]) {
    renameSync(from, to);
    assert.equal(gritDoctor(to).checks.find((c: any) => c.id === 'store_integrity').status, 'ok');
    const r = grit(to, ['issue', 'create', '--title', `in ${to}`, '--json']);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stderr, '', `moved to ${to}`);
    assert.equal((await gritSetup(to, ['db', 'stats'])).last_rebuild_ts, built, 'no rebuild');
  }
  assert.deepEqual(titles(there, {}), ['before the moves', `in ${here}`, `in ${there}`, `in ${there}`]);
  // Its repository-id deleted (or the repository made anew at the path): another repository, and the warning says which.
  rmSync(join(there, '.git', 'grit', 'repository-id'));
  const anew = grit(there, ['issue', 'list', '--json']);
  assert.match(anew.stderr, /was built in an earlier repository at this path \(.*\), whose grit\/repository-id was [0-9a-f]{32} \(this one's is [0-9a-f]{32}\): the repository was made anew, or that file deleted; it is a cache, so it is rebuilt/);
  assert.equal(anew.json.data.total, 4);
});

test('a store that records no repository (an older grit made it), off this WAL: rebuilt from it, never repaired into it', async () => {
  const [p1, p2] = [tempRepo(), tempRepo()];
  const home = newHome(p1);
  gritOk(p1, ['issue', 'create', '--title', 'p1 secret roadmap'], { env: { GRIT_HOME: home } });
  await gritSetup(p2, ['issue', 'create', '--title', 'p2 own']);
  // As an older grit left it: its meta without the repository.
  const env = open({ path: join(home, 'store.mdb'), maxDbs: 16, compression: false });
  const meta = env.openDB<any, string>({ name: 'meta' });
  const { repo: _, ...state } = meta.get('state');
  await meta.put('state', state);
  await env.close();
  const r = grit(p2, ['issue', 'list', '--json'], { env: { GRIT_HOME: home } });
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stderr, /records no repository \(an older grit made it\); it is a cache, so it is rebuilt from this WAL/);
  assert.doesNotMatch(r.stderr, /went back into the WAL/);
  assert.deepEqual(r.json.data.issues.map((i: any) => i.title), ['p2 own']);
  assert.deepEqual(walTitles(p2), ['p2 own']);
  // Rebuilt here, it is this repository's from now on.
  assert.equal(grit(p1, ['issue', 'list', '--json'], { env: { GRIT_HOME: home } }).code, 5);
});

test('init and actor init stopped at each step (kill -9) leave nothing of the actor, or one the retry finishes: exactly one actor, the default, with the key it was given', () => {
  const stops: [string, string[]][] = [
    ['actor:staged', ['init', '--generate-key', '--no-agents-md']],
    ['actor:placed', ['init', '--generate-key', '--no-agents-md']],
    ['actor:placed', ['actor', 'init', '--label', 'agent-7', '--generate-key']],
    ['actor:placed', ['issue', 'create', '--title', 'the first command makes the default']],
  ];
  for (const [point, args] of stops) {
    const what = `${args.join(' ')} stopped at ${point}`;
    const repo = tempRepo();
    const gritDir = join(repo, '.git', 'grit');
    const killed = grit(repo, [...args, '--json'], { env: { GRIT_FAULT: point } });
    assert.equal(killed.code, -1, `${what}: ${killed.stdout}${killed.stderr}`);
    assert.ok(!existsSync(join(gritDir, 'config.toml')), `${what}: the repo config names nothing yet`);
    const left = existsSync(join(gritDir, 'actors')) ? readdirSync(join(gritDir, 'actors')) : [];
    const staged = readdirSync(gritDir).filter((n) => /^actor-[0-9a-f]{32}\.\d+\.tmp$/.test(n));
    let key: string | null = null;
    if (point === 'actor:staged') {
      assert.deepEqual([left, staged.length], [[], 1], what);
      // Its writer gone and quiet for a minute, the staging directory is a temporary file doctor deletes.
      const old = new Date(Date.now() - 120_000);
      utimesSync(join(gritDir, staged[0]), old, old);
      const temp = gritDoctor(repo).checks.find((c: any) => c.id === 'temp_files');
      assert.equal(temp.status, 'warn', what);
      assert.ok(temp.message.includes(join(gritDir, staged[0])), temp.message);
      assert.deepEqual(gritDoctor(repo, ['--fix']).applied, ['deleted 1 temporary file left by killed writers']);
      assert.deepEqual(readdirSync(gritDir).filter((n) => n.endsWith('.tmp')), [], what);
    } else {
      assert.deepEqual([left.length, staged.length], [1, 0], what);
      assert.ok(existsSync(join(gritDir, 'actors', left[0], 'default.pending')), what);
      if (args.includes('--generate-key')) key = readFileSync(join(gritDir, 'actors', left[0], 'keys', 'signing.key'), 'utf8');
      const dirs = gritDoctor(repo).checks.find((c: any) => c.id === 'actor_dirs');
      assert.equal(dirs.status, 'warn', what);
      assert.match(dirs.message, new RegExp(`actor ${left[0]} was made to be the default by a command stopped before the repo config named it`));
      assert.equal(dirs.plan, '`grit init` finishes it (names it the default)');
    }
    gritOk(repo, args);
    const actors = gritOk(repo, ['actor', 'list']).actors;
    assert.equal(actors.length, 1, `${what}: ${JSON.stringify(actors)}`);
    assert.equal(actors[0].is_default, true, what);
    assert.equal(Boolean(actors[0].public_key), args.includes('--generate-key'), what);
    if (point === 'actor:placed') {
      assert.equal(actors[0].actor_id, left[0], `${what}: the retry made another actor`);
      assert.ok(!existsSync(join(gritDir, 'actors', left[0], 'default.pending')), what);
    }
    if (key !== null) assert.equal(readFileSync(join(gritDir, 'actors', left[0], 'keys', 'signing.key'), 'utf8'), key, `${what}: the key was replaced`);
    assert.equal(gritDoctor(repo).checks.find((c: any) => c.id === 'actor_dirs').status, 'ok', what);
  }
});

test('--generate-key on an actor whose key its config does not name yet (a command stopped in between) keeps that key and names it', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const home = join(tempDir(), 'home');
  const made = (await gritSetup(repo, ['actor', 'init', '--data-dir', home, '--generate-key'])).actor;
  const key = readFileSync(join(home, 'keys', 'signing.key'), 'utf8');
  writeFileSync(join(home, 'config.toml'), `actor_id = "${made.actor_id}"\nlabel = ""\ncreated_ts = ${made.created_ts}\n`);
  const signed = await gritSetup(repo, ['issue', 'create', '--title', 'signed with the key before it was named', '--data-dir', home]);
  const r = grit(repo, ['actor', 'init', '--data-dir', home, '--generate-key', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.json.data.actor.public_key, made.public_key);
  assert.doesNotMatch(r.stderr, /had no key until now/);
  assert.equal(readFileSync(join(home, 'keys', 'signing.key'), 'utf8'), key, 'the key was replaced');
  const verify = await gritSetup(repo, ['db', 'verify', '--data-dir', home]);
  assert.equal(verify.error_count, 0, JSON.stringify(verify.errors));
  assert.ok(verify.signatures_valid >= 1, `the event ${signed.event_id} verifies with the key named now`);
});

test("issue show through a daemon names an author by its label as its config says now: an edit of another actor's config shows at once", async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const bot = gritOk(repo, ['actor', 'init', '--label', 'bot-a']).actor;
  const made = gritOk(repo, ['issue', 'create', '--title', 'labelled', '--actor', 'bot-a']);
  const daemon = await startDaemon();
  try {
    const env = daemon.env;
    const labelOf = () => gritOk(repo, ['issue', 'show', made.issue_id], { env }).actor_labels[bot.actor_id];
    assert.equal(labelOf(), 'bot-a');
    const config = join(repo, '.git/grit/actors', bot.actor_id, 'config.toml');
    const original = readFileSync(config, 'utf8');
    // Edited in place, to a label of the same length, its modification time put back to the nanosecond: only its ctime moves.
    const { mtimeNs } = statSync(config, { bigint: true });
    writeFileSync(config, original.replace('bot-a', 'bot-b'));
    execFileSync('touch', ['-m', '-d', `@${mtimeNs / 1_000_000_000n}.${String(mtimeNs % 1_000_000_000n).padStart(9, '0')}`, config]);
    assert.equal(statSync(config, { bigint: true }).mtimeNs, mtimeNs);
    assert.equal(labelOf(), 'bot-b');
    // Replaced by a rename (as editors and grit write), a longer label; then no label at all.
    writeFileSync(`${config}.new`, original.replace('bot-a', 'agent-42'));
    renameSync(`${config}.new`, config);
    assert.equal(labelOf(), 'agent-42');
    writeFileSync(config, original.replace(/^label = .*\n/m, ''));
    assert.equal(labelOf(), undefined);
    // Its directory a file (no stat reaches the config): the author is shown by id, the show does not fail.
    const dir = join(repo, '.git/grit/actors', bot.actor_id);
    renameSync(dir, `${dir}.aside`);
    writeFileSync(dir, '');
    assert.equal(labelOf(), undefined);
    rmSync(dir);
    renameSync(`${dir}.aside`, dir);
  } finally {
    await daemon.stop();
  }
});
