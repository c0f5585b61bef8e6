import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeChunk } from '../../src/core/chunk.js';
import { makeEvent, type Event } from '../../src/core/event.js';
import { fromHex, toHex } from '../../src/core/hex.js';
import type { EventKind } from '../../src/core/kinds.js';
import { fsckClean, git, grit, gritOk, gritDoctor, importKey, setSignaturePolicy, tempDir, tempRepo, gritInit, gritSetup } from '../helpers/repo.js';
import { startDaemon } from '../helpers/daemon.js';
import { GritClient } from '../../src/protocol/client.js';

function gitIn(cwd: string, args: string[], input: string | Uint8Array): string {
  const r = spawnSync('git', args, { cwd, input });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString().trim();
}

/**
 * Appends a WAL commit holding `events` with git plumbing only (hash-object, mktree,
 * commit-tree, update-ref), exactly in the layout of SPEC §3: what a forger with push access
 * could do without grit.
 */
function appendWithPlumbing(repo: string, events: Event[], actorHex: string): string {
  const head = git(repo, 'rev-parse', 'refs/grit/wal').trim();
  const chunk = encodeChunk(events);
  const hash = toHex(chunk.hash);
  const blob = gitIn(repo, ['hash-object', '-w', '--stdin'], chunk.bytes);
  const meta = gitIn(
    repo,
    ['hash-object', '-w', '--stdin'],
    `${JSON.stringify({ schema_version: 1, actor_id: actorHex, chunk_hash: hash, prev_wal: head })}\n`,
  );
  const d = new Date(events[0].ts_unix_ms);
  const parts = [String(d.getUTCFullYear()), String(d.getUTCMonth() + 1).padStart(2, '0'), String(d.getUTCDate()).padStart(2, '0')];
  let tree = gitIn(repo, ['mktree'], `100644 blob ${blob}\t${hash}.bin\n`);
  for (const p of parts.reverse()) tree = gitIn(repo, ['mktree'], `040000 tree ${tree}\t${p}\n`);
  const root = gitIn(repo, ['mktree'], `040000 tree ${tree}\tevents\n100644 blob ${meta}\tmeta.json\n`);
  const commit = git(repo, 'commit-tree', root, '-p', head, '-m', `grit: ${events.length} events`).trim();
  git(repo, 'update-ref', 'refs/grit/wal', commit, head);
  return commit;
}

/** A keyed writer (the default actor), an issue it created, and two forgeries claiming to be it. */
async function forgeryScene() {
  const repo = tempRepo();
  const writer = (await gritInit(repo, { generate_key: true })).actor;
  const reader = (await gritSetup(repo, ['actor', 'init', '--label', 'reader'])).actor;
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'original', '--body', 'real'])).issue_id;
  const created = (await gritSetup(repo, ['issue', 'show', id])).events[0];
  assert.match(created.sig, /^[0-9a-f]{128}$/);
  const base = { issue_id: fromHex(id, 16)!, actor: fromHex(writer.actor_id, 16)!, parent: fromHex(created.event_id, 32)! };
  const forge = (kind: EventKind, ts: number) => makeEvent({ ...base, ts_unix_ms: ts, kind });
  // 1: a signature copied from the real event (valid bytes, wrong message); 2: no signature at all.
  const badSig = { ...forge({ type: 'IssueUpdated', title: 'forged', body: null }, created.ts_unix_ms + 10), sig: fromHex(created.sig, 64)! };
  const unsigned = forge({ type: 'CommentAdded', body: 'forged comment' }, created.ts_unix_ms + 11);
  return { repo, writer, reader, id, created, badSig, unsigned };
}

test('init --generate-key gives the default actor a key once; its events are signed and verify', async () => {
  const repo = tempRepo();
  const a = gritOk(repo, ['init', '--no-agents-md']).actor;
  assert.equal(a.public_key, undefined);
  const keyed = gritOk(repo, ['init', '--no-agents-md', '--generate-key']).actor;
  assert.equal(keyed.actor_id, a.actor_id);
  assert.match(keyed.public_key, /^[0-9a-f]{64}$/);
  assert.equal(keyed.key_scheme, 'ed25519');
  const keyFile = join(keyed.data_dir, 'keys', 'signing.key');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  // Again: the same key is kept.
  assert.equal(gritOk(repo, ['init', '--no-agents-md', '--generate-key']).actor.public_key, keyed.public_key);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'signed'])).issue_id;
  assert.match(grit(repo, ['db', 'verify']).stdout, /^1 event in the WAL: 1 signature checked, 1 valid, /);
  await gritSetup(repo, ['issue', 'comment', id, '--body', 'also signed']);
  const v = gritOk(repo, ['db', 'verify']);
  assert.deepEqual(
    [v.events_checked, v.signatures_checked, v.signatures_valid, v.error_count, v.errors, v.unverified],
    [2, 2, 2, 0, [], 0],
  );
});

test('policy reject: forged events (bad signature, missing signature) are refused and reported', async () => {
  const s = await forgeryScene();
  setSignaturePolicy(s.repo, 'reject');
  appendWithPlumbing(s.repo, [s.badSig, s.unsigned], s.writer.actor_id);
  fsckClean(s.repo);

  const r = grit(s.repo, ['issue', 'show', s.id, '--json', '--actor', s.reader.actor_id]);
  assert.equal(r.code, 0, r.stdout);
  assert.equal(r.json.data.issue.title, 'original');
  assert.equal(r.json.data.issue.comment_count, 0);
  assert.equal(r.json.data.events.length, 1);
  assert.match(r.stderr, /refused 2 events with a bad or missing signature/);
  // The writer's own store refuses them too; nothing is reported twice.
  const w = grit(s.repo, ['issue', 'show', s.id, '--json']);
  assert.equal(w.json.data.issue.title, 'original');
  assert.match(w.stderr, /refused 2 events/);
  assert.doesNotMatch(grit(s.repo, ['issue', 'list', '--json']).stderr, /refused/);

  const v = gritOk(s.repo, ['db', 'verify', '--actor', s.reader.actor_id]);
  assert.deepEqual([v.events_checked, v.signatures_checked, v.signatures_valid, v.error_count], [3, 2, 1, 2]);
  assert.deepEqual(v.errors.map((e: any) => [e.problem, e.event_id]).sort(), [
    ['invalid', toHex(s.badSig.event_id)],
    ['missing', toHex(s.unsigned.event_id)],
  ].sort());
  assert.equal(v.policy, 'reject');

  // Refused by the policy chosen, and for good (the WAL is append-only): a warning, so doctor passes (docs/signing.md, "Doctor's verdict").
  const doc = gritDoctor(s.repo, ['--actor', s.reader.actor_id]);
  const sig = doc.checks.find((c: any) => c.id === 'signatures');
  assert.equal(sig.status, 'warn');
  assert.match(sig.message, /2 events .* refused by this store/);
  assert.match(sig.plan, /They stay in the WAL \(it is append-only\) and out of your store: nothing to repair/);
  // The store holds only what was admitted, and it is consistent.
  assert.equal(doc.checks.find((c: any) => c.id === 'store_integrity').status, 'ok');

  // A rebuild applies the same policy.
  gritOk(s.repo, ['rebuild', '--actor', s.reader.actor_id]);
  assert.equal((await gritSetup(s.repo, ['issue', 'show', s.id, '--actor', s.reader.actor_id])).issue.title, 'original');
  // So does one from a snapshot (which holds every event), reporting what it refused once.
  gritOk(s.repo, ['snapshot']);
  const fromSnapshot = grit(s.repo, ['rebuild', '--from-snapshot', '--json', '--actor', s.reader.actor_id]);
  assert.equal(fromSnapshot.json.data.from_snapshot, true, fromSnapshot.stdout);
  assert.equal(fromSnapshot.stderr.match(/refused 2 events with a bad or missing signature/g)?.length, 1, fromSnapshot.stderr);
  assert.equal((await gritSetup(s.repo, ['issue', 'show', s.id, '--actor', s.reader.actor_id])).issue.title, 'original');

  // Actors whose key is unknown are not refused: their events are unverifiable, not forged.
  await gritSetup(s.repo, ['issue', 'comment', s.id, '--body', 'from the reader', '--actor', s.reader.actor_id]);
  assert.deepEqual((await gritSetup(s.repo, ['issue', 'show', s.id])).issue.comments.map((c: any) => c.body), ['from the reader']);
  assert.equal(gritOk(s.repo, ['db', 'verify']).unverified, 1);
});

test('policy warn: forged events are kept, and reported by the command, db verify and doctor', async () => {
  const s = await forgeryScene();
  appendWithPlumbing(s.repo, [s.badSig, s.unsigned], s.writer.actor_id);
  const r = grit(s.repo, ['issue', 'show', s.id, '--json', '--actor', s.reader.actor_id]);
  assert.equal(r.json.data.issue.title, 'forged');
  assert.deepEqual(r.json.data.issue.comments.map((c: any) => c.body), ['forged comment']);
  assert.match(r.stderr, /applied 2 events with a bad or missing signature .*signature_policy = warn/);

  const v = gritOk(s.repo, ['db', 'verify']);
  assert.deepEqual([v.signatures_checked, v.signatures_valid, v.error_count, v.policy], [2, 1, 2, 'warn']);
  const doc = gritDoctor(s.repo);
  const sig = doc.checks.find((c: any) => c.id === 'signatures');
  assert.equal(sig.status, 'error');
  assert.match(sig.message, /APPLIED to this store/);
  assert.match(sig.plan, /signature_policy = "reject"/);
  // doctor --fix never "repairs" signatures (the WAL is append-only); it reports them again.
  assert.equal(gritDoctor(s.repo, ['--fix']).checks.find((c: any) => c.id === 'signatures').status, 'error');

  // Switching to reject and rebuilding drops them from the store.
  setSignaturePolicy(s.repo, 'reject');
  gritOk(s.repo, ['rebuild']);
  assert.equal((await gritSetup(s.repo, ['issue', 'show', s.id])).issue.title, 'original');
  // off: nothing is checked, everything applied.
  setSignaturePolicy(s.repo, 'off');
  gritOk(s.repo, ['rebuild']);
  assert.equal((await gritSetup(s.repo, ['issue', 'show', s.id])).issue.title, 'forged');
  assert.equal(gritDoctor(s.repo).checks.find((c: any) => c.id === 'signatures').message, 'not checked: signature_policy = off');
});

test('through the daemon, the signature warnings reach the command that read the events, as in process', async () => {
  const daemon = await startDaemon();
  try {
    const env = daemon.env;
    const s = await forgeryScene();
    gritOk(s.repo, ['issue', 'list', '--actor', s.reader.actor_id], { env }); // the reader's worker is up
    appendWithPlumbing(s.repo, [s.badSig, s.unsigned], s.writer.actor_id);
    const r = grit(s.repo, ['issue', 'show', s.id, '--json', '--actor', s.reader.actor_id], { env });
    assert.equal(r.json.data.issue.title, 'forged');
    assert.match(r.stderr, /^grit: warning: applied 2 events with a bad or missing signature .*signature_policy = warn/m);
    assert.equal(grit(s.repo, ['issue', 'show', s.id, '--json', '--actor', s.reader.actor_id], { env }).stderr, '', 'said once');
    // Library callers opt in; the JSON reply carries them beside `data` either way.
    setSignaturePolicy(s.repo, 'reject');
    const heard: string[] = [];
    const client = await GritClient.connect({ endpoint: daemon.endpoint, onWarning: (w) => heard.push(w) });
    try {
      await client.request('Rebuild', {}, { repoRoot: s.repo, actorId: s.reader.actor_id });
    } finally {
      client.close();
    }
    assert.equal(heard.length, 1, heard.join('\n'));
    assert.match(heard[0], /^refused 2 events with a bad or missing signature .*signature_policy = reject/);
  } finally {
    await daemon.stop();
  }
});

test('sharing a key: a teammate config.toml copied into .git/grit/actors/ makes its events verifiable', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  setSignaturePolicy(repo, 'reject');
  // A teammate whose actor lives outside this repo's actor dirs (another machine, here GRIT_HOME).
  const home = join(tempDir(), 'mate');
  const env = { GRIT_HOME: home };
  const mate = gritOk(repo, ['init', '--no-agents-md', '--generate-key'], { env }).actor;
  const id = gritOk(repo, ['issue', 'create', '--title', 'by mate'], { env }).issue_id;
  let v = gritOk(repo, ['db', 'verify']);
  assert.deepEqual([v.signatures_checked, v.unverified, v.error_count], [0, 1, 0]);

  // Import the public half: config.toml only, never keys/.
  mkdirSync(join(repo, '.git/grit/actors', mate.actor_id), { recursive: true });
  copyFileSync(join(home, 'config.toml'), join(repo, '.git/grit/actors', mate.actor_id, 'config.toml'));
  v = gritOk(repo, ['db', 'verify']);
  assert.deepEqual([v.signatures_checked, v.signatures_valid, v.unverified, v.error_count], [1, 1, 0, 0]);

  // Now an unsigned event claiming to be the teammate is refused.
  const created = gritOk(repo, ['issue', 'show', id]).events[0];
  const fake = makeEvent({
    issue_id: fromHex(id, 16)!,
    actor: fromHex(mate.actor_id, 16)!,
    ts_unix_ms: created.ts_unix_ms + 5,
    parent: null,
    kind: { type: 'StateChanged', state: 'closed' },
  });
  appendWithPlumbing(repo, [fake], mate.actor_id);
  assert.equal(gritOk(repo, ['issue', 'show', id]).issue.state, 'open');
  assert.equal(gritOk(repo, ['db', 'verify']).errors[0].problem, 'missing');
});

/** The repro of QA round 12, finding 2: an actor that wrote an issue before `init --generate-key`. */
async function keyAddedLater() {
  const repo = tempRepo();
  const actor = (await gritInit(repo)).actor.actor_id as string;
  const early = (await gritSetup(repo, ['issue', 'create', '--title', 'written before the key'])).issue_id as string;
  const keyed = grit(repo, ['init', '--no-agents-md', '--generate-key']);
  assert.equal(keyed.code, 0, keyed.stderr);
  assert.match(keyed.stderr, /had no key until now: .*`grit doctor` lists them as a warning \("written before this actor's key was added"\)/);
  return { repo, actor, early };
}

const signatures = (d: any) => d.checks.find((c: any) => c.id === 'signatures');

test('a key added after the first events: doctor warns about the events written before it and passes under warn, reject and --fix; reject still refuses them', async () => {
  const { repo, actor, early } = await keyAddedLater();
  const human = grit(repo, ['doctor'], { env: { NO_COLOR: '1' } });
  assert.equal(human.code, 0, human.stdout);
  assert.match(human.stdout, new RegExp(`^warn\\s+signatures\\s+1 event written before this actor's key was added \\(actor ${actor}\\), applied unsigned; `, 'm'));
  let sig = signatures(gritDoctor(repo));
  assert.equal(sig.status, 'warn');
  // Not called forgeries; the plan says what reject would do to them.
  assert.doesNotMatch(sig.plan, /claim to come from|forg/);
  assert.match(sig.plan, /"reject" here would take them, and what they created or changed, out of your store/);
  const late = (await gritSetup(repo, ['issue', 'create', '--title', 'after the key'])).issue_id;

  // A teammate with the public key only (no key file to date it) dates the key by its first signature in the WAL.
  const mate = tempRepo();
  git(mate, 'fetch', '-q', repo, 'refs/grit/wal:refs/grit/wal');
  await gritInit(mate);
  importKey(mate, repo, actor);
  sig = signatures(gritDoctor(mate));
  assert.equal(sig.status, 'warn');
  assert.match(sig.message, new RegExp(`^1 event written before this actor's key was added \\(actor ${actor}\\), applied unsigned; 1 of 1 signatures valid`));

  // reject refuses them (the policy is unchanged), and doctor says what that hides, without failing.
  setSignaturePolicy(repo, 'reject');
  assert.match(grit(repo, ['rebuild']).stderr, /refused 1 event/);
  assert.deepEqual((await gritSetup(repo, ['issue', 'list'])).issues.map((i: any) => i.issue_id), [late]);
  assert.equal(gritOk(repo, ['db', 'verify']).errors[0].problem, 'missing');
  for (const flags of [[], ['--fix']]) {
    sig = signatures(gritDoctor(repo, flags)); // gritDoctor checks the exit code: 0, no error left
    assert.equal(sig.status, 'warn');
    assert.match(sig.message, new RegExp(`^1 event written before this actor's key was added \\(actor ${actor}\\), refused by signature_policy = reject; 1 of 1 signatures valid`));
    assert.match(sig.plan, /the issues and changes they made are missing here\. To see them, set signature_policy = "warn" .*`grit rebuild`/);
  }
  setSignaturePolicy(repo, 'warn');
  gritOk(repo, ['rebuild']);
  assert.deepEqual((await gritSetup(repo, ['issue', 'list'])).issues.map((i: any) => i.issue_id).sort(), [early, late].sort());
});

test('an unsigned event after the key was added stays an error, and so does one stamped before the key that comes after its first signature; reject refuses both kinds', async () => {
  const { repo, actor, early } = await keyAddedLater();
  const forge = (ts: number, body: string) =>
    makeEvent({ issue_id: fromHex(early, 16)!, actor: fromHex(actor, 16)!, parent: null, ts_unix_ms: ts, kind: { type: 'CommentAdded', body } });
  // Stamped after the key was made, and the actor has signed nothing yet: its key file dates the key.
  appendWithPlumbing(repo, [forge(Date.now() + 1, 'after the key, unsigned')], actor);
  const r = grit(repo, ['doctor', '--json']);
  assert.equal(r.code, 1, r.stdout);
  let sig = signatures(r.json.data);
  assert.equal(sig.status, 'error');
  assert.match(sig.message, new RegExp(`^1 event from known actors with a bad or missing signature, APPLIED to this store \\(signature_policy = warn\\); 1 event written before this actor's key was added \\(actor ${actor}\\), applied unsigned; `));
  assert.match(sig.plan, /run `grit rebuild` \(that also drops the 1 event written before the key\)/);

  // reject refuses both kinds; what is left is refused by the policy the user chose: a warning.
  setSignaturePolicy(repo, 'reject');
  gritOk(repo, ['rebuild']);
  assert.deepEqual((await gritSetup(repo, ['issue', 'list'])).issues, []);
  sig = signatures(gritDoctor(repo));
  assert.equal(sig.status, 'warn');
  assert.match(sig.message, /^1 event from known actors with a bad or missing signature, refused by this store; 1 event written before this actor's key was added .*, refused by signature_policy = reject; /);
  assert.equal(gritOk(repo, ['db', 'verify']).error_count, 2);

  // Once the actor has signed, an unsigned event after that in the WAL is not its own, whatever its stamp says.
  setSignaturePolicy(repo, 'warn');
  gritOk(repo, ['rebuild']);
  await gritSetup(repo, ['issue', 'comment', early, '--body', 'signed']);
  const earlyTs = (await gritSetup(repo, ['issue', 'show', early])).events[0].ts_unix_ms;
  appendWithPlumbing(repo, [forge(earlyTs + 1, 'backdated, unsigned')], actor);
  sig = signatures(gritDoctor(repo));
  assert.equal(sig.status, 'error');
  assert.match(sig.message, /^2 events from known actors with a bad or missing signature, APPLIED .*; 1 event written before this actor's key was added /);
});

test('an actor with a public_key but no signing.key: every write as it is refused (exit 5) before anything is appended, in process and through the daemon; reads as it work', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  setSignaturePolicy(repo, 'reject');
  const alice = gritOk(repo, ['actor', 'init', '--generate-key', '--label', 'alice']).actor;
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'signed', '--actor', 'alice'])).issue_id;
  rmSync(join(alice.data_dir, 'keys'), { recursive: true }); // now a teammate's public config (docs/signing.md)
  const head = git(repo, 'rev-parse', 'refs/grit/wal').trim();
  const daemon = await startDaemon();
  try {
    for (const env of [{}, daemon.env]) {
      for (const args of [['issue', 'create', '--title', 'lost'], ['issue', 'comment', id, '--body', 'lost']]) {
        const r = grit(repo, [...args, '--actor', 'alice', '--json'], { env });
        assert.equal(r.code, 5, r.stdout + r.stderr);
        assert.equal(r.json.error.code, 'io_error');
        assert.match(r.json.error.message, new RegExp(`actor ${alice.actor_id} has a public key but no .*keys/signing\\.key: you cannot write as it`));
        assert.match(r.json.error.details.suggestion, /restore this actor's keys\/signing\.key/);
      }
      assert.equal(grit(repo, ['issue', 'show', id, '--actor', 'alice', '--json'], { env }).json.data.issue.title, 'signed');
    }
  } finally {
    await daemon.stop();
  }
  assert.equal(git(repo, 'rev-parse', 'refs/grit/wal').trim(), head, 'nothing appended');
  assert.equal(gritOk(repo, ['db', 'verify']).error_count, 0);
  const c = gritDoctor(repo, ['--actor', 'alice']).checks.find((x: any) => x.id === 'actor_config');
  assert.equal(c.status, 'warn', JSON.stringify(c));
  assert.match(c.message, /it has a public_key but no .*signing\.key: it cannot sign, so every write as it is refused \(reads work\)/);
  // A directory where the key file should be: said as such, an error of the environment.
  mkdirSync(join(alice.data_dir, 'keys', 'signing.key'), { recursive: true });
  const dirKey = grit(repo, ['issue', 'create', '--title', 'lost', '--actor', 'alice', '--json']);
  assert.equal(dirKey.code, 5, dirKey.stdout + dirKey.stderr);
  assert.match(dirKey.json.error.message, /keys\/signing\.key is a directory, not a key file$/);
});

test('a signing.key that is not the key of the config public_key: every write is refused (exit 5), in process and through the daemon; doctor names it', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'first']);
  setSignaturePolicy(repo, 'reject');
  const signer = gritOk(repo, ['actor', 'init', '--generate-key', '--label', 'signer']).actor;
  const keyPath = join(signer.data_dir, 'keys', 'signing.key');
  const own = readFileSync(keyPath, 'utf8');
  writeFileSync(keyPath, `${'5a'.repeat(32)}\n`, { mode: 0o600 }); // a valid key, another actor's
  const head = git(repo, 'rev-parse', 'refs/grit/wal').trim();
  const daemon = await startDaemon();
  try {
    for (const env of [{}, daemon.env]) {
      const r = grit(repo, ['issue', 'create', '--title', 'lost', '--actor', 'signer', '--json'], { env });
      assert.equal(r.code, 5, r.stdout + r.stderr);
      assert.equal(r.json.error.code, 'io_error');
      assert.match(r.json.error.message, new RegExp(`signing\\.key does not belong to actor ${signer.actor_id}: its public key is [0-9a-f]{64}, config\\.toml says ${signer.public_key}`));
      assert.match(r.json.error.details.suggestion, /restore this actor's own signing\.key/);
    }
  } finally {
    await daemon.stop();
  }
  assert.equal(git(repo, 'rev-parse', 'refs/grit/wal').trim(), head, 'nothing written');
  const c = gritDoctor(repo).checks.find((x: any) => x.id === 'actor_config');
  assert.equal(c.status, 'warn', JSON.stringify(c));
  assert.match(c.message, new RegExp(`actor ${signer.actor_id}: .*signing\\.key does not belong to actor ${signer.actor_id}`));
  // Its own key back: writes work, and sign.
  writeFileSync(keyPath, own);
  await gritSetup(repo, ['issue', 'create', '--title', 'kept', '--actor', 'signer']);
  assert.equal(gritOk(repo, ['db', 'verify']).error_count, 0);
});

test('an actor in a data dir outside the repository whose copy here names another public key: every write is refused (exit 5), in process and through the daemon, not acknowledged and then dropped under reject', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'first']);
  setSignaturePolicy(repo, 'reject');
  const home = join(tempDir(), 'home');
  const own = gritOk(repo, ['actor', 'init', '--generate-key', '--data-dir', home]).actor;
  // The repository's copy of its config (a team's reviewed key list, say) holds an older key.
  const copyDir = join(repo, '.git', 'grit', 'actors', own.actor_id);
  mkdirSync(copyDir, { recursive: true });
  const ownConfig = readFileSync(join(home, 'config.toml'), 'utf8');
  writeFileSync(join(copyDir, 'config.toml'), ownConfig.replace(own.public_key, '7c'.repeat(32)));
  const head = git(repo, 'rev-parse', 'refs/grit/wal').trim();
  const daemon = await startDaemon();
  try {
    for (const env of [{ GRIT_HOME: home }, { ...daemon.env, GRIT_HOME: home }]) {
      const r = grit(repo, ['issue', 'create', '--title', 'mine', '--json'], { env });
      assert.equal(r.code, 5, r.stdout + r.stderr);
      assert.equal(r.json.error.code, 'io_error');
      assert.match(r.json.error.message, new RegExp(`knows actor ${own.actor_id} by another public key \\(${'7c'.repeat(32)}, in .*\\) than its own config says \\(${own.public_key}, in .*\\): its events would not verify here`));
    }
    assert.equal(git(repo, 'rev-parse', 'refs/grit/wal').trim(), head, 'nothing written');
    // The copy made to agree: writes work, sign, and stay after a rebuild.
    writeFileSync(join(copyDir, 'config.toml'), ownConfig);
    for (const env of [{ GRIT_HOME: home }, { ...daemon.env, GRIT_HOME: home }]) gritOk(repo, ['issue', 'create', '--title', 'kept'], { env });
  } finally {
    await daemon.stop();
  }
  gritOk(repo, ['rebuild'], { env: { GRIT_HOME: home } });
  assert.equal(gritOk(repo, ['issue', 'list'], { env: { GRIT_HOME: home } }).total, 3);
  assert.equal(gritOk(repo, ['db', 'verify'], { env: { GRIT_HOME: home } }).error_count, 0);
});
