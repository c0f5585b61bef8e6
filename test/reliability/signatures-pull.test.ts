/**
 * Forged events arriving by `grit sync --pull` (test/ops/signing.test.ts covers forgeries appended
 * to the local WAL): events under a known actor's id with a valid event id but a copied, foreign
 * or missing signature. Under `signature_policy = reject` the pull refuses to apply them and says
 * so; under `warn` they are applied, and doctor and `db verify` report them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { encodeChunk } from '../../src/core/chunk.js';
import { generateKeyPair, signEventId } from '../../src/core/ed25519.js';
import { makeEvent, type Event } from '../../src/core/event.js';
import { fromHex, toHex } from '../../src/core/hex.js';
import { git, grit, gritOk, gritDoctor, importKey, setSignaturePolicy, tempDir, gritInit, gritSetup } from '../helpers/repo.js';
import { network } from '../sync/_helpers.js';
import { chunkCommit } from './_remote.js';

async function scene() {
  const { remote, clones } = await network(3, { init: false });
  const [writer, strict, lenient] = clones;
  const actor = gritOk(writer, ['init', '--no-agents-md', '--generate-key']).actor.actor_id as string;
  const id = (await gritSetup(writer, ['issue', 'create', '--title', 'original'])).issue_id as string;
  await gritSetup(writer, ['sync']);
  const created = gritOk(writer, ['issue', 'show', id]).events[0];
  for (const [clone, policy] of [[strict, 'reject'], [lenient, 'warn']] as const) {
    await gritInit(clone);
    setSignaturePolicy(clone, policy);
    importKey(clone, writer, actor);
    await gritSetup(clone, ['sync']);
  }
  // Three forgeries under the writer's id, each with a correct event id.
  const base = { issue_id: fromHex(id, 16)!, actor: fromHex(actor, 16)!, parent: fromHex(created.event_id, 32)! };
  const at = (dt: number) => created.ts_unix_ms + dt;
  const copied = makeEvent({ ...base, ts_unix_ms: at(10), kind: { type: 'IssueUpdated', title: 'forged title', body: null } });
  copied.sig = fromHex(created.sig, 64)!; // a real signature of the writer, over another event
  const stranger = generateKeyPair();
  const foreign = makeEvent({ ...base, ts_unix_ms: at(11), kind: { type: 'StateChanged', state: 'closed' } }, (eid) => signEventId(eid, stranger.secretKey));
  const unsigned = makeEvent({ ...base, ts_unix_ms: at(12), kind: { type: 'CommentAdded', body: 'forged comment' } });
  // A signature of the wrong length: a bad signature like the others, not a record every reader stops at.
  const short = makeEvent({ ...base, ts_unix_ms: at(13), kind: { type: 'LabelAdded', label: 'short-sig' } });
  short.sig = new Uint8Array(63).fill(7);
  const forged: Event[] = [copied, foreign, unsigned, short];
  chunkCommit(remote, actor, encodeChunk(forged).bytes);
  return { remote, writer, strict, lenient, actor, id, forgedIds: forged.map((e) => toHex(e.event_id)).sort() };
}

test('forged events pulled from a remote (a signature of the wrong length among them): refused under reject, kept and reported under warn, listed by db verify and doctor', { timeout: 60_000 }, async () => {
  const s = await scene();

  // reject: the pull succeeds (the WAL is append-only and shared) but the store refuses the three.
  const r = grit(s.strict, ['sync', '--pull', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.json.data.pulled, 4);
  assert.deepEqual(r.json.data.signature_problems, { refused: 4, kept: 0 });
  assert.match(r.stderr, /refused 4 events with a bad or missing signature .*signature_policy = reject/);
  const strictShow = gritOk(s.strict, ['issue', 'show', s.id]);
  assert.equal(strictShow.issue.title, 'original');
  assert.equal(strictShow.issue.state, 'open');
  assert.equal(strictShow.issue.comment_count, 0);
  assert.deepEqual(strictShow.issue.labels, []);
  assert.equal(strictShow.events.length, 1);
  const human = grit(s.strict, ['sync', '--pull']);
  assert.equal(human.code, 0);
  let v = gritOk(s.strict, ['db', 'verify']);
  assert.deepEqual([v.events_checked, v.signatures_checked, v.signatures_valid, v.error_count, v.policy], [5, 4, 1, 4, 'reject']);
  assert.deepEqual(v.errors.map((e: any) => e.event_id).sort(), s.forgedIds);
  assert.deepEqual(v.errors.map((e: any) => e.problem).sort(), ['invalid', 'invalid', 'invalid', 'missing']);
  let sig = gritDoctor(s.strict).checks.find((c: any) => c.id === 'signatures');
  assert.equal(sig.status, 'warn'); // refused by the policy, for good: doctor passes (docs/signing.md, "Doctor's verdict")
  assert.match(sig.message, /4 events .*refused by this store/);

  // warn: applied, and reported by the pull, db verify and doctor.
  const w = grit(s.lenient, ['sync', '--pull', '--json']);
  assert.equal(w.code, 0, w.stdout + w.stderr);
  assert.deepEqual(w.json.data.signature_problems, { refused: 0, kept: 4 });
  assert.match(w.stderr, /applied 4 events with a bad or missing signature/);
  const lenientShow = gritOk(s.lenient, ['issue', 'show', s.id]);
  assert.equal(lenientShow.issue.title, 'forged title');
  assert.equal(lenientShow.issue.state, 'closed');
  assert.deepEqual(lenientShow.issue.labels, ['short-sig']);
  v = gritOk(s.lenient, ['db', 'verify']);
  assert.deepEqual([v.error_count, v.policy], [4, 'warn']);
  assert.deepEqual(v.errors.map((e: any) => e.event_id).sort(), s.forgedIds);
  sig = gritDoctor(s.lenient).checks.find((c: any) => c.id === 'signatures');
  assert.equal(sig.status, 'error');
  assert.match(sig.message, /4 events .*APPLIED to this store/);

  // The honest writer's own later events still verify on both sides.
  await gritSetup(s.writer, ['issue', 'comment', s.id, '--body', 'genuine']);
  await gritSetup(s.writer, ['sync']);
  const again = grit(s.strict, ['sync', '--pull', '--json']);
  assert.deepEqual(again.json.data.signature_problems, { refused: 0, kept: 0 });
  assert.deepEqual(gritOk(s.strict, ['issue', 'show', s.id]).issue.comments.map((c: any) => c.body), ['genuine']);
});

test('two copies of one event with different signatures: every clone keeps the same one, whatever order they came in', { timeout: 120_000 }, async () => {
  const { remote: r1, clones } = await network(5, { init: false });
  const [writer, ...readers] = clones;
  const actor = gritOk(writer, ['init', '--no-agents-md', '--generate-key']).actor.actor_id as string;
  const id = (await gritSetup(writer, ['issue', 'create', '--title', 'signed once'])).issue_id as string;
  await gritSetup(writer, ['sync']);
  const shownEvent = gritOk(writer, ['issue', 'show', id]).events[0];
  const good = makeEvent({ issue_id: fromHex(id, 16)!, actor: fromHex(actor, 16)!, ts_unix_ms: shownEvent.ts_unix_ms, parent: null, kind: { type: 'IssueCreated', title: 'signed once', body: '', labels: [] } });
  assert.equal(toHex(good.event_id), shownEvent.event_id);
  good.sig = fromHex(shownEvent.sig, 64)!;
  // A copy whose signature is bad, and smaller than the good one's bytes: the byte rule alone would keep it.
  const bad: Event = { ...good, sig: Uint8Array.from(good.sig) };
  bad.sig![0] = good.sig[0] === 0 ? 1 : 0;
  const [small, large] = good.sig[0] === 0 ? [good, bad] : [bad, good];

  // r1: the good copy, then the bad one. r2: the same two, the other way round.
  const r2 = join(tempDir(), 'r2.git');
  cpSync(r1, r2, { recursive: true });
  chunkCommit(r2, actor, encodeChunk([bad]).bytes, { parents: [] });
  const sigOf = (clone: string): string => JSON.parse(grit(clone, ['export', '-o', '-']).stdout).events.find((e: any) => e.event_id === toHex(good.event_id)).sig;

  // Readers that sync once before the second copy is there, and once after (a store holding one copy meets the other).
  const [k1, k2, u1, u2] = readers;
  git(k2, 'remote', 'set-url', 'origin', r2);
  git(u2, 'remote', 'set-url', 'origin', r2);
  for (const r of readers) {
    await gritInit(r);
    if (r === k1 || r === k2) importKey(r, writer, actor);
    await gritSetup(r, ['sync']);
  }
  chunkCommit(r1, actor, encodeChunk([bad]).bytes);
  chunkCommit(r2, actor, encodeChunk([good]).bytes);
  for (const r of readers) {
    const second = await gritSetup(r, ['sync']);
    assert.equal(second.pulled, 0, 'a copy of an event the WAL had is not pulled');
    // k1's store holds the valid copy already: the bad one is not "applied with a bad signature".
    if (r === k1) assert.deepEqual(second.signature_problems, { refused: 0, kept: 0 });
  }
  // Nor is it for doctor, which fails only on a bad signature the store holds.
  for (const r of [k1, k2]) {
    const check = gritDoctor(r).checks.find((c: any) => c.id === 'signatures');
    assert.equal(check.status, 'ok', JSON.stringify(check));
    assert.match(check.message, /1 event also has a copy with a bad signature, which the store does not keep/);
  }
  const goodHex = toHex(good.sig);
  for (const r of [k1, k2]) assert.equal(sigOf(r), goodHex, 'with the key known: the copy that verifies');
  for (const r of [u1, u2]) assert.equal(sigOf(r), toHex(small.sig!), 'without it: the smaller signature');
  assert.notEqual(toHex(large.sig!), toHex(small.sig!));
  // A rebuild (read newest first, into an empty store) keeps the same copy.
  for (const r of readers) {
    const before = sigOf(r);
    gritOk(r, ['rebuild']);
    assert.equal(sigOf(r), before);
  }
});
