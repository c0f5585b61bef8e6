/** Sync test helpers: a bare "remote" on disk and several clones of it, each with grit set up. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Event } from '../../src/core/event.js';
import { toHex } from '../../src/core/hex.js';
import { Wal } from '../../src/git/wal.js';
import { git, gritInit, gritOk, tempDir, tempRepo } from '../helpers/repo.js';

export interface Network {
  /** The bare repository every clone has as `origin`. */
  remote: string;
  clones: string[];
}

export async function network(clones: number, opts: { init?: boolean } = {}): Promise<Network> {
  const remote = join(tempDir('grit-remote-'), 'remote.git');
  git(tempDir(), 'init', '-q', '--bare', remote);
  git(remote, 'config', 'gc.auto', '0');
  const out: string[] = [];
  for (let i = 0; i < clones; i++) {
    const dir = tempRepo();
    git(dir, 'config', 'gc.auto', '0');
    git(dir, 'remote', 'add', 'origin', remote);
    if (opts.init !== false) await gritInit(dir);
    out.push(dir);
  }
  return { remote, clones: out };
}

/**
 * Two clones of one remote in sync on one issue ("honest"), the second holding a local comment it
 * has not pushed yet: the scene for hostile-remote tests (what a bad remote must not disturb).
 */
export async function pairWithLocalChange(): Promise<{ remote: string; a: string; b: string; id: string; head: string }> {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  const id = gritOk(a, ['issue', 'create', '--title', 'honest']).issue_id;
  gritOk(a, ['sync']);
  gritOk(b, ['sync']);
  gritOk(b, ['issue', 'comment', id, '--body', 'local, not yet pushed']);
  return { remote, a, b, id, head: git(remote, 'rev-parse', 'refs/grit/wal').trim() };
}

/** Plain git with binary stdin/stdout (for building objects with plumbing). */
export function gitBytes(cwd: string, args: string[], input?: Uint8Array | string): Buffer {
  const r = spawnSync('git', args, { cwd, input });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** `git for-each-ref <prefix>` as {ref: oid}. */
export function refs(dir: string, prefix = 'refs/'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of git(dir, 'for-each-ref', '--format=%(refname) %(objectname)', prefix).split('\n')) {
    if (!line) continue;
    const [ref, oid] = line.split(' ');
    out[ref] = oid;
  }
  return out;
}

/** Every event of a repository's WAL (its git dir: a bare repo or `<clone>/.git`), in WAL order. */
export async function walEvents(gitDir: string): Promise<Event[]> {
  const commits = await new Wal(gitDir).readSince(null);
  return commits.flatMap((c) => c.events);
}

export const eventIds = (events: readonly Event[]): string[] => events.map((e) => toHex(e.event_id));

/** `issue show --json` of one issue: the issue and the set of its event ids. */
export function shown(clone: string, id: string): { issue: unknown; eventIds: string[] } {
  const d = gritOk(clone, ['issue', 'show', id]);
  return { issue: d.issue, eventIds: d.events.map((e: any) => e.event_id).sort() };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sets `lock_policy` in a clone's `.git/grit/config.toml`. */
export function setLockPolicy(clone: string, policy: 'off' | 'warn' | 'require'): void {
  const path = join(clone, '.git', 'grit', 'config.toml');
  const text = readFileSync(path, 'utf8');
  const next = /^lock_policy\s*=.*$/m.test(text)
    ? text.replace(/^lock_policy\s*=.*$/m, `lock_policy = "${policy}"`)
    : `lock_policy = "${policy}"\n${text}`;
  writeFileSync(path, next);
}

/** A remote that accepts every connection and never says a word: `url('http')`, `url('git')`. */
export interface SilentRemote {
  url(scheme: 'http' | 'git'): string;
  /** Connections ever accepted. */
  accepted(): number;
  /** Resolves once as many connections as `count` are open (whoever held the others is gone); fails after `ms`. */
  open(count: number, ms?: number): Promise<void>;
  close(): void;
}

export async function silentRemote(): Promise<SilentRemote> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.resume(); // read and drop what git says, so that its end is seen when it goes
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: (scheme) => `${scheme}://127.0.0.1:${port}/silent.git`,
    accepted: () => accepted,
    async open(count, ms = 10_000) {
      const end = Date.now() + ms;
      while (sockets.size !== count) {
        if (Date.now() > end) throw new Error(`the silent remote has ${sockets.size} connections open, not ${count}, after ${ms} ms`);
        await sleep(25);
      }
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
