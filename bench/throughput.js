#!/usr/bin/env node
// Throughput and latency through GritClient against a private warm daemon: durable writes (issue
// create: answered once the event is in the WAL and the store) and reads (issue show) at 1, 8 and
// 64 concurrent clients, each for a fixed time. The baseline, measured in the same run, is the
// daemon's round trip for a request that does no work (`DaemonStatus`, answered by the
// supervisor): the ceiling of what the socket, framing and CBOR allow.
// Usage: node bench/throughput.js [--quick]
import { isMain, printTable, row, startDaemon, tempRepo } from './lib.js';
import { runLocal } from '../dist/src/commands/run.js';

const TARGETS = { read: '>= 10000 /s', write: '>= 5000 /s' };

export async function run({ quick = false } = {}) {
  const seconds = quick ? 0.25 : 3;
  const repo = tempRepo();
  await runLocal('Init', { no_agents_md: true }, { cwd: repo });
  const { issue_id: readMe } = await runLocal('IssueCreate', { title: 'read me' }, { cwd: repo });
  const daemon = await startDaemon();
  const target = { repoRoot: repo };
  const rows = [];
  try {
    const ops = {
      noop: (c) => c.request('DaemonStatus', {}, target),
      read: (c) => c.issueShow(readMe, target),
      write: (c) => c.issueCreate({ title: 'bench' }, target),
    };
    for (const n of [1, 8, 64]) {
      const floor = await measure(daemon, ops.noop, n, seconds);
      for (const kind of ['read', 'write']) {
        const m = await measure(daemon, ops[kind], n, seconds);
        const name = `${kind === 'write' ? 'durable writes' : 'reads'}, ${n} client${n > 1 ? 's' : ''}`;
        const opts = { baseline: 'no-op round trip', baselineValue: floor.perSecond, target: n === 64 ? TARGETS[kind] : undefined };
        rows.push(row('throughput', name, m.perSecond, '/s', opts));
        rows.push(row('throughput', `${name}: p50`, m.p50, 'ms'), row('throughput', `${name}: p99`, m.p99, 'ms'));
      }
    }
  } finally {
    await daemon.stop();
  }
  return rows;
}

async function measure(daemon, op, clientsN, seconds) {
  const clients = await Promise.all(Array.from({ length: clientsN }, () => daemon.client()));
  for (const c of clients) await op(c); // warm
  const latencies = [];
  const end = Date.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (Date.now() < end) {
        const s = performance.now();
        await op(c);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  for (const c of clients) c.close();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  return { perSecond: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
