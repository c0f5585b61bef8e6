/**
 * V8 settings for a process that runs one command in itself and exits (a CLI run without the
 * daemon), set before the command runs.
 *
 * No pretenuring. V8 allocates the objects of an allocation site straight into the old
 * generation once most of that site's objects were found alive by a scavenge. A WAL replay
 * decodes its events a segment of commits at a time: a scavenge that falls within one finds all of
 * the segment's events alive, and from then on the sites that make events may be pretenured, so
 * that the next tens of thousands of events, dead a moment after they were gathered, fill the old
 * generation until a full collection. In about half of all `grit rebuild` runs that made the main
 * thread's garbage collection three times as long (docs/performance.md, "Pretenuring").
 * A process that lives for one command has no long-lived objects for pretenuring to help.
 *
 * No background threads of V8's own for optimizing compiles, scavenges and sweeping. A long
 * command keeps two or three threads of its own busy (a rebuild's main thread, its WAL reader and
 * its fold helper) on machines of two cores; V8's background jobs for them then take their cores
 * and add the cost of handing work over: done on the thread that needs them, a 100k-event rebuild
 * took ~120 ms less from the WAL and ~185 ms less from a snapshot, a short command no time more
 * (docs/performance.md, "V8's background threads"). Set while this thread already runs, they
 * bind threads started afterwards (the reader, the helper) from their start, and this thread where
 * V8 reads them as it goes (scavenges, sweeping). Marking flags are left alone: V8 aborts at the
 * next full collection after `--no-parallel-marking` is set at run time.
 */
import { setFlagsFromString } from 'node:v8';

export function tuneV8ForOneCommand(): void {
  setFlagsFromString('--no-allocation-site-pretenuring --no-concurrent-recompilation --no-parallel-scavenge --no-concurrent-sweeping');
}
