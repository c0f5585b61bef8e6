import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEvent, type Event } from '../../src/core/event.js';
import { contextIssueId, PROJECT_CONTEXT_ID } from '../../src/core/ids.js';
import type { EventKind } from '../../src/core/kinds.js';
import { Store } from '../../src/core/store.js';
import { pick, rng, shuffle } from '../helpers/random.js';
import { tempDir } from '../helpers/repo.js';
import { oneStampEach, shifted, SHIFTS } from '../helpers/shifted-events.js';

const PATHS = ['src/a.ts', 'src/b.ts', 'README.md'];
const actors = [1, 2, 3].map((n) => new Uint8Array(16).fill(0x20 + n));

/**
 * Context events with few distinct timestamps (ties broken by actor and event id), some filed under
 * an issue id that is not theirs (newer than the rest, so a wrong winner would show).
 */
function contextEvents(rand: () => number): Event[] {
  const out: Event[] = [];
  for (let i = 0; i < 60; i++) {
    const ts = 1000 + Math.floor(rand() * 5);
    const actor = pick(actors, rand);
    const misfiled = rand() < 0.2;
    if (rand() < 0.5) {
      const path = pick(PATHS, rand);
      const kind: EventKind = {
        type: 'ContextUpdated',
        path,
        language: 'typescript',
        symbols: [{ name: `fn${i}`, kind: 'function', line_start: 1, line_end: 2 }],
        summary: `s${i}`,
        content_hash: new Uint8Array(32).fill(i),
      };
      const issue = misfiled ? contextIssueId(`${path}.other`) : contextIssueId(path);
      out.push(makeEvent({ issue_id: issue, actor, ts_unix_ms: misfiled ? ts + 10 : ts, parent: null, kind }));
    } else {
      const kind: EventKind = { type: 'ProjectContextUpdated', key: pick(['lang', 'build'], rand), value: `v${i}` };
      out.push(makeEvent({ issue_id: misfiled ? contextIssueId('x') : PROJECT_CONTEXT_ID, actor, ts_unix_ms: misfiled ? ts + 10 : ts, parent: null, kind }));
    }
  }
  return out;
}

async function contextOf(apply: (store: Store) => void) {
  const store = Store.open(tempDir());
  try {
    apply(store);
    return {
      files: [...store.context.filesUnder('')],
      project: store.context.projectEntries(),
      symbols: store.context.query('fn', 100).hits,
    };
  } finally {
    await store.close();
  }
}

test('context events applied together leave what applying each in turn leaves, in any order (50 seeds)', async () => {
  for (let seed = 1; seed <= 50; seed++) {
    const rand = rng(seed);
    const events = contextEvents(rand);
    const oneByOne = await contextOf((store) => {
      for (const e of events) store.context.apply(e);
    });
    const together = await contextOf((store) => store.context.applyAll(shuffle([...events], rand)));
    assert.deepEqual(together, oneByOne, `seed ${seed}`);
    assert.ok(oneByOne.files.length > 0 && oneByOne.project.length > 0);
  }
});

/** Context entries without what moving their events' timestamps changes: the timestamps and event ids. */
const shape = (context: Awaited<ReturnType<typeof contextOf>>) =>
  JSON.stringify(context, (k, v) => (['updated_ts', 'ts_exact', 'event_id'].includes(k) ? undefined : v));

test('context stamped across 2^53 and up to 2^64 - 1 keeps the entries the same events stamped below 2^53 keep, applied together or in turn (30 seeds x 3 shifts)', async () => {
  for (let seed = 1; seed <= 30; seed++) {
    const rand = rng(seed);
    const events = oneStampEach(contextEvents(rand));
    const near = shape(await contextOf((store) => store.context.applyAll(events)));
    for (const by of SHIFTS) {
      const far = shifted(events, by);
      const oneByOne = await contextOf((store) => {
        for (const e of shuffle([...far], rand)) store.context.apply(e);
      });
      assert.ok(oneByOne.project.some((e) => e.ts_exact !== undefined), `seed ${seed}, +${by}`);
      assert.equal(shape(oneByOne), near, `seed ${seed}, +${by}`);
      assert.deepEqual(await contextOf((store) => store.context.applyAll(shuffle([...far], rand))), oneByOne, `seed ${seed}, +${by}`);
    }
  }
});
