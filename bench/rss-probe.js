// Preloaded (`node --import`) into a process bench/memory.js measures: at exit, writes the
// process's peak resident set size in KiB to $GRIT_BENCH_RSS_OUT. On Linux that is VmHWM from
// /proc: getrusage's maxrss survives exec, so a child of a large parent would report the
// parent's peak.
import { readFileSync, writeFileSync } from 'node:fs';

function peakKiB() {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
  } catch {
    return process.resourceUsage().maxRSS;
  }
}

process.on('exit', () => writeFileSync(process.env.GRIT_BENCH_RSS_OUT, String(peakKiB())));
