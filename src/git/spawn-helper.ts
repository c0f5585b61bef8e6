/**
 * A daemon's spawn helper: a small process, started with the daemon, that runs git for its
 * workers (src/git/spawn-helper-child.ts). Spawning a process forks the one that spawns it, and
 * forking copies its page tables: from a daemon holding hundreds of megabytes that took ~20 ms of
 * a `git fetch` that itself takes ~130 ms, and held up the daemon's other threads meanwhile
 * (docs/performance.md, Sync). Forked from the small helper it takes a few.
 *
 * Workers reach the helper on a Unix socket in the daemon's run directory, one JSON line per
 * request and per answer. Nothing depends on it: a worker that cannot reach it (not started yet,
 * gone) spawns git itself, as the CLI always does. Only a request the helper was given and did
 * not answer (it was killed meanwhile) fails, with `git_error`: git may have run.
 */
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { childProcess, net } from '../core/builtins.js';
import { GritError } from '../core/errors.js';
import { gitUnavailable, spawnGit, type GitCall, type GitRun } from './git-process.js';

/** What the helper answers: `id` is the request's. */
export type HelperAnswer = { id: number } & ({ run: GitRun } | { error: string });

/** What a worker asks of the helper. */
export interface HelperRequest {
  id: number;
  call: GitCall;
}

/**
 * Hands each JSON line read off `socket` to `take`, in order (both ends of the helper's socket
 * talk this way). A line that is not JSON is not the other end talking: the connection is ended.
 */
export function readJsonLines(socket: Socket, take: (value: unknown) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (data: string) => {
    buffered += data;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      let value: unknown;
      try {
        value = JSON.parse(buffered.slice(0, nl));
      } catch {
        socket.destroy();
        return;
      }
      buffered = buffered.slice(nl + 1);
      take(value);
    }
  });
}

// '../git/': right from this module and from the bundle in dist/src/commands/ alike.
const CHILD = fileURLToPath(new URL('../git/spawn-helper-child.js', import.meta.url));

/** A spawn helper process: `exited` once it has ended (stopped, killed, or it could not listen). */
export interface SpawnHelper {
  readonly pid: number | undefined;
  readonly exited: boolean;
  stop(): void;
}

/** Starts a spawn helper listening on `socketPath`; it ends when this process does (its stdin closes). */
export function startSpawnHelper(socketPath: string): SpawnHelper {
  const child = childProcess().spawn(process.execPath, [CHILD, socketPath], { stdio: ['pipe', 'ignore', 'ignore'] });
  let exited = false;
  child.on('error', () => (exited = true)); // workers then spawn git themselves
  child.on('exit', () => (exited = true));
  child.unref();
  return {
    pid: child.pid,
    get exited() {
      return exited;
    },
    stop: () => child.stdin!.end(),
  };
}

let helperPath: string | null = null;
let connection: HelperConnection | null = null;

/** From now on this thread runs git through the helper at `socketPath` (null: spawns it itself). */
export function useSpawnHelper(socketPath: string | null): void {
  helperPath = socketPath;
  connection?.close();
  connection = null;
}

/** `call` run by the helper, or null when this thread has none to use (the caller spawns git itself). */
export function viaSpawnHelper(call: GitCall): Promise<GitRun> | null {
  if (helperPath === null) return null;
  if (connection === null || connection.closed) connection = new HelperConnection(helperPath);
  return connection.run(call);
}

interface Waiting {
  call: GitCall;
  resolve: (r: GitRun) => void;
  reject: (e: unknown) => void;
}

class HelperConnection {
  private readonly socket: Socket;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private connected = false;
  closed = false;

  constructor(path: string) {
    this.socket = net().createConnection(path);
    this.socket.unref(); // only a request in flight keeps this thread alive (`run`)
    this.socket.on('connect', () => (this.connected = true));
    readJsonLines(this.socket, (answer) => this.receive(answer as HelperAnswer)); // a garbled answer fails what was asked ('close')
    this.socket.on('error', () => undefined); // 'close' follows
    this.socket.on('close', () => this.fail());
  }

  run(call: GitCall): Promise<GitRun> {
    const id = this.nextId++;
    const answer = new Promise<GitRun>((resolve, reject) => this.waiting.set(id, { call, resolve, reject }));
    this.socket.ref();
    this.socket.write(JSON.stringify({ id, call } satisfies HelperRequest) + '\n');
    return answer;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private receive(answer: HelperAnswer): void {
    const w = this.waiting.get(answer.id);
    if (!w) return;
    this.waiting.delete(answer.id);
    if ('run' in answer) w.resolve(answer.run);
    else w.reject(gitUnavailable(answer.error)); // the helper's spawnGit said why
    if (this.waiting.size === 0) this.socket.unref();
  }

  /**
   * The helper is gone (or never was). Requests it cannot have received (never connected) are run
   * here instead; those it may have run fail, since running them again could run them twice.
   */
  private fail(): void {
    this.closed = true;
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      if (this.connected) w.reject(new GritError('git_error', "the daemon's git helper stopped while running git", { suggestion: 'run the command again' }));
      else spawnGit(w.call).then(w.resolve, w.reject);
    }
  }
}
