/**
 * A pull applied a segment of two remote commits at a time (none kept from validating), as its own process, for the crash
 * test of segments.test.ts: `node _segment-pull.js <clone>` (GRIT_FAULT kills it part-way).
 */
import { syncWith } from '../../src/commands/sync.js';
import { RepoContext } from '../../src/commands/context.js';

const ctx = RepoContext.open({ cwd: process.argv[2] });
try {
  process.stdout.write(`${JSON.stringify(await syncWith(ctx, { remote: 'origin', pull: true, push: false, segmentCommits: 2, keepEvents: 0 }))}\n`);
} finally {
  await ctx.close();
}
