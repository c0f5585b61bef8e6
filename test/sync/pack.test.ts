import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeTree } from '../../src/git/object-encoding.js';
import { ObjectStore } from '../../src/git/objects.js';
import { PackBuilder } from '../../src/git/pack-write.js';
import { generateWal } from '../helpers/gen-events.js';
import { fsckClean, git, gritOk, tempRepo, gritSetup } from '../helpers/repo.js';
import { eventIds, network, walEvents } from './_helpers.js';

test('PackBuilder writes a pack and index that git and ObjectStore read', () => {
  const repo = tempRepo();
  const gitDir = join(repo, '.git');
  const pack = new PackBuilder();
  const big = Buffer.alloc(200_000, 7); // a size needing a multi-byte entry header
  const blobs = [Buffer.from('hello\n'), Buffer.alloc(0), big, ...Array.from({ length: 300 }, (_, i) => Buffer.from(`blob ${i}\n`))].map((b) =>
    pack.add('blob', b),
  );
  assert.equal(pack.add('blob', Buffer.from('hello\n')), blobs[0]); // deduplicated
  const tree = pack.add('tree', encodeTree(blobs.slice(0, 3).map((oid, i) => ({ mode: '100644', name: `f${i}`, oid }))));
  assert.equal(pack.count, 304);
  const name = pack.write(gitDir)!;
  assert.ok(readdirSync(join(gitDir, 'objects', 'pack')).includes(`${name}.idx`));
  git(repo, 'verify-pack', join(gitDir, 'objects', 'pack', `${name}.idx`));
  assert.equal(git(repo, 'cat-file', '-p', blobs[0]), 'hello\n');
  assert.equal(git(repo, 'cat-file', '-s', blobs[2]).trim(), '200000');
  assert.match(git(repo, 'ls-tree', tree), /f2/);
  const store = new ObjectStore(gitDir);
  assert.deepEqual(store.readBlob(blobs[2]), big);
  assert.equal(store.readBlob(blobs[300]).toString(), 'blob 297\n');
  fsckClean(repo);
});

test('a large rebase (300 local commits) is written as one pack; fsck clean, nothing lost', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  const ga = await generateWal(join(a, '.git'), { seed: 11, events: 200, actors: [{ id: 'aa'.repeat(16) }], batchMax: 1 });
  await gritSetup(a, ['sync']);
  await generateWal(join(b, '.git'), { seed: 12, events: 300, actors: [{ id: 'bb'.repeat(16) }], batchMax: 1, startTs: ga.nextTs });
  const packsBefore = readdirSync(join(b, '.git', 'objects', 'pack')).length;
  const s = await gritSetup(b, ['sync']);
  assert.deepEqual([s.pulled, s.events_rebased, s.pushed], [200, 300, 300]);
  assert.ok(readdirSync(join(b, '.git', 'objects', 'pack')).length > packsBefore);
  fsckClean(b);
  git(remote, 'fsck', '--full', '--no-progress');
  const ids = eventIds(await walEvents(remote));
  assert.equal(ids.length, 500);
  assert.equal(new Set(ids).size, 500);
  assert.equal((await gritSetup(a, ['sync'])).pulled, 300);
  assert.deepEqual(await gritSetup(a, ['issue', 'list']), await gritSetup(b, ['issue', 'list']));
  assert.equal(gritOk(b, ['db', 'stats']).event_count, 500);
});
