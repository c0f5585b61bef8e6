import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEvent, type Event } from '../../src/core/event.js';
import { contextIssueId, PROJECT_CONTEXT_ID } from '../../src/core/ids.js';
import type { EventKind } from '../../src/core/kinds.js';
import { Store } from '../../src/core/store.js';
import { pick, rng, shuffle } from '../helpers/random.js';
import { tempDir } from '../helpers/repo.js';

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
