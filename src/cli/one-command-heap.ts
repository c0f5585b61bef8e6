/**
 * V8 settings for a process that runs one command in itself and exits (a CLI run without the
 * daemon).
 *
 * V8 allocates the objects of an allocation site straight into the old generation
 * ("pretenuring") once most of that site's objects were found alive by a scavenge. A WAL replay
 * decodes its events a segment of commits at a time: a scavenge that falls within one finds all of
 * the segment's events alive, and from then on the sites that make events may be pretenured, so
 * that the next tens of thousands of events, dead a moment after they were gathered, fill the old
 * generation until a full collection. In about half of all `grit rebuild` runs that made the main
 * thread's garbage collection three times as long (docs/performance.md, "Pretenuring").
 * A process that lives for one command has no long-lived objects for pretenuring to help.
 */
import { setFlagsFromString } from 'node:v8';

export function tuneHeapForOneCommand(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
