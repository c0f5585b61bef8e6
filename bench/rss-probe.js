// Preloaded (`node --import`) into a process bench/memory.js measures: at exit, writes the
// process's peak resident set size in KiB to $GRIT_BENCH_RSS_OUT.
import { writeFileSync } from 'node:fs';

process.on('exit', () => writeFileSync(process.env.GRIT_BENCH_RSS_OUT, String(process.resourceUsage().maxRSS)));
