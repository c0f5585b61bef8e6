#!/usr/bin/env node
// Throughput and latency through GritClient against a private warm daemon: durable writes
// (issue create) and reads (issue show) at 1, 8 and 64 concurrent clients, each for a fixed time.
// Usage: node bench/throughput.js [seconds=3]
import { printTable, startDaemon, tempRepo } from './lib.js';
import { runLocal } from '../dist/src/commands/run.js';

const seconds = Number(process.argv[2] ?? 3);
const repo = tempRepo();
await runLocal('Init', { no_agents_md: true }, { cwd: repo });
const daemon = await startDaemon();
const target = { repoRoot: repo };

async function measure(kind, clientsN) {
  const clients = await Promise.all(Array.from({ length: clientsN }, () => daemon.client()));
  const { issue_id } = await clients[0].issueCreate({ title: 'read me' }, target);
  const op = kind === 'write' ? (c) => c.issueCreate({ title: 'bench' }, target) : (c) => c.issueShow(issue_id, target);
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
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(2);
  return { op: kind === 'write' ? 'durable write' : 'read', clients: clientsN, per_s: Math.round(latencies.length / elapsed), p50_ms: pct(0.5), p99_ms: pct(0.99) };
}

const rows = [];
for (const kind of ['read', 'write']) for (const n of [1, 8, 64]) rows.push(await measure(kind, n));
await daemon.stop();
printTable(rows);
