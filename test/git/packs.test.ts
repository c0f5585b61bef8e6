import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs, { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ObjectStore } from '../../src/git/objects.js';
import { consolidatePacks, geometricRollup, MAX_SMALL_PACKS } from '../../src/git/pack-consolidate.js';
import { PackBuilder } from '../../src/git/pack-write.js';
import { publishPack } from '../../src/git/pack-publish.js';
import { casRef } from '../../src/git/refs.js';
import { encodeChunk } from '../../src/core/chunk.js';
import { toHex } from '../../src/core/hex.js';
import type { GritError } from '../../src/core/errors.js';
import { Wal, WAL_REF, writeEventsTree, writeWalCommit } from '../../src/git/wal.js';
import { startDaemon } from '../helpers/daemon.js';
import { until, untilPast } from '../helpers/wait.js';
import { network } from '../sync/_helpers.js';
import * as cli from '../helpers/repo.js';
import { ACTOR_HEX, comment, DAY, fsckClean, git, tempRepo } from './_util.js';

const idxCount = (gitDir: string) => readdirSync(join(gitDir, 'objects', 'pack')).filter((n) => n.endsWith('.idx')).length;

/** Writes one pack of `n` small distinct blobs; returns its name and each blob's text by id. */
function packOfBlobs(gitDir: string, n: number): { name: string; contents: Map<string, string> } {
  const pack = new PackBuilder();
  const sink = pack.sink();
  const contents = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const text = `object ${i}\n`;
    contents.set(sink.write('blob', Buffer.from(text)), text);
  }
  return { name: pack.write(gitDir, { fsync: false })!, contents };
}

test('geometricRollup merges the packs that break the doubling progression', () => {
  const packs = (...sizes: number[]) => sizes.map((bytes, i) => ({ bytes, i }));
  const pick = (...sizes: number[]) => geometricRollup(packs(...sizes)).map((p) => p.bytes);
  assert.deepEqual(pick(8, 16, 32, 64), []); // already a progression
  assert.deepEqual(pick(8, 8, 32, 64), [8, 8]); // 16 < 2*16? no: 32 >= 2*16 stops it
  assert.deepEqual(pick(8, 8, 16, 64), [8, 8, 16]);
  assert.deepEqual(pick(...Array(17).fill(8)), Array(17).fill(8));
  assert.deepEqual(pick(8, 8, 30, 1000), [8, 8, 30]); // 30 < 2*16 joins; 1000 is far larger
  assert.deepEqual(pick(5), []);
  assert.deepEqual(pick(), []);
});

test('a pack of few objects but many bytes (a snapshot\'s) is not copied by the roll-ups of the small packs after it', async () => {
  const { dir: repo, gitDir } = tempRepo();
  const big = new PackBuilder();
  for (let i = 0; i < 4; i++) big.add('blob', randomBytes(256 << 10)); // 1 MiB in 4 objects, as a snapshot's chunks
  const bigName = big.write(gitDir, { fsync: false })!;
  const wal = new Wal(gitDir);
  let merges = 0;
  for (let i = 0; i < 3 * MAX_SMALL_PACKS; i++) {
    await wal.append([comment(`n${i}`, DAY + i)], ACTOR_HEX);
    if (idxCount(gitDir) <= MAX_SMALL_PACKS / 2) merges++;
  }
  assert.ok(merges > 0, 'the small packs were rolled up');
  assert.ok(existsSync(join(gitDir, 'objects', 'pack', `${bigName}.pack`)), 'the large pack was never merged');
  fsckClean(repo);
});

test('each append is one pack; small packs are rolled up; git and readers see every object', async () => {
  const { dir: repo, gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  const append = (i: number) => wal.append([comment(`n${i}`, DAY + i)], ACTOR_HEX);
  // A reader in another "process": its pack list goes stale while the writer repacks.
  const reader = new ObjectStore(gitDir);
  const commits: string[] = [];
  let maxPacks = 0;
  for (let i = 0; i < 120; i++) {
    const { commit } = await append(i);
    commits.push(commit);
    maxPacks = Math.max(maxPacks, idxCount(gitDir));
    if (i === 5) reader.readCommit(commit); // loads the pack list as it is now
  }
  assert.equal(readdirSync(join(gitDir, 'objects')).filter((d) => /^[0-9a-f]{2}$/.test(d)).length, 0, 'no loose objects');
  assert.ok(maxPacks <= MAX_SMALL_PACKS + 1, `at most ${MAX_SMALL_PACKS + 1} packs at any time, saw ${maxPacks}`);
  assert.ok(idxCount(gitDir) <= MAX_SMALL_PACKS, `${idxCount(gitDir)} packs after 120 appends`);
  fsckClean(repo);
  assert.equal(git(repo, ['rev-list', '--count', 'refs/grit/wal']).trim(), '120');
  // The stale reader finds objects whose packs were merged away.
  for (const oid of [commits[0], commits[3], commits[119]]) assert.equal(reader.read(oid).type, 'commit');
  const events = (await wal.readSince(null)).flatMap((c) => c.events);
  assert.equal(events.length, 120);
  // A pack with a .keep file is never merged away.
  const [kept] = readdirSync(join(gitDir, 'objects', 'pack')).filter((n) => n.endsWith('.pack'));
  writeFileSync(join(gitDir, 'objects', 'pack', kept.replace(/\.pack$/, '.keep')), '');
  for (let i = 120; i < 160; i++) await append(i);
  assert.ok(readdirSync(join(gitDir, 'objects', 'pack')).includes(kept));
  fsckClean(repo);
  const last = await wal.readSince(commits[119]);
  assert.equal(last.length, 40);
});

test('extensions.preciousObjects: no pack is merged away (merging deletes packs); git can still read every object', async () => {
  const { dir: repo, gitDir } = tempRepo();
  git(repo, ['config', 'core.repositoryformatversion', '1']);
  git(repo, ['config', 'extensions.preciousObjects', 'true']);
  const wal = new Wal(gitDir);
  for (let i = 0; i < MAX_SMALL_PACKS + 8; i++) await wal.append([comment(`n${i}`, DAY + i)], ACTOR_HEX);
  assert.equal(idxCount(gitDir), MAX_SMALL_PACKS + 8);
  assert.equal(consolidatePacks(new ObjectStore(gitDir)), 0);
  fsckClean(repo);
  assert.equal((await wal.readSince(null)).length, MAX_SMALL_PACKS + 8);
});

test('core.sharedRepository: the refs and packs grit writes get git\'s shared modes (group-writable, setgid directories)', async () => {
  const modeOf = (path: string) => statSync(path).mode & 0o7777;
  const old = process.umask(0o022);
  try {
    for (const [shared, dirMode, refMode] of [['group', 0o2775, 0o664], ['0640', 0o2750, 0o640], [null, 0o755, 0o644]] as const) {
      const { dir: repo, gitDir } = tempRepo(shared ? [`--shared=${shared}`] : []);
      const wal = new Wal(gitDir);
      await wal.append([comment('shared', DAY)], ACTOR_HEX);
      assert.equal(modeOf(join(gitDir, 'refs/grit')), dirMode, `${shared}: refs/grit`);
      assert.equal(modeOf(join(gitDir, 'refs/grit/wal')), refMode, `${shared}: refs/grit/wal`);
      const pack = readdirSync(join(gitDir, 'objects/pack')).find((n) => n.endsWith('.pack'))!;
      assert.equal(modeOf(join(gitDir, 'objects/pack', pack)), shared === '0640' ? 0o440 : 0o444, `${shared}: a pack`);
      // git itself, as another member of the group would, can move the ref grit made.
      if (shared) assert.equal(modeOf(join(gitDir, 'refs/heads')) & 0o2070, dirMode & 0o2070, 'as git makes its own');
      fsckClean(repo);
    }
  } finally {
    process.umask(old);
  }
});

test('a pack rolled up by another process before this one adopts it: no error, its objects are read from the merged pack', () => {
  const { dir: repo, gitDir } = tempRepo();
  const store = new ObjectStore(gitDir);
  const first = new PackBuilder();
  const blob = first.add('blob', Buffer.from('one\n'));
  const name = first.write(gitDir, { fsync: false })!;
  store.read(blob); // the pack list is loaded, with this pack in it
  const next = new PackBuilder();
  const other = next.add('blob', Buffer.from('two\n'));
  const written = next.write(gitDir, { fsync: false })!;
  // Another process merges the second pack (here: with the first) and deletes it, before this one adopts it.
  const merged = new PackBuilder();
  merged.add('blob', Buffer.from('one\n'));
  merged.add('blob', Buffer.from('two\n'));
  merged.write(gitDir, { fsync: false });
  for (const ext of ['idx', 'pack']) rmSync(join(gitDir, 'objects', 'pack', `${written}.${ext}`));
  assert.doesNotThrow(() => store.adoptPack(written));
  assert.equal(store.read(other).content.toString(), 'two\n');
  assert.notEqual(name, written);
  fsckClean(repo);
});

/**
 * Runs `race` once, in this process, just before the next file whose name ends in `suffix` is
 * opened: how another process's roll-up lands between a reader's directory scan and its open of a
 * pack it found. The open itself is the real one, on the real files, after `race` has run.
 */
function beforeNextOpen(suffix: '.pack' | '.idx', race: () => void): () => void {
  const open = fs.openSync;
  const restore = () => {
    fs.openSync = open;
    syncBuiltinESMExports();
  };
  fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    if (String(path).endsWith(suffix)) {
      restore();
      race();
    }
    return (open as (...a: unknown[]) => number)(path, ...rest);
  }) as typeof fs.openSync;
  syncBuiltinESMExports();
  return restore;
}

test('a reader whose rescan finds a pack that another process then rolls up before it is opened reads the object from the merged pack', () => {
  const { dir: repo, gitDir } = tempRepo();
  for (let i = 0; i < MAX_SMALL_PACKS; i++) packOfBlobs(gitDir, 1 + i);
  const reader = new ObjectStore(gitDir);
  const [old] = packOfBlobs(gitDir, 1).contents.keys();
  assert.equal(reader.read(old).content.toString(), 'object 0\n'); // the reader scans the pack directory
  // Another writer appends (a pack the reader's list does not have)…
  const fresh = new PackBuilder();
  const blob = fresh.add('blob', Buffer.from('fresh\n'));
  const name = fresh.write(gitDir, { fsync: false })!;
  // …and, once the reader's rescan has listed that pack, one more append rolls it up with the others.
  let merged = 0;
  const restore = beforeNextOpen('.pack', () => {
    packOfBlobs(gitDir, 1);
    merged = consolidatePacks(new ObjectStore(gitDir));
  });
  try {
    assert.equal(reader.read(blob).content.toString(), 'fresh\n');
  } finally {
    restore();
  }
  assert.ok(merged > 1, 'the roll-up ran in the middle of the read');
  assert.ok(!existsSync(join(gitDir, 'objects', 'pack', `${name}.pack`)), 'the pack the rescan found was merged away');
  assert.ok(reader.has(old));
  fsckClean(repo);
});

/**
 * The other window: the rescan lists a new pack, and a roll-up merges it away before its index is
 * opened. That scan holds neither it nor the merged pack, which came after the listing: the same
 * packs as before, and the object would be called missing (a write then refused to build on the
 * head another writer had just put there: a hole that was not one).
 */
test('a rescan that lists a new pack which a roll-up merges away before its index is opened looks again: found, not missing', () => {
  const { dir: repo, gitDir } = tempRepo();
  for (let i = 0; i < MAX_SMALL_PACKS; i++) packOfBlobs(gitDir, 1 + i);
  const reader = new ObjectStore(gitDir);
  const [old] = packOfBlobs(gitDir, 1).contents.keys();
  assert.ok(reader.has(old)); // the reader lists every pack there is
  const fresh = new PackBuilder();
  const blob = fresh.add('blob', Buffer.from('fresh\n'));
  fresh.write(gitDir, { fsync: false });
  let merged = 0;
  const restore = beforeNextOpen('.idx', () => (merged = consolidatePacks(new ObjectStore(gitDir))));
  try {
    assert.ok(reader.has(blob), 'found in the merged pack');
  } finally {
    restore();
  }
  assert.ok(merged > 1, 'the roll-up ran between the listing and the open');
  fsckClean(repo);
});

test('kill -9 in the middle of a roll-up loses nothing; the next appends roll up again', { timeout: 120_000 }, async () => {
  const repo = cli.tempRepo();
  // A group's repository, written by a user whose umask shares nothing.
  git(repo, ['config', 'core.sharedRepository', 'group']);
  await cli.gritInit(repo);
  const gitDir = join(repo, '.git');
  const acked: string[] = [];
  let killed = false;
  const umask = process.umask(0o077);
  try {
    for (let i = 0; i < 3 * MAX_SMALL_PACKS && !killed; i++) {
      const r = cli.grit(repo, ['issue', 'create', '--title', `t${i}`, '--json'], { env: { GRIT_FAULT: 'pack:merged' } });
      if (r.code === 0) acked.push(r.json.data.issue_id);
      else killed = true;
    }
  } finally {
    process.umask(umask);
  }
  assert.ok(killed, 'a roll-up ran and was killed half-way');
  // The roll-up's lock is left; the group's other users must read it to tell it is left.
  assert.equal(statSync(join(gitDir, 'objects', 'pack', 'grit-consolidate.lock')).mode & 0o777, 0o660);
  cli.fsckClean(repo);
  for (let i = 0; i < 2 * MAX_SMALL_PACKS; i++) await cli.gritSetup(repo, ['issue', 'create', '--title', `after ${i}`]);
  cli.fsckClean(repo);
  assert.ok(idxCount(gitDir) <= MAX_SMALL_PACKS);
  const ids = new Set((await cli.gritSetup(repo, ['issue', 'list'])).issues.map((x: { issue_id: string }) => x.issue_id));
  for (const id of acked) assert.ok(ids.has(id), `acknowledged ${id} missing`);
  assert.equal(ids.size, acked.length + 1 + 2 * MAX_SMALL_PACKS, 'the killed command had moved the WAL ref: its issue is there too');
});

test('a roll-up copies whole objects as stored and rewrites deltas in full', async () => {
  const { dir: repo, gitDir } = tempRepo();
  const packDir = join(gitDir, 'objects', 'pack');
  // A small pack of git's own with deltas in it: similar blobs, packed by git pack-objects.
  const base = Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join('');
  const blobs = Array.from({ length: 12 }, (_, i) => git(repo, ['hash-object', '-w', '--stdin'], `${base}edit ${i}\n`).trim());
  const gitPack = git(repo, ['pack-objects', '-q', join(packDir, 'pack')], `${blobs.join('\n')}\n`).trim();
  git(repo, ['prune-packed']);
  assert.match(git(repo, ['verify-pack', '-v', join(packDir, `pack-${gitPack}.idx`)]), /chain length = 1/, 'git stored deltas');
  const wal = new Wal(gitDir);
  for (let i = 0; i < MAX_SMALL_PACKS + 1; i++) await wal.append([comment(`n${i}`, DAY + i)], ACTOR_HEX);
  assert.ok(!readdirSync(packDir).includes(`pack-${gitPack}.pack`), "git's small pack was merged");
  const merged = readdirSync(packDir).filter((n) => n.endsWith('.idx'));
  for (const idx of merged) assert.doesNotMatch(git(repo, ['verify-pack', '-v', join(packDir, idx)]), /chain length/, 'no deltas left');
  fsckClean(repo);
  const reader = new ObjectStore(gitDir);
  for (const [i, oid] of blobs.entries()) assert.equal(reader.readBlob(oid).toString(), `${base}edit ${i}\n`);
  assert.equal((await wal.readSince(null)).length, MAX_SMALL_PACKS + 1);
});

test('a roll-up refuses a damaged entry: nothing is deleted and every other object stays readable', () => {
  const { gitDir } = tempRepo();
  const packDir = join(gitDir, 'objects', 'pack');
  const text = (i: number) => `blob number ${i}, long enough to be deflated into a few bytes\n`;
  const oids: string[] = [];
  const names = Array.from({ length: MAX_SMALL_PACKS + 2 }, (_, i) => {
    const pack = new PackBuilder();
    oids.push(pack.add('blob', Buffer.from(text(i))));
    return pack.write(gitDir, { fsync: false })!;
  });
  // One flipped byte in the first entry's compressed data: its CRC-32 no longer matches.
  const damaged = join(packDir, `${names[0]}.pack`);
  chmodSync(damaged, 0o644);
  const bytes = readFileSync(damaged);
  bytes[16] ^= 0xff;
  writeFileSync(damaged, bytes);
  const before = readdirSync(packDir).sort();
  assert.throws(() => consolidatePacks(new ObjectStore(gitDir)), (err: GritError) => err.code === 'git_error');
  assert.deepEqual(readdirSync(packDir).sort(), before, 'no pack written or deleted');
  const reader = new ObjectStore(gitDir);
  for (let i = 1; i < names.length; i++) assert.equal(reader.readBlob(oids[i]).toString(), text(i));
});

test('a pack of 20,000 objects (searched through a two-byte fan-out after its first 4,096 look-ups): every object is found, no other', () => {
  const { dir, gitDir } = tempRepo();
  const { contents } = packOfBlobs(gitDir, 20_000);
  const oids = [...contents.keys()].sort();
  // git agrees that the pack holds them all.
  const checked = git(dir, ['cat-file', '--batch-check=%(objectname)'], `${oids.join('\n')}\n`).trim().split('\n');
  assert.deepEqual(checked, oids);
  const store = new ObjectStore(gitDir);
  for (const oid of oids) assert.equal(store.readBlob(oid).toString(), contents.get(oid), oid);
  // Absent ids: at both ends of the id space, and next to present ones (the last byte, and the second and third,
  // which the fan-out table and the search look at first).
  const near = (oid: string, at: number) => oid.slice(0, at) + ((parseInt(oid.slice(at, at + 2), 16) + 1) % 256).toString(16).padStart(2, '0') + oid.slice(at + 2);
  const absent = ['0'.repeat(40), 'f'.repeat(40), ...oids.slice(0, 200).flatMap((o) => [near(o, 38), near(o, 4), near(o, 2)])].filter((o) => !contents.has(o));
  assert.ok(absent.length > 500);
  for (const oid of absent) assert.equal(store.has(oid), false, oid);
  store.close();
});

test('a pack index over 1 MiB is searched with small reads for its first 64 look-ups, then read whole: every object found, no other', () => {
  const { gitDir } = tempRepo();
  const { name, contents } = packOfBlobs(gitDir, 40_000);
  const idxBytes = statSync(join(gitDir, 'objects', 'pack', `${name}.idx`)).size;
  assert.ok(idxBytes > 1 << 20, `${idxBytes} bytes`);
  const oids = [...contents.keys()].sort();
  const absent = ['0'.repeat(40), 'f'.repeat(40), ...oids.slice(0, 20).map((o) => o.slice(0, 38) + (o.endsWith('00') ? '01' : '00'))].filter((o) => !contents.has(o));
  // Bytes this process has read (Linux): a look-up by reads reads a few entries, not the index.
  // (`has` looks up without reading the object, whose 64 KiB window of the pack would count.)
  const readSoFar = () => Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
  const store = new ObjectStore(gitDir);
  const before = readSoFar();
  for (const oid of oids.filter((_, i) => i % 1300 === 0)) assert.equal(store.has(oid), true, oid); // 31
  for (const oid of absent.slice(0, 10)) assert.equal(store.has(oid), false, oid); // twice each: \`has\` scans again
  assert.ok(readSoFar() - before < idxBytes / 8, `read ${readSoFar() - before} bytes for 51 look-ups in a ${idxBytes}-byte index`);
  assert.equal(store.readBlob(oids[7]).toString(), contents.get(oids[7]), 'read by small reads');
  // Past 64 look-ups the index is read whole; the answers stay the same.
  for (const oid of oids) assert.equal(store.readBlob(oid).toString(), contents.get(oid), oid);
  for (const oid of absent) assert.equal(store.has(oid), false, oid);
  store.close();
});

/** Whether a pack index is version 1 (no header: it starts with the fan-out). */
const isIdxV1 = (path: string) => readFileSync(path).readUInt32BE(0) !== 0xff744f63;

test('pack index version 1, as git writes it on request: the WAL is read whole (deltas too), appends and roll-ups go on over it', async () => {
  const { dir: repo, gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  for (let i = 0; i < 60; i++) await wal.append([comment(`n${i}`, DAY + i)], ACTOR_HEX);
  git(repo, ['update-ref', 'refs/heads/keep', (await wal.head())!]); // what repack -a keeps
  git(repo, ['-c', 'pack.indexVersion=1', 'repack', '-adfq']);
  const packDir = join(gitDir, 'objects', 'pack');
  const indexes = readdirSync(packDir).filter((n) => n.endsWith('.idx'));
  assert.ok(indexes.length === 1 && isIdxV1(join(packDir, indexes[0])));
  assert.equal((await new Wal(gitDir).readSince(null)).flatMap((c) => c.events).length, 60);
  // Enough appends for roll-ups: a version 1 pack has no CRCs, so its entries are rewritten.
  for (let i = 60; i < 60 + 3 * MAX_SMALL_PACKS; i++) await wal.append([comment(`n${i}`, DAY + i)], ACTOR_HEX);
  assert.equal((await new Wal(gitDir).readSince(null)).flatMap((c) => c.events).length, 60 + 3 * MAX_SMALL_PACKS);
  assert.ok(!existsSync(join(packDir, indexes[0])), 'the version 1 pack was rolled up with the small packs');
  fsckClean(repo);
});

test('a large pack index version 1 (searched by small reads, then whole): every object is found, no other', () => {
  const { dir: repo, gitDir } = tempRepo();
  const { name, contents } = packOfBlobs(gitDir, 50_000);
  const idx = join(gitDir, 'objects', 'pack', `${name}.idx`);
  rmSync(idx);
  git(repo, ['index-pack', '--index-version=1', join(gitDir, 'objects', 'pack', `${name}.pack`)]);
  assert.ok(isIdxV1(idx) && statSync(idx).size > 1 << 20);
  const store = new ObjectStore(gitDir);
  const oids = [...contents.keys()];
  const absent = Array.from({ length: 20 }, (_, i) => createHash('sha1').update(`absent ${i}`).digest('hex'));
  for (const oid of oids.filter((_, i) => i % 1000 === 0)) assert.equal(store.readBlob(oid).toString(), contents.get(oid), oid);
  for (const oid of oids) assert.equal(store.readBlob(oid).toString(), contents.get(oid), oid);
  for (const oid of absent) assert.equal(store.has(oid), false, oid);
  store.close();
});

test('a pack spanning many read windows: objects read in any order, and entries kept after reading on, are intact', () => {
  const { gitDir } = tempRepo();
  // 3 MiB of incompressible blobs: ~48 of the reader's 64 KiB windows, of which it caches 16 and reuses their memory.
  const blobs = Array.from({ length: 3000 }, () => randomBytes(1024));
  const pack = new PackBuilder();
  const oids = blobs.map((b) => pack.add('blob', b));
  pack.write(gitDir, { fsync: false });
  const store = new ObjectStore(gitDir);
  const order = oids.map((_, i) => (i * 1237) % oids.length); // jumps across the pack, back and forth
  for (const i of order) assert.deepEqual(store.readBlob(oids[i]), blobs[i], oids[i]);
  const [local] = store.localPacks();
  const entries = local.storedEntries();
  assert.equal(entries.length, blobs.length);
  for (const e of entries) assert.equal(crc32(e.bytes!), e.crc, `entry ${e.oid} as stored`);
});

// --- git's repack and gc running while grit writes (docs/wal.md, "Packs and git's repack") ---

/** git's own ways to delete packs and temporary files no ref reaches: what a user or a cron job runs. */
function repackAndPrune(repo: string): void {
  cli.git(repo, 'repack', '-a', '-d', '-f', '-q');
  cli.git(repo, 'gc', '--prune=now', '-q');
}

/**
 * Runs `grit` (in `run`, started with `GRIT_FAULT=<point>:pause:<file>` in its env or its
 * daemon's) and, each time it stops at the point, calls `atPause` with the count so far and lets
 * it go on: the window between two steps of a write made as wide as the test needs.
 */
async function pausing(file: string, run: Promise<cli.GritResult>, atPause: (n: number) => void): Promise<cli.GritResult> {
  let done = false;
  void run.finally(() => (done = true));
  for (let n = 0; !done; await new Promise((r) => setTimeout(r, 5))) {
    if (!existsSync(file)) continue;
    atPause(++n);
    rmSync(file);
  }
  return run;
}

const pauseFile = (): string => join(cli.tempDir('grit-pause-'), 'paused');
const packNames = (gitDir: string): string[] => readdirSync(join(gitDir, 'objects', 'pack'));

/** Every acknowledged issue is in the WAL and the store, git fsck is clean, and no `.keep` or temporary file is left. */
function wholeAfterRepack(repo: string, acked: readonly string[], env: NodeJS.ProcessEnv = {}): void {
  cli.fsckClean(repo);
  assert.equal(cli.git(repo, 'rev-list', '--count', 'refs/grit/wal').trim(), String(acked.length));
  const ids = cli.gritOk(repo, ['issue', 'list'], { env }).issues.map((x: { issue_id: string }) => x.issue_id);
  assert.deepEqual(ids.sort(), [...acked].sort());
  assert.deepEqual(packNames(join(repo, '.git')).filter((n) => n.endsWith('.keep') || n.startsWith('tmp_')), []);
  const errors = cli.gritDoctor(repo, [], { env }).checks.filter((c: { status: string }) => c.status === 'error');
  assert.deepEqual(errors, []);
}

test('git repack -a -d and gc --prune=now between an append writing its pack and moving the WAL ref: the pack is kept, the WAL stays whole', async () => {
  const repo = cli.tempRepo();
  await cli.gritInit(repo);
  const acked = [(await cli.gritSetup(repo, ['issue', 'create', '--title', 'before'])).issue_id];
  const file = pauseFile();
  let kept: string[] = [];
  const r = await pausing(file, cli.gritAsync(repo, ['issue', 'create', '--title', 'during', '--json'], { env: { GRIT_FAULT: `wal:after-objects:pause:${file}` } }), () => {
    kept = packNames(join(repo, '.git')).filter((n) => n.endsWith('.keep'));
    repackAndPrune(repo);
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(kept.length, 1, 'the new pack had its .keep while the ref was not yet moved');
  acked.push(r.json.data.issue_id);
  wholeAfterRepack(repo, acked);
});

test('the same through the daemon: its worker thread writes the pack, git repacks in the window, nothing is lost', async () => {
  const repo = cli.tempRepo();
  await cli.gritInit(repo);
  const acked = [(await cli.gritSetup(repo, ['issue', 'create', '--title', 'before'])).issue_id];
  const file = pauseFile();
  const daemon = await startDaemon({ env: { GRIT_FAULT: `wal:after-objects:pause:${file}` } });
  try {
    let pauses = 0;
    for (const title of ['one', 'two']) {
      const r = await pausing(file, cli.gritAsync(repo, ['issue', 'create', '--title', title, '--json'], { env: daemon.env }), () => {
        pauses++;
        repackAndPrune(repo);
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      acked.push(r.json.data.issue_id);
    }
    assert.equal(pauses, 2, 'each append went through the daemon and was repacked under');
    wholeAfterRepack(repo, acked, daemon.env);
  } finally {
    await daemon.stop();
  }
});

test('gc --prune=now deleting a new pack\'s temporary files: the write is retried; when they go every time, a clear io_error and nothing appended', async () => {
  const repo = cli.tempRepo();
  await cli.gritInit(repo);
  const acked = [(await cli.gritSetup(repo, ['issue', 'create', '--title', 'before'])).issue_id];
  const file = pauseFile();
  const env = { GRIT_FAULT: `pack:tmp-written:pause:${file}` };
  const tmpFiles = () => packNames(join(repo, '.git')).filter((n) => n.startsWith('tmp_pack_grit_')).length;
  // Once: the second attempt goes through.
  let seen = 0;
  const once = await pausing(file, cli.gritAsync(repo, ['issue', 'create', '--title', 'retried', '--json'], { env }), (n) => {
    if (n > 1) return;
    seen = tmpFiles();
    cli.git(repo, 'gc', '--prune=now', '-q');
  });
  assert.equal(seen, 1, 'the temporary pack was there for gc to delete');
  assert.equal(once.code, 0, once.stdout + once.stderr);
  acked.push(once.json.data.issue_id);
  // Every time: a structured error naming what happened, exit 1, and the WAL as it was.
  const always = await pausing(file, cli.gritAsync(repo, ['issue', 'create', '--title', 'never', '--json'], { env }), () => cli.git(repo, 'gc', '--prune=now', '-q'));
  assert.equal(always.code, 1, always.stdout + always.stderr);
  assert.equal(always.json.error.code, 'io_error');
  assert.match(always.json.error.message, /temporary files of a new pack .* were deleted/);
  assert.doesNotMatch(always.stdout + always.stderr, /ENOENT|\n\s+at /);
  const human = await pausing(file, cli.gritAsync(repo, ['issue', 'create', '--title', 'never'], { env }), () => cli.git(repo, 'gc', '--prune=now', '-q'));
  assert.match(human.stderr, /^hint: .*git gc --prune=now/m);
  wholeAfterRepack(repo, acked);
});

const FOREIGN_KEEP = 'pack-0000000000000000000000000000000000000000.keep';

test('a writer killed while its pack is kept: the .keep goes with the next write, or with doctor --fix', async () => {
  const repo = cli.tempRepo();
  // A group's repository: the .keep a writer with a private umask leaves is readable by the others.
  git(repo, ['config', 'core.sharedRepository', 'group']);
  await cli.gritInit(repo);
  const gitDir = join(repo, '.git');
  const packDir = join(gitDir, 'objects', 'pack');
  const killAfterObjects = () => {
    const umask = process.umask(0o077);
    let r: cli.GritResult;
    try {
      r = cli.grit(repo, ['issue', 'create', '--title', 'killed', '--json'], { env: { GRIT_FAULT: 'wal:after-objects' } });
    } finally {
      process.umask(umask);
    }
    assert.equal(r.code, -1, 'killed');
    const [keep] = packNames(gitDir).filter((n) => n.endsWith('.keep') && n !== FOREIGN_KEEP);
    assert.ok(keep, 'the killed writer left its .keep');
    assert.equal(statSync(join(packDir, keep)).mode & 0o777, 0o660);
    // Left alone long enough to count as left behind (a live writer holds it for milliseconds).
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(packDir, keep), old, old);
    return keep;
  };
  // A .keep that is not grit's is never touched.
  writeFileSync(join(packDir, FOREIGN_KEEP), 'mine\n');
  const first = killAfterObjects();
  await cli.gritSetup(repo, ['issue', 'create', '--title', 'next']);
  assert.deepEqual(packNames(gitDir).filter((n) => n.endsWith('.keep')), [FOREIGN_KEEP]);
  assert.ok(!packNames(gitDir).includes(first));
  const second = killAfterObjects();
  const listed = cli.gritDoctor(repo).checks.find((c: { id: string }) => c.id === 'temp_files');
  assert.match(listed.message, /1 temporary file/, JSON.stringify(listed));
  cli.gritDoctor(repo, ['--fix']);
  assert.ok(!packNames(gitDir).includes(second));
  assert.ok(packNames(gitDir).includes(FOREIGN_KEEP));
  rmSync(join(packDir, FOREIGN_KEEP));
  cli.fsckClean(repo);
});

// --- two writers of the same objects (docs/wal.md, "Two writers of the same objects") ---

test('a builder of 200k objects copies whole (the salted copy a taken pack name gets)', () => {
  const builder = new PackBuilder();
  const bytes = Buffer.alloc(1);
  for (let i = 0; i < 200_000; i++) builder.addStored(i.toString(16).padStart(40, '0'), bytes, 0);
  assert.equal(builder.clone().count, 200_000);
});

/**
 * One WAL commit's objects, the same bytes on every call: what two rebases of the same events in
 * the same second write (commit times are whole seconds), and so a pack of the same name.
 */
function sameObjects(): { pack: PackBuilder; commit: string } {
  const pack = new PackBuilder();
  const chunk = encodeChunk([comment('the same events')]);
  const events = writeEventsTree(pack.sink(), chunk.bytes, toHex(chunk.hash), DAY);
  const commit = writeWalCommit(pack.sink(), events, { actorHex: ACTOR_HEX, chunkHash: toHex(chunk.hash), parent: null, eventCount: 1, timestamp: DAY });
  return { pack, commit };
}

const keeps = (gitDir: string): string[] => packNames(gitDir).filter((n) => n.endsWith('.keep'));

/**
 * Two writers of the same objects in this process: A writes its pack; while A is in flight, B
 * writes its own and moves the ref (or, with `bLoses`, fails its compare-and-swap), and is done;
 * git repacks and prunes; then A tries the ref. Whichever wins, the ref's commit must be there.
 */
async function twoWriters(bLoses: boolean): Promise<void> {
  const { dir: repo, gitDir } = tempRepo();
  const a = sameObjects();
  const b = sameObjects();
  assert.equal(a.commit, b.commit);
  let keptForA: string[] = [];
  const movedA = await publishPack(new ObjectStore(gitDir), a.pack, async () => {
    // A compare-and-swap that expects a head the ref does not hold: a definite loss.
    const movedB = await publishPack(new ObjectStore(gitDir), b.pack, () => casRef(gitDir, WAL_REF, bLoses ? 'f'.repeat(40) : null, b.commit));
    assert.equal(movedB, !bLoses);
    keptForA = keeps(gitDir);
    repackAndPrune(repo);
    return casRef(gitDir, WAL_REF, null, a.commit);
  });
  assert.equal(movedA, bLoses);
  assert.equal(git(repo, ['rev-list', 'refs/grit/wal']).trim(), a.commit);
  assert.equal(keptForA.length, 1, 'A\'s pack was still kept when B was done');
  fsckClean(repo);
  assert.deepEqual(keeps(gitDir), []);
}

test('two writers of the same objects (one pack name), the other winning while one is in flight, git repacking in between: the loser deletes nothing, the WAL stays whole', () => twoWriters(false));

test('two writers of the same objects (one pack name), the other losing while one is in flight: it leaves the winner\'s pack and .keep, which keeps it through a repack until its ref moves', () => twoWriters(true));

test('two syncs of one clone at once rebase the same commits in the same second (one pack name); one finishes before the other: the WAL stays whole', { timeout: 180_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  const gitDir = join(a, '.git');
  await cli.gritSetup(a, ['issue', 'create', '--title', 'x']);
  await cli.gritSetup(a, ['sync']);
  await cli.gritSetup(b, ['sync']);
  // Commit times are whole seconds: two rebases that run in different ones write different packs,
  // and the round is tried again (rarely needed: both start at the top of a second).
  let collisions = 0;
  for (let round = 0; round < 5 && collisions === 0; round++) {
    await cli.gritSetup(b, ['issue', 'create', '--title', `b${round}`]);
    await cli.gritSetup(b, ['sync']); // the remote moved on: both syncs of A rebase its local event
    await cli.gritSetup(a, ['issue', 'create', '--title', `a${round}`]);
    const files = [pauseFile(), pauseFile()];
    await untilPast(Math.ceil(Date.now() / 1000) * 1000);
    const runs = files.map((f) => cli.gritAsync(a, ['sync', '--json'], { env: { GRIT_FAULT: `pack:tmp-written:pause:${f}` } }));
    await until('both syncs wrote their rebased commits', () => files.every((f) => existsSync(f)));
    const written = packNames(gitDir).filter((n) => n.startsWith('tmp_pack_grit_')).map((n) => readFileSync(join(gitDir, 'objects', 'pack', n)));
    if (written.length === 2 && written[0].equals(written[1])) collisions++;
    // One wins its compare-and-swap and finishes; only then does the other go on (and lose).
    const done: cli.GritResult[] = [];
    for (const [i, run] of runs.entries()) done.push(await pausing(files[i], run, () => {}));
    fsckClean(a);
    for (const r of done) assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await cli.gritSetup(a, ['issue', 'list'])).issues.length, 2 * round + 3);
  }
  assert.equal(collisions, 1, 'the two syncs wrote packs of the same name in one round');
  await cli.gritSetup(a, ['sync']);
  await cli.gritSetup(b, ['sync']);
  assert.equal(cli.git(a, 'rev-parse', 'refs/grit/wal'), cli.git(b, 'rev-parse', 'refs/grit/wal'));
  assert.deepEqual(keeps(gitDir), []);
});
