/**
 * `grit sync` on the git level (SPEC §3, docs/sync.md): fetch `refs/grit/*` into
 * `refs/grit-remote/<remote>/`, validate the remote's new WAL commits, then fast-forward the
 * local WAL or re-append the local-only events on top of the remote head (auto-rebase), and push
 * fast-forward only, retrying with backoff when the remote moves in between. The local WAL is
 * only ever moved by compare-and-swap from the head this sync read, never forced.
 */
import { GritError } from '../core/errors.js';
import { CopyCounter, type Event } from '../core/event.js';
import { loadFastHash } from '../core/hash.js';
import { toHex } from '../core/hex.js';
import { terminalProgress, type Progress, type ProgressSink } from '../core/progress.js';
import { redactUrls } from '../core/redact-url.js';
import { mergeRemoteLocks } from './locks.js';
import { publishPack } from './pack-publish.js';
import { PackBuilder } from './pack-write.js';
import { casRef, listRefs, readRef } from './refs.js';
import { readSnapshotMeta, SNAPSHOT_NAME, SNAPSHOT_PREFIX } from './snapshot.js';
import { isTrusted, judgeSnapshot, readVerdicts, type VerdictRecord } from './snapshot-trust.js';
import { fetchGrit, fetchMissing, mergeBase, pushRefs, trackingPrefix, updateRefs } from './transport.js';
import { decodeWalChunk, isFilteredWal, isWalHole, reappendCommit, WAL_REF, type Wal, type WalCommit } from './wal.js';
import { readWal, type ReadWalOptions, type ReaderSource } from './wal-read-ahead.js';
import { shellWord } from '../core/shell-word.js';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFile } from '../core/replace-file.js';
import { mkdirShared } from '../core/shared-files.js';
import { sharedPermOf } from './shared-perm.js';
import { crashPoint } from '../core/fault.js';

export interface SyncOptions {
  remote: string;
  pull: boolean;
  push: boolean;
  /** Push attempts before giving up (default 10). */
  maxAttempts?: number;
  /**
   * Called after this sync moved the local WAL from `from` to `to`; `steps` give the events that
   * came from the remote (the local ones were in `from` already, in the same or older commits), a
   * segment of the remote's commits at a time, each with the WAL commit up to which the events
   * of `from` and of the steps so far are all there is (the last step's is `to`).
   */
  onAdvance?: (from: string | null, to: string, steps: AsyncIterable<AdvanceStep>) => Promise<void>;
  /**
   * Whether the local WAL holds an event already (asked before `onAdvance`): a copy of it in the
   * remote's commits (docs/wal.md) is not counted as pulled.
   */
  known?: (e: Event) => boolean;
  /**
   * Runs while the first `git fetch` is in flight (the fetch is a child process, so the caller's
   * own preparation, e.g. opening and refreshing its store, costs no wall time); the sync goes on
   * once both are done. Nothing that this sync reads or moves may be touched by it.
   */
  alongFetch?: () => Promise<void>;
  /** Test hook: runs right before each push attempt. */
  beforePush?: (attempt: number) => Promise<void> | void;
  /** The environment git talks to the remote with (ContextOptions.env); default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Where git's fetch meter and the reading of the remote's commits are shown (ContextOptions.progress); default this process's terminal. */
  progress?: ProgressSink;
  /** Remote WAL commits validated, and applied, per step (default `SEGMENT_COMMITS`; tests lower it). */
  segmentCommits?: number;
  /** Events of a pull kept from validating to applying, read once (default `KEEP_EVENTS`; tests lower it). */
  keepEvents?: number;
  /** A daemon worker's kept reader thread: it reads a long pull's new commits together with this thread (`ReadWalOptions.reader`). */
  reader?: ReaderSource;
}

/** Remote events to apply, and the WAL commit the store may record once they are (`onAdvance`). */
export interface AdvanceStep {
  head: string;
  events: Event[];
}

export interface SyncResult {
  /** Events that came from the remote into the local WAL. */
  pulled: number;
  /** Events that this sync added to the remote WAL: records, every copy counted (docs/wal.md). */
  pushed: number;
  /** Of `pushed`, the records that are further copies of an event pushed before them (only when some are). */
  copies?: number;
  wal_head: string | null;
  remote_wal_head: string | null;
  /** Local-only events re-appended on top of the remote head. */
  events_rebased: number;
  remote: string;
  /** Push attempts made (0 when nothing was pushed). */
  push_attempts: number;
  snapshots_fetched: number;
  /**
   * New remote snapshots left out because they are not exactly the WAL's events up to their
   * wal_head (or that cannot be checked against it): src/git/snapshot-trust.ts.
   */
  snapshots_refused: { ref: string; reason: string }[];
  locks_updated: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const eventKey = (e: Event) => toHex(e.event_id);

/**
 * Remote WAL commits read per step, validating and applying: with the ids of all the pull's
 * events, what a long pull holds in memory at once (a daemon's batched commits hold tens of
 * events each). A pull of up to `KEEP_EVENTS` events is read once and kept; a longer one is read
 * twice, to validate all of it before anything is applied (docs/sync.md, docs/decisions.md).
 */
const SEGMENT_COMMITS = 256;
const KEEP_EVENTS = 16_384;

/** Commits read per segment when a reader thread shares the reading (`SyncOptions.reader`): small, so that the two threads share it evenly. */
const SHARED_SEGMENT_COMMITS = 64;

/** A segment of commits, decoded, and where it starts in the stretch read (0: the oldest commit). */
interface Segment {
  at: number;
  commits: WalCommit[];
}

/** What validating the remote's new commits kept of them: their ids, and their events only when they are one segment. */
interface Incoming {
  /** The oldest of them (its parent tells a fast-forward), or null when there are none. */
  first: string | null;
  /** Each of their events' ids, and whether the local WAL held that event already (`known`). */
  ids: Map<string, boolean>;
  /** Their commits, decoded, when they hold `KEEP_EVENTS` events at most: applied without being read again. */
  kept: WalCommit[] | null;
}

/** git's words for an object it could not read (`error: Could not read <oid>`, `fatal: bad object <oid>`). */
function couldNotRead(err: unknown): boolean {
  const e = err as { message?: unknown; details?: { stderr?: unknown } };
  return /could not read|bad object|missing/i.test(`${e?.message ?? ''}\n${e?.details?.stderr ?? ''}`);
}

/** Bounded exponential backoff with full jitter: ~50 ms, 100, 200 … capped at 2 s. */
export function backoffMs(attempt: number): number {
  return Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random());
}

interface Integrated {
  pulled: number;
  rebased: number;
}

export class WalSync {
  private readonly gitDir: string;
  private readonly wal: Wal;
  private readonly opts: SyncOptions;
  private readonly prefix: string;
  private readonly progress: ProgressSink;
  /** Validated remote commits by `<base>..<tip>`: a retry after a local append reuses them. */
  private readonly validated = new Map<string, Incoming>();
  /** Events per WAL commit, for commits this sync wrote. */
  private readonly eventsOf = new Map<string, readonly Event[]>();
  /** Merge bases by `<a>:<b>` (git's, or a fast-forward seen while validating): validate and integrate ask alike. */
  private readonly bases = new Map<string, string | null>();

  constructor(gitDir: string, wal: Wal, opts: SyncOptions) {
    this.gitDir = gitDir;
    this.wal = wal;
    this.opts = opts;
    this.prefix = trackingPrefix(opts.remote);
    this.progress = opts.progress ?? terminalProgress();
  }

  get remoteWalRef(): string {
    return `${this.prefix}wal`;
  }

  async run(): Promise<SyncResult> {
    const { pull, push, remote } = this.opts;
    const result: SyncResult = {
      pulled: 0,
      pushed: 0,
      wal_head: null,
      remote_wal_head: null,
      events_rebased: 0,
      remote,
      push_attempts: 0,
      snapshots_fetched: 0,
      snapshots_refused: [],
      locks_updated: 0,
    };
    const maxAttempts = this.opts.maxAttempts ?? 10;
    for (let attempt = 0; ; attempt++) {
      const remoteHead = await this.fetch(pull, result, attempt === 0);
      const got = await this.integrate(remoteHead, pull);
      result.pulled += got.pulled;
      result.events_rebased += got.rebased;
      result.remote_wal_head = remoteHead;
      const local = await this.wal.head();
      result.wal_head = local;
      if (!push || local === null || local === remoteHead) return result;
      // Nothing to push when the local WAL is behind the remote (a push-only sync does not pull).
      if (remoteHead !== null && (await this.mergeBase(local, remoteHead)) === local) return result;
      await this.opts.beforePush?.(attempt);
      result.push_attempts++;
      // A first push (the remote has no WAL) runs no merge-base: git's push is what meets a hole.
      const out = await pushRefs(this.gitDir, remote, [{ src: local, dst: WAL_REF, seen: remoteHead }], { env: this.opts.env }).catch(async (err) => {
        // Only a push that could not read an object walks the WAL for a hole: a remote that is
        // down or refuses is reported at once, however long the WAL.
        throw (couldNotRead(err) && (await this.holeBelow(local))) || err;
      });
      if (out.ok) {
        // Counted from where the remote really was: another sync of this clone may have pushed
        // these commits, or some of them, since this one fetched (git: up to date).
        const moved = out.updated.find((u) => u.dst === WAL_REF);
        if (moved) {
          const sent = await this.pushedEvents(moved.from, local);
          result.pushed += sent.records;
          if (sent.copies) result.copies = sent.copies;
        }
        result.remote_wal_head = local;
        await updateRefs(this.gitDir, [{ ref: this.remoteWalRef, newOid: local }]).catch(() => undefined);
        return result;
      }
      if (attempt + 1 >= maxAttempts) {
        throw new GritError('conflict', `the remote WAL kept moving; gave up pushing after ${attempt + 1} attempts`, {
          details: { remote, attempts: attempt + 1, rejected: out.rejected, stderr: out.stderr },
          suggestion: 'run `grit sync` again',
        });
      }
      await sleep(backoffMs(attempt));
    }
  }

  /**
   * Fetches and returns the remote WAL head (null: the remote has none). With `pull`, imports
   * new snapshots and merges locks, but only after the remote WAL validated. The `first` fetch of
   * the sync also checks the local head and runs `alongFetch`, both while git fetches; all are
   * waited for (nothing is left running when another fails).
   */
  private async fetch(pull: boolean, result: SyncResult, first: boolean): Promise<string | null> {
    const before = new Map((await listRefs(this.gitDir, this.prefix)).map((r) => [r.ref, r.oid]));
    // Snapshots and locks are taken in against the tracking refs as they were before the first
    // fetch that brought them, which may be a sync's that never took them in: one killed after its
    // fetch, or a `sync --push` (which takes nothing in). Judged against `before` then, they
    // looked seen already and were never imported (a teammate's snapshot, for good).
    const seen = this.readSeen() ?? before;
    if (seen === before) this.saveSeen(before);
    this.progress.phase(`fetching from ${redactUrls(this.opts.remote)}…`);
    const fetching = fetchGrit(this.gitDir, this.opts.remote, '', this.opts.env, this.progress.gitMeter);
    // A turn of the event loop: git is started by then, unless a git process had to answer first
    // (transport.ts `readSide`), and what follows runs while it works instead of before.
    const gitStarted = first ? new Promise<void>((r) => setImmediate(r)) : null;
    const [fetched, head, prepared] = await Promise.allSettled([
      fetching,
      // A head git lacks fails git's fetch ("bad object refs/grit/wal … did not send all necessary
      // objects", no ref moved), which would blame the remote: said to be the local WAL's instead.
      gitStarted?.then(async () => this.wal.assertPresent(await this.wal.head())),
      gitStarted?.then(this.opts.alongFetch),
      // Validating what a pull brings hashes every event: load the fast hasher while git works.
      pull ? loadFastHash() : undefined,
    ]);
    if (head.status === 'rejected') throw head.reason;
    if (fetched.status === 'rejected') throw fetched.reason;
    const remoteHead = await readRef(this.gitDir, this.remoteWalRef);
    try {
      // Failing after the fetch, the tracking refs go back too: the next sync must still see
      // this fetch's snapshots and locks as new.
      if (prepared.status === 'rejected') await this.prepareComplete(prepared.reason);
      await this.validateComplete(remoteHead, before.get(this.remoteWalRef) ?? null).catch((err) => {
        throw remoteWalError(this.opts.remote, remoteHead, err);
      });
    } catch (err) {
      await this.restoreTracking(before);
      throw err;
    }
    if (pull) {
      crashPoint('sync:fetched');
      result.snapshots_fetched += await this.importSnapshots(seen, result.snapshots_refused);
      result.locks_updated += await mergeRemoteLocks(this.gitDir, this.wal.objects, (a, b) => this.wal.isAncestor(a, b), this.prefix, seen);
      this.forgetSeen();
    }
    return remoteHead;
  }

  /** Where `saveSeen` keeps the tracking refs of this remote until a pull has taken in what was fetched since. */
  private seenPath(): string {
    return join(this.gitDir, 'grit', `sync-seen.${encodeURIComponent(this.prefix.slice('refs/grit-remote/'.length, -1))}.json`);
  }

  private readSeen(): Map<string, string> | null {
    try {
      const refs = JSON.parse(readFileSync(this.seenPath(), 'utf8')) as unknown;
      if (typeof refs !== 'object' || refs === null || Object.values(refs).some((v) => typeof v !== 'string')) return null;
      return new Map(Object.entries(refs as Record<string, string>));
    } catch {
      return null; // none (the usual case), or unreadable: the refs now are the best guess
    }
  }

  /**
   * Best effort, as the record only narrows what a pull takes for seen: one that cannot be written
   * (a full disk, something else at its path) leaves the pull judging against the refs just
   * before its fetch, and must not fail a sync before it fetched. Its temporary name is unique per
   * call (replace-file.ts): a daemon's worker threads share the pid, and two actors of one
   * repository may sync one remote at once.
   */
  private saveSeen(refs: ReadonlyMap<string, string>): void {
    try {
      const perm = sharedPermOf(this.gitDir);
      mkdirShared(join(this.gitDir, 'grit'), perm);
      replaceFile(this.seenPath(), JSON.stringify(Object.fromEntries(refs)) + '\n', { perm, bestEffort: true });
    } catch {
      // git's config unreadable, or no `.git/grit` to write in
    }
  }

  /** Once a pull has taken in what was fetched; best effort as `saveSeen` is (only a file can be there to remove). */
  private forgetSeen(): void {
    try {
      rmSync(this.seenPath(), { force: true });
    } catch {
      // Not a file: `readSeen` cannot read it either, so it records nothing.
    }
  }

  /**
   * `alongFetch` once more after fetching from the remote the objects of the local WAL that this
   * partial clone lacks, when that is why it failed (`isFilteredWal`: plain git fetched refs/grit/*
   * under the clone's filter); any other failure is rethrown.
   */
  private async prepareComplete(err: unknown): Promise<void> {
    const local = await this.wal.head();
    if (!isFilteredWal(err) || local === null) throw err;
    if ((await fetchMissing(this.gitDir, this.opts.remote, local, null, this.opts.env)) === 0) throw err;
    await this.opts.alongFetch?.();
  }

  /**
   * Validates every remote WAL commit the local WAL does not have yet (readSince throws
   * wal_error). `previous` is where the remote WAL was at the previous fetch.
   */
  private async validate(remoteHead: string | null, previous: string | null): Promise<void> {
    if (remoteHead === null) return;
    const local = await this.wal.head();
    if (local === remoteHead) return;
    this.wal.assertCommit(remoteHead); // before git merge-base, which would fail with a git_error
    if (local !== null && local === previous && (await this.fastForwards(local, remoteHead))) return;
    const base = local === null ? null : await this.mergeBase(local, remoteHead);
    await this.remoteCommits(base, remoteHead);
  }

  /**
   * `validate`, once more after fetching what a partial clone lacks: commits and trees that an
   * earlier fetch under the clone's filter brought without their blobs (docs/sync.md).
   */
  private async validateComplete(remoteHead: string | null, previous: string | null): Promise<void> {
    try {
      await this.validate(remoteHead, previous);
    } catch (err) {
      if (remoteHead === null || !(err instanceof GritError) || err.code !== 'wal_error') throw err;
      if ((await fetchMissing(this.gitDir, this.opts.remote, remoteHead, await this.wal.head(), this.opts.env)) === 0) throw err;
      await this.validate(remoteHead, previous);
    }
  }

  /**
   * Whether `remoteHead` descends from `local`, found by validating the remote's new commits down
   * to `local` (which a pull does anyway) instead of running `git merge-base` first. Tried only
   * when the remote was at the local head at the previous fetch, so it has almost surely just
   * moved ahead; if it was rewritten instead, the walk read its whole chain for nothing.
   */
  private async fastForwards(local: string, remoteHead: string): Promise<boolean> {
    const { first } = await this.remoteCommits(local, remoteHead);
    if (first === null || this.wal.objects.readCommit(first).parents[0] !== local) return false;
    this.bases.set(`${local}:${remoteHead}`, local);
    return true;
  }

  /** `git merge-base` of the local head `local` and `remoteHead`, asked once per pair. */
  private async mergeBase(local: string, remoteHead: string): Promise<string | null> {
    const key = `${local}:${remoteHead}`;
    if (!this.bases.has(key)) {
      try {
        this.bases.set(key, await mergeBase(this.gitDir, local, remoteHead));
      } catch (err) {
        throw (await this.holeBelow(local)) ?? err;
      }
    }
    return this.bases.get(key)!;
  }

  /**
   * The hole in the local WAL ending at `local` (`isWalHole`), or null when git has all of it. Asked
   * only once `git merge-base` or `git push` failed ("Could not read <commit>"): a WAL that is whole
   * is never walked for it.
   */
  private async holeBelow(local: string): Promise<GritError | null> {
    try {
      await this.wal.chain(null, local);
      return null;
    } catch (err) {
      return isWalHole(err) ? err : null;
    } finally {
      this.wal.objects.close();
    }
  }

  /**
   * Validates the remote commits after `base` up to `remoteHead` (all of them: the whole chain when
   * `base` is not on it), a segment at a time, keeping what `Incoming` says.
   */
  private async remoteCommits(base: string | null, remoteHead: string): Promise<Incoming> {
    const key = `${base}..${remoteHead}`;
    let incoming = this.validated.get(key);
    if (!incoming) {
      incoming = { first: null, ids: new Map(), kept: null };
      if (base !== remoteHead) {
        const known = this.opts.known;
        const keep = this.opts.keepEvents ?? KEEP_EVENTS;
        // With a reader thread the segments come in any order, each with its place.
        const shared: ReadWalOptions = { reader: this.opts.reader, newestFirstUpTo: keep, newestFirstCommits: SHARED_SEGMENT_COMMITS };
        let kept: Segment[] | null = [];
        for await (const segment of this.segments(base, remoteHead, 'checking pulled WAL', shared)) {
          if (segment.at === 0) incoming.first = segment.commits[0].oid;
          for (const c of segment.commits) for (const e of c.events) incoming.ids.set(eventKey(e), known?.(e) ?? false);
          if (kept && incoming.ids.size <= keep) kept.push(segment);
          else kept = null;
        }
        incoming.kept = kept && kept.sort((a, b) => a.at - b.at).flatMap((k) => k.commits);
      }
      this.validated.set(key, incoming);
    }
    return incoming;
  }

  /**
   * The commits after `base` up to `head`, read, checked and decoded a segment at a time, with a
   * progress bar labelled `label`: oldest first, unless `opts` let a reader thread share the
   * reading (then in any order).
   */
  private async *segments(base: string | null, head: string, label: string, opts: ReadWalOptions = {}): AsyncGenerator<Segment> {
    let bar: Progress | null = null;
    try {
      const { chain, inOrder, segments } = await readWal(this.wal, base, head, this.opts.segmentCommits ?? SEGMENT_COMMITS, { reader: this.opts.reader, ...opts });
      bar = this.progress.bar(label, chain.length);
      const at = inOrder ? null : new Map(chain.map((link, i) => [link.oid, i]));
      let done = 0;
      for await (const chunks of segments) {
        yield { at: at ? at.get(chunks[0].oid)! : done, commits: chunks.map(decodeWalChunk) };
        bar.update((done += chunks.length));
      }
    } finally {
      bar?.done();
      this.wal.objects.close();
    }
  }

  /**
   * The remote's events for `onAdvance`, but those in `local` (the local-only events of a rebase):
   * the kept segment, or the remote commits read again, a segment at a time (all validated by
   * now). Each step ends at its last commit; the last at `tip`, where the local WAL now is.
   */
  private async *advance(incoming: Incoming, base: string | null, remoteHead: string, tip: string, local: ReadonlySet<string> | null): AsyncGenerator<AdvanceStep> {
    const step = (commits: readonly WalCommit[]): AdvanceStep => {
      const last = commits[commits.length - 1].oid;
      const events = commits.flatMap((c) => c.events);
      return { head: last === remoteHead ? tip : last, events: local ? events.filter((e) => !local.has(eventKey(e))) : events };
    };
    if (incoming.kept) yield step(incoming.kept);
    else for await (const { commits } of this.segments(base, remoteHead, 'applying pulled WAL')) yield step(commits);
  }

  /** Puts the tracking refs back as they were before a fetch whose WAL did not validate. */
  private async restoreTracking(before: ReadonlyMap<string, string>): Promise<void> {
    const now = new Map((await listRefs(this.gitDir, this.prefix)).map((r) => [r.ref, r.oid]));
    const updates: { ref: string; newOid: string | null }[] = [];
    for (const [ref, oid] of now) if (before.get(ref) !== oid) updates.push({ ref, newOid: before.get(ref) ?? null });
    for (const [ref, oid] of before) if (!now.has(ref)) updates.push({ ref, newOid: oid });
    await updateRefs(this.gitDir, updates);
  }

  /**
   * Snapshot refs are never rewritten: a remote snapshot is imported when no local ref has its
   * name and it is new since the previous fetch (a local `snapshot gc` is not undone). Only a
   * snapshot: a ref of another name, or a commit without a valid snapshot.json, stays out (no
   * local command would ever list, use or delete it). One that is not exactly the WAL's events
   * up to its wal_head stays out too, and is reported in `refused` (checked once, against the
   * remote WAL just validated: src/git/snapshot-trust.ts).
   */
  private async importSnapshots(before: ReadonlyMap<string, string>, refused: SyncResult['snapshots_refused']): Promise<number> {
    const remotePrefix = `${this.prefix}snapshots/`;
    const verdicts = readVerdicts(this.gitDir);
    let n = 0;
    for (const { ref, oid } of await listRefs(this.gitDir, remotePrefix)) {
      const name = ref.slice(remotePrefix.length);
      const local = SNAPSHOT_PREFIX + name;
      if (before.get(ref) === oid || !SNAPSHOT_NAME.test(name) || !this.isSnapshot(oid) || (await readRef(this.gitDir, local)) !== null) continue;
      let judged: VerdictRecord;
      try {
        judged = await judgeSnapshot(this.wal, oid, verdicts);
      } catch (err) {
        judged = { verdict: 'refused', reason: `it cannot be checked against the WAL: ${(err as Error).message}` };
      }
      if (!isTrusted(judged)) refused.push({ ref: local, reason: judged.reason ?? 'refused' });
      else if (await casRef(this.gitDir, local, null, oid)) n++;
    }
    return n;
  }

  private isSnapshot(oid: string): boolean {
    try {
      readSnapshotMeta(this.wal.objects, oid);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Brings the remote's events into the local WAL: fast-forward when the local WAL is behind,
   * auto-rebase when both advanced (only when pulling, or when a push needs it). Retries when a
   * local writer moves the head in between.
   */
  private async integrate(remoteHead: string | null, pull: boolean): Promise<Integrated> {
    if (remoteHead === null) return { pulled: 0, rebased: 0 };
    for (let attempt = 0; attempt < 200; attempt++) {
      const local = await this.wal.head();
      if (local === remoteHead) return { pulled: 0, rebased: 0 };
      const base: string | null = local === null ? null : await this.mergeBase(local, remoteHead);
      if (base === remoteHead) return { pulled: 0, rebased: 0 }; // the remote is behind
      const incoming = await this.remoteCommits(base, remoteHead);
      if (base === local) {
        if (!pull) return { pulled: 0, rebased: 0 }; // behind, and only pushing: nothing to do
        if (await casRef(this.gitDir, WAL_REF, local, remoteHead)) {
          await this.opts.onAdvance?.(local, remoteHead, this.advance(incoming, base, remoteHead, remoteHead, null));
          return { pulled: newEvents(incoming, null), rebased: 0 };
        }
        continue;
      }
      // Diverged: re-append the local-only commits on top of the remote head.
      const outgoing = await this.wal.readSince(base, local!);
      const remoteIds = incoming.ids;
      const localIds = new Set<string>();
      let tip = remoteHead;
      let rebased = 0;
      const pack = new PackBuilder();
      for (const c of outgoing) {
        for (const e of c.events) localIds.add(eventKey(e));
        const events = c.events.filter((e) => !remoteIds.has(eventKey(e)));
        if (events.length === 0) continue;
        tip = reappendCommit(this.wal.objects, pack.sink(), { actor: c.actor, events, commit: c }, tip);
        this.eventsOf.set(tip, events);
        rebased += events.length;
      }
      // All of them go into one pack (two files), as an append's do, kept until the ref moves.
      if (await publishPack(this.wal.objects, pack, () => casRef(this.gitDir, WAL_REF, local, tip))) {
        await this.opts.onAdvance?.(local, tip, this.advance(incoming, base, remoteHead, tip, localIds));
        return { pulled: newEvents(incoming, localIds), rebased };
      }
    }
    throw new GritError('db_busy', 'the local WAL kept moving during sync', { suggestion: 'retry `grit sync`' });
  }

  /**
   * The records in the commits after `from` (an object id, or a prefix of one as git abbreviates
   * it) up to `to` (first parents), and how many of them are further copies of one before them
   * there. Events this sync knows (it validated or wrote those commits) are reused; the others
   * are read, ids being what copies are told by.
   */
  private async pushedEvents(from: string | null, to: string): Promise<{ records: number; copies: number }> {
    const chain: string[] = [];
    let boundary: string | null = null;
    for (let oid: string | null = to; oid; oid = this.wal.objects.readCommit(oid).parents[0] ?? null) {
      if (from !== null && oid.startsWith(from)) {
        boundary = oid;
        break;
      }
      chain.push(oid);
    }
    const known = chain.map((oid) => this.eventsOf.get(oid));
    const batches = known.every((e) => e !== undefined) ? known : (await this.wal.readSince(boundary, to)).map((c) => c.events);
    const counter = new CopyCounter();
    let records = 0;
    for (const events of batches) {
      records += events.length;
      for (const e of events) counter.add(e);
    }
    return { records, copies: counter.copies };
  }
}

/**
 * A `wal_error` met validating the remote's new WAL commits, said to be the remote's: nothing of it
 * was applied and the local WAL is as it was, so `grit doctor` (which checks the local one) and
 * `grit rebuild` cannot help; whoever can push to the remote has to (docs/troubleshooting.md).
 */
function remoteWalError(remote: string, remoteHead: string | null, err: unknown): unknown {
  // A commit git lacks is this repository's loss: git's fetch checks that what it brought is whole.
  if (isWalHole(err) || !(err instanceof GritError) || err.code !== 'wal_error') return err;
  return new GritError('wal_error', `the WAL on ${remote} is not valid: ${err.message}; nothing of it was applied, and your local WAL is intact`, {
    details: { ...err.details, remote, remote_wal_head: remoteHead },
    suggestion:
      `something other than grit wrote or edited refs/grit/wal on ${remote}: compare it with \`git ls-remote ${shellWord(remote)} refs/grit/wal\`, ` +
      `and ask whoever can push there to put it back to its last valid commit (docs/troubleshooting.md), or sync with another remote meanwhile`,
  });
}

export function syncWal(gitDir: string, wal: Wal, opts: SyncOptions): Promise<SyncResult> {
  return new WalSync(gitDir, wal, opts).run();
}

/**
 * How many of the remote's events are new here: different events (a WAL may hold one twice, a
 * tool that copied or re-parented a commit: docs/wal.md; `pulled` counts events, not copies, and
 * the store keeps one of each), none the local WAL holds (`known`, or among `local`).
 */
function newEvents(incoming: Incoming, local: ReadonlySet<string> | null): number {
  let n = 0;
  for (const [id, known] of incoming.ids) if (!known && !local?.has(id)) n++;
  return n;
}
