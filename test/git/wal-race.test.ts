/** Racing writers in separate processes: grit against grit, and grit against native git. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, openSync, readdirSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeChunk } from '../../src/core/chunk.js';
import type { GritError } from '../../src/core/errors.js';
import type { Event } from '../../src/core/event.js';
import { toHex } from '../../src/core/hex.js';
import { PackBuilder } from '../../src/git/pack-write.js';
import { Wal, WAL_REF, writeEventsTree, writeWalCommit } from '../../src/git/wal.js';
import { ACTOR_HEX, bodies, comment, fsckClean, git, gitEnv, tempRepo } from './_util.js';

const MODULES = {
  wal: new URL('../../src/git/wal.js', import.meta.url).href,
  event: new URL('../../src/core/event.js', import.meta.url).href,
};

/** `node -e`: appends `count` one-event commits as actor `tag` repeated. */
const WRITER = `
const [gitDir, count, tag, walUrl, eventUrl] = process.argv.slice(1);
const { Wal } = await import(walUrl);
const { makeEvent } = await import(eventUrl);
const actorHex = tag.repeat(16);
const actor = Uint8Array.from(Buffer.from(actorHex, 'hex'));
const wal = new Wal(gitDir);
for (let k = 0; k < Number(count); k++) {
  const e = makeEvent({ issue_id: new Uint8Array(16).fill(1), actor, ts_unix_ms: Date.now(), parent: null,
    kind: { type: 'CommentAdded', body: tag + '-' + k } });
  await wal.append([e], actorHex);
}
`;

function run(file: string, args: string[], opts: { cwd?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((res, rej) =>
    execFile(file, args, { ...opts, env: gitEnv(), maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
      err ? rej(new Error(`${file} failed: ${err.message}\n${stderr}`)) : res({ stdout, stderr }),
    ),
  );
}

const writer = (gitDir: string, count: number, tag: string) =>
  run(process.execPath, ['--input-type=module', '-e', WRITER, gitDir, String(count), tag, MODULES.wal, MODULES.event]);

test('two processes appending 100 commits each at once: 200 commits, linear, none lost', async () => {
  const { dir, gitDir } = tempRepo();
  await Promise.all([writer(gitDir, 100, 'b1'), writer(gitDir, 100, 'c1')]);
  assert.equal(git(dir, ['rev-list', '--count', WAL_REF]).trim(), '200');
  assert.equal(git(dir, ['rev-list', '--count', '--first-parent', WAL_REF]).trim(), '200');
  assert.equal(git(dir, ['rev-list', '--merges', WAL_REF]).trim(), '');
  const commits = await new Wal(gitDir).readSince(null);
  const got = bodies(commits.flatMap((c) => c.events));
  assert.equal(new Set(got).size, 200);
  for (const tag of ['b1', 'c1']) {
    // Each writer's own commits appear in the order it wrote them.
    const mine = got.filter((b) => b.startsWith(`${tag}-`));
    assert.deepEqual(mine, Array.from({ length: 100 }, (_, k) => `${tag}-${k}`));
  }
  // meta.json's prev_wal is each commit's parent.
  for (let i = 1; i < commits.length; i += 37) {
    const meta = JSON.parse(git(dir, ['cat-file', 'blob', `${commits[i].oid}:meta.json`]));
    assert.equal(meta.prev_wal, commits[i - 1].oid);
  }
  fsckClean(dir);
});

test('native git update-ref racing with grit appends: neither overwrites the other', async (t) => {
  const { dir, gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  const base = await wal.append([comment('base')], ACTOR_HEX);
  // A valid WAL chunk tree for the native writer to reuse; its meta.json is built per commit.
  const chunk = encodeChunk([comment('native')]);
  const hash = toHex(chunk.hash);
  const chunkBlob = git(dir, ['hash-object', '-w', '--stdin'], Buffer.from(chunk.bytes)).trim();
  let events = git(dir, ['mktree'], `100644 blob ${chunkBlob}\t${hash}.bin\n`).trim();
  for (const part of ['25', '11', '2026']) events = git(dir, ['mktree'], `040000 tree ${events}\t${part}\n`).trim();
  const NATIVE = 25;
  // Each round: read the head, build a commit on it, `git update-ref ref new old` (git's CAS);
  // on failure (head moved, or grit holds the lock) try again. Counts the attempts that failed.
  const script = `
set -u
ok=0; failed=0
while [ $ok -lt ${NATIVE} ]; do
  head=$(git rev-parse ${WAL_REF})
  meta=$(printf '{"schema_version":1,"actor_id":"%s","chunk_hash":"${hash}","prev_wal":"%s"}\\n' ${ACTOR_HEX} "$head" | git hash-object -w --stdin)
  root=$(printf '040000 tree ${events}\\tevents\\n100644 blob %s\\tmeta.json\\n' "$meta" | git mktree)
  c=$(git commit-tree "$root" -p "$head" -m "native $ok")
  if git update-ref ${WAL_REF} "$c" "$head" 2>/dev/null; then ok=$((ok+1)); echo "$c"; else failed=$((failed+1)); fi
done
echo "failed $failed" >&2
`;
  const [nativeOut] = await Promise.all([run('sh', ['-c', script], { cwd: dir }), writer(gitDir, 60, 'd1')]);
  t.diagnostic(`native git: ${nativeOut.stderr.trim()} update-ref attempts (head moved or grit held the lock)`);
  const nativeCommits = nativeOut.stdout.trim().split('\n');
  assert.equal(nativeCommits.length, NATIVE);
  const chain = git(dir, ['rev-list', '--first-parent', WAL_REF]).trim().split('\n');
  assert.equal(chain.length, 1 + 60 + NATIVE, 'every successful update of either side is on the chain');
  assert.equal(git(dir, ['rev-list', '--merges', WAL_REF]).trim(), '');
  const onChain = new Set(chain);
  for (const c of nativeCommits) assert.ok(onChain.has(c), `native commit ${c} kept`);
  const commits = await wal.readSince(base.commit);
  const got = bodies(commits.flatMap((c) => c.events));
  assert.deepEqual(got.filter((b) => b.startsWith('d1-')), Array.from({ length: 60 }, (_, k) => `d1-${k}`));
  assert.equal(got.filter((b) => b === 'native').length, NATIVE);
  fsckClean(dir);
});

/**
 * Another writer's commit of `events` on `parent`, its objects built (not yet written), holding
 * the WAL ref's lock (git's convention) until `moveRef` renames it over the ref.
 */
function rivalHoldingTheRef(gitDir: string, events: Event[], parent: string, timestamp = Date.now()): { pack: PackBuilder; commit: string; moveRef: () => void } {
  const pack = new PackBuilder();
  const chunk = encodeChunk(events);
  const tree = writeEventsTree(pack.sink(), chunk.bytes, toHex(chunk.hash), events[0].ts_unix_ms);
  const commit = writeWalCommit(pack.sink(), tree, { actorHex: ACTOR_HEX, chunkHash: toHex(chunk.hash), parent, eventCount: events.length, timestamp });
  const lock = join(gitDir, `${WAL_REF}.lock`);
  const fd = openSync(lock, 'wx');
  writeSync(fd, `${commit}\n`);
  closeSync(fd);
  return { pack, commit, moveRef: () => renameSync(lock, join(gitDir, WAL_REF)) };
}

const packCount = (gitDir: string) => readdirSync(join(gitDir, 'objects', 'pack')).filter((n) => n.endsWith('.idx')).length;

/** Starts `append` and resolves (with it) once it has written its pack: it then waits for the ref's lock. */
async function oncePackWritten<T>(gitDir: string, append: () => Promise<T>): Promise<{ done: Promise<T> }> {
  const before = packCount(gitDir);
  const done = append();
  while (packCount(gitDir) === before) await new Promise((r) => setTimeout(r, 1));
  return { done };
}

test('an append that loses the compare-and-swap leaves no unreachable objects behind (its pack is deleted), and neither does a conflict', async () => {
  const { dir, gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  const { commit: base } = await wal.append([comment('base')], ACTOR_HEX);
  // Another writer's commit on the same head, its objects written, the ref's lock held…
  const rival = rivalHoldingTheRef(gitDir, [comment('other')], base);
  rival.pack.write(gitDir, { fsync: false });
  const theirs = rival.commit;
  const before = packCount(gitDir);
  // …while this process's append writes its pack; then it moves the ref: the append's
  // compare-and-swap (on `base`) fails, and it retries on `theirs`.
  const mine = await oncePackWritten(gitDir, () => wal.append([comment('mine')], ACTOR_HEX, { madeOn: base }));
  rival.moveRef();
  const { parent } = await mine.done;
  assert.equal(parent, theirs, 'the first attempt lost');
  assert.deepEqual(bodies((await wal.readSince(null)).flatMap((c) => c.events)), ['base', 'other', 'mine']);
  const unreachable = () => git(dir, ['fsck', '--unreachable', '--no-reflogs', '--no-progress']).trim();
  assert.equal(unreachable(), '', 'the lost attempt left nothing');
  assert.equal(packCount(gitDir), before + 1, 'one pack for the append: the winning attempt\'s');
  // A strict append on a head that moved writes its pack, loses, and deletes it too.
  await assert.rejects(wal.append([comment('late')], ACTOR_HEX, { expectedHead: base, madeOn: await wal.head() }), (e: GritError) => e.code === 'conflict');
  assert.equal(unreachable(), '');
  fsckClean(dir);
});

test('an append that loses to another process appending the same events (one actor, the same edit, the same millisecond) keeps its pack: a git repack in between may have left it their only copy', async () => {
  const { dir, gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  const { commit: base } = await wal.append([comment('base')], ACTOR_HEX);
  const same = [comment('the same edit')];
  // Its commit is from another second than this append's: every object but the commit is the same.
  const rival = rivalHoldingTheRef(gitDir, same, base, Date.now() - 5_000);
  const mine = await oncePackWritten(gitDir, () => wal.append(same, ACTOR_HEX, { madeOn: base }));
  // The other process writes its pack and moves the ref; git repacks before this append goes on
  // (spawnSync holds this process): objects in a kept pack stay out of git's new pack, and the
  // other process's pack is deleted as repacked.
  rival.pack.write(gitDir, { fsync: false });
  rival.moveRef();
  git(dir, ['repack', '-a', '-d', '-q']);
  const { parent } = await mine.done;
  assert.equal(parent, rival.commit, 'the first attempt lost');
  fsckClean(dir);
  assert.deepEqual(bodies((await wal.readSince(null)).flatMap((c) => c.events)), ['base', 'the same edit', 'the same edit']);
});
