/**
 * What a command runs against: one repository, one actor, that actor's store and the WAL.
 * The CLI builds one per invocation; a daemon worker keeps one open for its (repo, actor), which
 * serves every worktree of the repository: the worktree is the command's (`worktreeRoot`).
 */
import { renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { storeFile, storeFiles } from '../core/store-file.js';
import { readActorConfig, type RepoConfig } from '../core/config.js';
import { GritError, toGritError } from '../core/errors.js';
import { crashPoint } from '../core/fault.js';
import { makeEvent, type Event } from '../core/event.js';
import { fromHex, toHex } from '../core/hex.js';
import { resolvePrefix } from '../core/ids.js';
import { admitEvents, checkingKeys, copyOrder, loadKeyring, reportAdmitted, type AdmitResult, type CompareCopies } from '../core/integrity.js';
import { warnings as stderrWarnings } from '../core/warnings.js';
import { plural } from '../core/plural.js';
import type { EventKind } from '../core/kinds.js';
import type { ProgressSink } from '../core/progress.js';
import { addsMember, removedMember, removeTakesAway, type Issue } from '../core/projection.js';
import { loadSigner, type Signer } from '../core/signing.js';
import { movedHere, repoIdentity, sameRepo, type RepoIdentity } from '../core/repo-identity.js';
import { isEmptyStore, Store, type StoreMeta, type StoreOptions, type StoreSnapshot } from '../core/store.js';
import { findRepo, type RepoDirs } from '../git/repo.js';
import { sharedPermAt, sharedPermOf } from '../git/shared-perm.js';
import { Wal } from '../git/wal.js';
import type { KeptWalReader } from '../git/kept-wal-reader.js';
import { checkLocks, hasLockRefs } from '../git/locks.js';
import { WriteBatcher } from './write-batcher.js';
import { actorsDir, loadRepoConfig, readActorDir, selectActor, type ActorRef, type ActorSelection } from './actors.js';
import { daemonHolds } from './lockfile.js';
import { judgeForeignStore } from './store-owner.js';
import { exactTs, stampAfter, stamped } from '../core/timestamp.js';
import { writeDenied } from '../core/write-access.js';

export interface ContextOptions extends ActorSelection {
  cwd?: string;
  /**
   * The root of the caller's worktree, when known already: a daemon request's, which the
   * supervisor found from its repo_root. Otherwise the worktree is the one around `cwd`.
   */
  worktree?: string;
  /**
   * The environment the command reads while it runs (git's for a remote, GRIT_GIT_TIMEOUT,
   * GRIT_GRAMMAR_<LANG>): in a daemon, the caller's (src/core/forwarded-env.ts). Absent: this process's.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * The caller's umask, for the files a command makes for it (an export): in a daemon, the one its
   * request carries, since the daemon's own is not the caller's. Absent: this process's applies.
   */
  umask?: number;
  /**
   * Where a long command reports its progress: in a daemon, the CLI that asked for it, or nobody.
   * Absent: this process's terminal, when progress is wanted there (core/progress.ts `terminalProgress`).
   */
  progress?: ProgressSink;
}

/**
 * The worktree a command works in (its files, `.grit/`, the paths of `path:` locks): the caller's.
 * Never the context's: worktrees share one (docs/daemon.md, "Worktrees").
 */
export function worktreeRoot(options: ContextOptions): string {
  return options.worktree ?? findRepo(options.cwd).root;
}

/** What a command function receives besides its arguments; the context opens on first use. */
export interface CommandEnv {
  options: ContextOptions;
  context(): RepoContext;
  /**
   * The caller's standard output, when the command runs in the caller's process (the CLI's
   * `export -o -`): output too large to hold is written there as it is made. Absent in a
   * daemon, whose output goes back in the reply.
   */
  stdout?: OutputSink;
}

/** Standard output as a command writes to it in pieces. */
export interface OutputSink {
  /** Once, before the first piece: the command's result, which a `--json` envelope opens with. */
  begin(result: object): void;
  write(text: string): void | Promise<void>;
}

export interface WriteItem {
  issue_id: Uint8Array;
  kind: EventKind;
}

/**
 * What a write must still satisfy where it lands (a new dependency closes no cycle): run on the
 * store caught up with the WAL head the write is appended on, given the items written ahead of
 * it in the same commit; throws the write's refusal.
 */
export type WriteCheck = (ahead: readonly WriteItem[]) => void;

/** One caller's write: its events, and what they must satisfy where they land. */
export interface WriteGroup {
  items: WriteItem[];
  check?: WriteCheck;
}

export interface WriteResult {
  events: Event[];
  wal_head: string;
  /** What the lock policy warned about (`lock_policy = warn`); the command's reply carries them. */
  warnings: string[];
}

/**
 * A write command's reply with the lock policy's warnings as `lock_warnings`, when there are
 * any: in the reply, they reach the user through the daemon as well (the CLI prints them).
 */
export function withLockWarnings<T extends object>(reply: T, warnings: string[]): T & { lock_warnings?: string[] } {
  return warnings.length ? { ...reply, lock_warnings: warnings } : reply;
}

/**
 * Opens the actor's store; a damaged one (a truncated file LMDB would crash on) or one of an older
 * layout is a cache, so it is deleted and rebuilt from the WAL by the next refresh, with a warning.
 * Not while a live daemon holds it (an older grit's, say): that is an io_error whose plan says to
 * stop the daemon and run `grit doctor --fix`.
 */
function openOrRepairStore(actorDir: string, opts: StoreOptions): Store {
  try {
    return Store.open(actorDir, opts);
  } catch (err) {
    if (!(err instanceof GritError) || (err.details.store_damaged !== true && err.details.store_outdated !== true)) throw err;
    const holder = daemonHolds(actorDir);
    if (holder !== null && holder !== process.pid) {
      throw new GritError('io_error', err.message, {
        details: { ...err.details, daemon_pid: holder },
        suggestion: `a daemon (pid ${holder}) holds this store: stop it (\`grit daemon stop\`), then run \`grit doctor --fix\``,
      });
    }
    Store.discard(actorDir);
    stderrWarnings.send(`${err.message}; it is a cache, so it was deleted and is rebuilt from the WAL now`);
    return Store.open(actorDir, opts);
  }
}

/**
 * A store this user cannot write fails every command that runs against the repository, before
 * its work, whether or not the command reads the store (`lock status` does not; `export` would
 * write `.grit/` first): a daemon's worker cannot take its lease there, so the answer must not
 * depend on the route (docs/reliability.md).
 */
function refuseUnwritableStore(actorDir: string): void {
  const denied = writeDenied(actorDir, storeFiles(storeFile(actorDir)));
  if (denied) throw denied;
}

export class RepoContext {
  readonly repo: RepoDirs;
  private actorRef: ActorRef;
  readonly wal: Wal;
  private storeHandle: Store | null = null;
  /** Set by the owner of a context that outlives one command (a daemon worker): see `remember`. */
  keepsReads = false;
  /** Set by a daemon worker: its store commits without fsync (store-unsynced.ts). */
  unsyncedStore = false;
  /** Set by a daemon worker: the reader thread its pulls share the reading with. */
  keptReader: KeptWalReader | null = null;
  private readonly remembered = new WeakMap<Store, { stamp: string; values: Map<string, unknown> }>();
  private configCache: RepoConfig | null = null;
  private identityCache: RepoIdentity | null = null;
  private signer: Signer | null | undefined;
  private settingsStamp = '';
  private batcher: WriteBatcher | null = null;
  /**
   * Events with a bad or missing signature from a known actor that this context met while
   * applying WAL events: refused (signature_policy = reject) or applied anyway (warn). Sync
   * reports the ones a pull brought in.
   */
  readonly signatureProblems = { refused: 0, kept: 0 };

  constructor(repo: RepoDirs, actor: ActorRef) {
    refuseUnwritableStore(actor.dir);
    this.repo = repo;
    this.actorRef = actor;
    this.wal = new Wal(repo.commonDir);
  }

  static open(opts: ContextOptions = {}): RepoContext {
    const repo = findRepo(opts.cwd);
    return new RepoContext(repo, selectActor(repo, opts));
  }

  /** The acting actor: its directory, and its config as of the latest reloadSettingsIfChanged. */
  get actor(): ActorRef {
    return this.actorRef;
  }

  get actorId(): string {
    return this.actor.config.actor_id;
  }

  /**
   * For a context that lives long (a daemon worker): forgets the cached repo config and signing
   * key, and reads the actor's own config.toml again, when `stamp` changed, so that edits of
   * either config and a new key apply from the next command on, as they do for `--no-daemon`
   * (a `public_key` removed by hand is no longer the key this actor's events are checked
   * against). The stamp covers the files they are read from (the repo's config.toml, the actor's
   * config.toml and key): the daemon's supervisor takes it with the stat calls it makes to route
   * the request anyway, and the repository's id file. Taken only once all is read: a config that
   * fails to read is read again.
   */
  reloadSettingsIfChanged(stamp: string): void {
    if (stamp === this.settingsStamp) return;
    // Null only when the file went after the supervisor read it: its next route refuses then.
    this.actorRef = readActorDir(this.actorRef.dir) ?? this.actorRef;
    this.configCache = null;
    this.signer = undefined;
    // The stamp covers the repository's id file: another repository at this path (made anew, or
    // moved here) is judged as a command run without the daemon judges it (`disownForeign`).
    this.identityCache = null;
    this.storeHandle?.serveRepository(this.identity);
    this.settingsStamp = stamp;
  }

  get config(): RepoConfig {
    this.configCache ??= loadRepoConfig(this.repo);
    return this.configCache;
  }

  /** Which repository this is, as the store records the one it was built from (src/core/repo-identity.ts). */
  get identity(): RepoIdentity {
    this.identityCache ??= repoIdentity(this.repo.commonDir, this.repo.gritDir, { perm: sharedPermOf(this.repo.commonDir) });
    return this.identityCache;
  }

  get store(): Store {
    this.storeHandle ??= openOrRepairStore(this.actor.dir, {
      unsynced: this.unsyncedStore,
      repo: this.identity,
      copyOrder: () => this.copyOrder(),
      sharedPerm: sharedPermAt(this.repo, this.actor.dir),
    });
    return this.storeHandle;
  }

  /**
   * Clears a store that another repository's WAL built (store-owner.ts), for the caller to rebuild
   * from this one, with a warning; while that repository is still there and uses this data dir,
   * throws the refusal instead, unless `takeOver` (`grit rebuild`). A store of this repository
   * from before it was moved here keeps its contents and records the new path. False for this
   * repository's store, or one that records no repository: true when the store's meta changed.
   */
  private disownForeign(meta: StoreMeta, takeOver: boolean): boolean {
    if (meta.repo === null || isEmptyStore(meta) || sameRepo(meta.repo, this.identity)) return false;
    if (movedHere(meta.repo, this.identity)) {
      this.store.recordMove(this.identity);
      return true;
    }
    const found = judgeForeignStore(meta.repo, this.identity, this.actor, this.repo);
    if ('refuse' in found && !takeOver) throw found.refuse;
    const why = 'rebuild' in found ? found.rebuild : `${found.refuse.message}; \`grit rebuild\` moved it to this repository, and it is rebuilt from this WAL`;
    this.store.clear();
    stderrWarnings.send(why);
    return true;
  }

  /** For `grit rebuild`: a store another repository built becomes this repository's, whoever used it. */
  takeOverStore(): void {
    this.disownForeign(this.store.getMeta(), true);
  }

  /**
   * A read's result, kept while the store is unchanged, when this context answers many commands
   * (`keepsReads`: a daemon worker's). Every change to the store moves its meta (WAL head, event
   * count, rebuild time), and a reopened store starts afresh. The result is frozen so that no
   * caller can change what the next one gets. A one-command context just reads.
   */
  remember<T extends object>(key: string, read: () => T): T {
    if (!this.keepsReads) return read();
    const store = this.store;
    const m = store.getMeta();
    const stamp = `${m.wal_head}:${m.event_count}:${m.last_rebuild_ts}`;
    let kept = this.remembered.get(store);
    if (!kept || kept.stamp !== stamp) this.remembered.set(store, (kept = { stamp, values: new Map() }));
    let value = kept.values.get(key) as T | undefined;
    if (value === undefined) kept.values.set(key, (value = deepFreeze(read())));
    return value;
  }

  /** Brings the store up to the WAL head, reading only the commits it has not applied. */
  async refresh(): Promise<string | null> {
    return (await this.catchUp(false)).head;
  }

  /**
   * Runs `read`, which only reads the store (synchronously), on the store brought up to the WAL
   * head: for a command that only reads. When the store cannot take the WAL's newest events now
   * (a full disk: `store_unwritable`, src/core/disk-full.ts), the read does not fail: they are
   * applied for it in memory, never written (Store.readApplied), with a warning saying how far
   * behind the store is and why. Writes still fail then (`refresh` throws): one acknowledged
   * would be in the WAL, but what it was made from (an issue's newest event) would not.
   */
  async read<T>(read: () => T): Promise<T> {
    return this.caughtUp(read, read);
  }

  /**
   * `use` on one snapshot of the store brought up to the WAL head (Store.withSnapshot), for a
   * reader of several passes. When the store cannot catch up (see `read`), the snapshot is the
   * in-memory one of that write transaction, which ends when `use` first awaits: `inMemory` then
   * tells `use` to do all its reading before that.
   */
  async withSnapshot<T>(use: (snapshot: StoreSnapshot, inMemory: boolean) => Promise<T>): Promise<T> {
    const lagging = await this.caughtUp(
      () => null,
      () => ({ settled: use(this.store.snapshotInWrite(), true) }),
    );
    return lagging ? lagging.settled : this.store.withSnapshot((snapshot) => use(snapshot, false));
  }

  /** `read` on the store caught up with the WAL head, or `lagging` in the transaction that applies its lag in memory. */
  private async caughtUp<T>(read: () => T, lagging: () => T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 100) throw storeKeepsMoving();
      const { lag } = await this.catchUp(true);
      if (!lag) return read();
      const answer = this.store.readApplied(lag.admitted.events, lag.from, lag.to, () => {
        stderrWarnings.send(lagWarning(lag));
        return lagging();
      });
      if (answer) {
        this.reportAdmitted(lag.admitted);
        return answer.value;
      }
    }
  }

  /**
   * `refresh`'s work. With `lagOk`, a store that cannot be written (`store_unwritable`) does not
   * fail it: it returns, as `lag`, the events the store could not take, for `read` to apply in
   * memory. `head` is then the store's own.
   */
  private async catchUp(lagOk: boolean): Promise<{ head: string | null; lag?: Lag }> {
    let replayFailed = false;
    const tolerate = (err: unknown): err is GritError => lagOk && err instanceof GritError && err.details.store_unwritable === true;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 100) throw storeKeepsMoving();
      const head = await this.wal.head();
      const meta = this.store.getMeta();
      if (this.disownForeign(meta, false)) continue;
      if (meta.wal_head === head) return { head };
      if (isEmptyStore(meta) && !replayFailed) {
        // An empty store (a new clone or actor, a discarded cache) is built as a rebuild builds
        // it: the WAL read ahead on a second thread and gathered, not held (docs/performance.md).
        try {
          return { head: await (await import('./wal-replay.js')).replayWal(this) };
        } catch (err) {
          // For a read: what the replay could not write is read below, to be applied in memory.
          if (!tolerate(err)) throw err;
          replayFailed = true;
          continue;
        }
      }
      const { commits, found } = await this.wal.readAfter(meta.wal_head, head);
      const events = commits.flatMap((c) => c.events);
      let to = head;
      if (!found) {
        // The store's head is off the WAL's chain (commits is the whole WAL): sync rebased it, or
        // plain git overwrote or deleted the WAL, and then what only the store still has goes back into it.
        // Not from a store that does not say which repository built it (an older grit's): it
        // may be another's (a shared data dir), whose events must never enter this WAL.
        if (meta.repo === null) {
          stderrWarnings.send(`the store in ${this.actor.dir} was built from WAL commit ${meta.wal_head}, which this repository's WAL does not hold, and records no repository (an older grit made it); it is a cache, so it is rebuilt from this WAL`);
          this.store.clear();
          continue;
        }
        const restored = await (await import('./lost-events.js')).restoreLostEvents(this, meta.wal_head!, head, commits);
        if (restored === null) continue;
        to = restored.head;
        for (const e of restored.events) events.push(e);
      }
      if (to === null) {
        // No WAL (refs/grit/wal deleted), and none of the store's events to put in one.
        this.store.clear();
        continue;
      }
      // signature_policy (docs/signing.md): reject drops bad events here; warn keeps and reports them.
      const admitted = this.admit(events);
      try {
        if (this.store.apply(admitted.events, meta.wal_head, to)) {
          this.reportAdmitted(admitted);
          return { head: to };
        }
      } catch (err) {
        if (!tolerate(err)) throw err;
        return { head: meta.wal_head, lag: { admitted, from: meta.wal_head, to, cause: err } };
      }
    }
  }

  /** The signature policy applied to events read from the WAL (or a snapshot). */
  admit(events: Event[]): AdmitResult {
    return admitEvents(this.config.signature_policy, () => loadKeyring(this.repo.gritDir, this.actor), events, (e) => this.store.heldCopy(e));
  }

  /** Which of two copies of one event to keep (integrity.ts), against the keys known now. */
  copyOrder(): CompareCopies {
    return copyOrder(() => loadKeyring(this.repo.gritDir, this.actor));
  }

  /** Whether `admit` may refuse or report events: a signature policy, and keys to check against. */
  checksSignatures(): boolean {
    return checkingKeys(this.config.signature_policy, () => loadKeyring(this.repo.gritDir, this.actor)) !== null;
  }

  /** Reports what the signature policy did to events that were just applied (stderr, and the tally). */
  reportAdmitted(admitted: AdmitResult): void {
    if (admitted.problems.length) this.signatureProblems[admitted.refused ? 'refused' : 'kept'] += admitted.problems.length;
    reportAdmitted(admitted);
  }

  /** Drops the store's contents and replays the whole WAL. */
  async rebuild(): Promise<string | null> {
    this.store.clear();
    return this.refresh();
  }

  /** Resolves an issue id or unique prefix to a known issue, refreshing first. */
  async resolveIssue(input: string, field = 'issue_id'): Promise<Issue> {
    await this.refresh();
    return this.findIssue(input, field);
  }

  /**
   * The issue an id or unique prefix names, in the store as it is (`not_found` for none). `field`
   * is the argument it came in, for the errors' `details.field`.
   */
  findIssue(input: string, field = 'issue_id'): Issue {
    const store = this.store;
    const exact = input.length === 32 ? store.getIssue(input.toLowerCase()) : undefined;
    const id = exact ? exact.issue_id : resolvePrefix(input, (prefix) => store.issueIdsStartingWith(prefix), 'issue', field);
    const issue = id ? store.getIssue(id) : undefined;
    if (!issue) {
      throw new GritError('not_found', `no issue ${input}`, {
        details: { field, issue_id: input },
        suggestion: 'run `grit issue list` to see issue ids',
      });
    }
    return issue;
  }

  /**
   * Appends events for issues to the WAL (one commit) and applies them. Each event's timestamp
   * is kept above its issue's newest one so that an actor's own successive edits never tie.
   * With group commit on (a daemon worker), concurrent calls share one commit.
   */
  async write(items: WriteItem[], check?: WriteCheck): Promise<WriteResult> {
    const group = { items, check };
    if (this.batcher) return this.batcher.submit(group);
    const [result] = await this.commitGroups([group]);
    if (result instanceof Error) throw result;
    return result;
  }

  /** Makes concurrent `write` calls share WAL commits (one chunk, many events). */
  enableGroupCommit(): void {
    this.batcher ??= new WriteBatcher((groups) => this.commitGroups(groups));
  }

  /**
   * Writes several callers' events as one WAL commit. A group refused by its check or the lock
   * policy gets its error back without holding up the others.
   */
  private async commitGroups(groups: readonly WriteGroup[]): Promise<Array<WriteResult | Error>> {
    for (;;) {
      try {
        return await this.tryCommitGroups(groups);
      } catch (err) {
        if (!(err instanceof ChecksOutdated)) throw err;
      }
    }
  }

  /**
   * `commitGroups`' work on the WAL head as it is now. Each group's check sees the groups accepted
   * before it, so two writes that are each fine alone but not together (the two halves of a
   * cycle) are not both accepted; throws ChecksOutdated when another writer appended first and
   * what it appended fails a check, for the groups to be judged again from the start.
   */
  private async tryCommitGroups(groups: readonly WriteGroup[]): Promise<Array<WriteResult | Error>> {
    const madeOn = await this.refresh();
    const results: Array<WriteResult | Error> = new Array(groups.length);
    const accepted: number[] = [];
    const warnings: string[][] = groups.map(() => []);
    const lockRefs = hasLockRefs(this.repo.commonDir); // one readdir for the batch, not per write
    const ahead: WriteItem[] = [];
    for (const [i, { items, check }] of groups.entries()) {
      try {
        check?.(ahead);
        if (lockRefs) warnings[i] = await checkLocks(this, items); // lock_policy (docs/locks.md)
        accepted.push(i);
        ahead.push(...items);
      } catch (err) {
        results[i] = err as Error;
      }
    }
    if (accepted.length === 0) return results;
    const actor = fromHex(this.actorId, 16)!;
    // A long-lived context (a daemon worker) reads the actor's config and key again when they
    // change (reloadSettingsIfChanged): a key restored with its config.toml signs from the next write on.
    if (this.signer === undefined) this.signer = await loadSigner(this.actor.dir, this.actorId, this.actor.config.public_key);
    this.refuseOtherKeyHere();
    const made = new Map<string, Event[]>(); // this commit's events by issue, oldest first
    const byGroup: Event[][] = [];
    for (const i of accepted) {
      const stampedItems = this.stampGroup(groups[i].items, made, actor, this.signer ?? undefined);
      if (stampedItems instanceof GritError) return this.withoutGroup(groups, i, stampedItems);
      byGroup.push(stampedItems);
    }
    const events = byGroup.flat();
    const checked = accepted.map((i) => groups[i]);
    const recheck = checked.some((g) => g.check) ? () => this.recheck(checked) : undefined;
    const { commit, parent } = await this.wal.append(events, this.actorId, { madeOn, recheck });
    crashPoint('write:after-append');
    // The WAL ref is the commit point: from here the events are durable and acknowledged even if
    // the store (a cache) cannot take them now (disk full); the next command catches it up.
    try {
      // Usually nobody else wrote in between: apply what we hold instead of reading it back.
      if (!this.store.apply(events, parent, commit)) await this.refresh();
    } catch (err) {
      stderrWarnings.send(
        `written to the WAL (${commit}), but the store could not be updated (${toGritError(err).message}); the next command catches it up`,
      );
    }
    accepted.forEach((i, n) => (results[i] = { events: byGroup[n], wal_head: commit, warnings: warnings[i] }));
    return results;
  }

  /**
   * One group's items as events, each stamped after the newest event of its issue this writer
   * holds: in `made` (this commit's, by issue, oldest first, which they join) or in the store. A
   * conflict instead when one is a remove that would not take away the add it names (below).
   */
  private stampGroup(items: readonly WriteItem[], made: Map<string, Event[]>, actor: Uint8Array, sign: Signer | undefined): Event[] | GritError {
    const events: Event[] = [];
    for (const { issue_id, kind } of items) {
      const key = toHex(issue_id);
      let mine = made.get(key);
      if (!mine) made.set(key, (mine = []));
      const prev = mine.length > 0 ? mine[mine.length - 1] : this.store.lastEventOf(key);
      const ts = stampAfter(prev && exactTs(prev), Date.now());
      const member = removedMember(kind);
      const add = member === null ? undefined : this.newestAdd(key, member, mine);
      // Only after an add stamped 2^64 - 1: written, the remove would say it removed a member that stays.
      if (member !== null && add && !removeTakesAway(ts, exactTs(add))) return unremovableAdd(key, member, add);
      const event = makeEvent({ issue_id, actor, ...stamped(ts), parent: add?.event_id ?? prev?.event_id ?? null, kind }, sign);
      mine.push(event);
      events.push(event);
    }
    return events;
  }

  /**
   * `tryCommitGroups` again without group `i`, which gets `error`: the checks of the groups after
   * it took its items to be ahead of them (a dependency it removes, say).
   */
  private async withoutGroup(groups: readonly WriteGroup[], i: number, error: GritError): Promise<Array<WriteResult | Error>> {
    const rest = await this.tryCommitGroups(groups.filter((_, n) => n !== i));
    return [...rest.slice(0, i), error, ...rest.slice(i)];
  }

  /**
   * When another writer (another process, another actor) appended after the checks ran: the store
   * is caught up with the WAL and the checks run again, in order, so that what it appended is
   * checked against too (ChecksOutdated if it fails one).
   */
  private async recheck(groups: readonly WriteGroup[]): Promise<void> {
    await this.refresh();
    const ahead: WriteItem[] = [];
    for (const { items, check } of groups) {
      try {
        check?.(ahead);
      } catch {
        throw new ChecksOutdated();
      }
      ahead.push(...items);
    }
  }

  /**
   * Refuses a write as an actor whose own config (a data dir outside the repository: GRIT_HOME)
   * names another public key than the repository's copy of its config: readers here check its
   * events against that copy (loadKeyring), so every event it wrote would be `invalid`, and under
   * `reject` its own store would drop what it had just acknowledged. Read each time (one file, for
   * such an actor only): the copy may be edited while a daemon worker lives.
   */
  private refuseOtherKeyHere(): void {
    const copyPath = join(actorsDir(this.repo), this.actorId, 'config.toml');
    const ownPath = join(this.actor.dir, 'config.toml');
    if (resolve(copyPath) === resolve(ownPath)) return;
    let copy: string | undefined;
    try {
      copy = readActorConfig(copyPath)?.public_key?.toLowerCase();
    } catch {
      return; // unreadable: its key is unknown here (doctor reports it), so nothing checks against it
    }
    const own = this.actor.config.public_key?.toLowerCase();
    if (copy === undefined || copy === own) return;
    throw new GritError('io_error', `this repository knows actor ${this.actorId} by another public key (${copy}, in ${copyPath}) than its own config says (${own ?? 'none'}, in ${ownPath}): its events would not verify here`, {
      environment: true,
      details: { actor_id: this.actorId, path: copyPath, public_key: copy, own_path: ownPath, own_public_key: own ?? null },
      suggestion: `make the two agree: copy ${ownPath} over ${copyPath} (or remove the copy), then write again`,
    });
  }

  /**
   * The newest event adding `member` that this writer has seen (`made` first: this commit's, all
   * newer than the store's): a remove's parent. The fold takes away the adds stamped no later than
   * it, so an add made meanwhile in another clone stays however much else of the issue this writer
   * had seen (docs/crdt.md, "Add/remove sets").
   */
  private newestAdd(issueHex: string, member: string, made: readonly Event[]): Event | undefined {
    const adds = (e: Event): boolean => addsMember(e.kind, member);
    for (let i = made.length - 1; i >= 0; i--) if (adds(made[i])) return made[i];
    return this.store.newestEventOf(issueHex, adds);
  }

  async close(): Promise<void> {
    this.keptReader?.stop();
    await this.storeHandle?.close();
    this.storeHandle = null;
  }

  /** Puts `copy` (made by `Store.copyTo`) back as the actor's store, closing the open one first. */
  async restoreStore(copy: string): Promise<void> {
    await this.close();
    renameSync(copy, storeFile(this.actor.dir));
  }
}

/**
 * The refusal of a remove whose member's newest add (the one its writer had seen) is stamped
 * 2^64 - 1: so would the remove be (no u64 is later), and an add in its own millisecond counts as
 * concurrent with it and stays (docs/crdt.md). Nothing is written rather than a remove that
 * removes nothing.
 */
function unremovableAdd(issueHex: string, member: string, add: Event): GritError {
  const ts = String(exactTs(add));
  return new GritError('conflict', `issue ${issueHex.slice(0, 8)}: the ${member} was added at ${ts}, the last timestamp a u64 holds, so no remove can be stamped after it and take it away`, {
    details: { issue_id: issueHex, member, add_event_id: toHex(add.event_id), added_ts: ts },
    suggestion: `nothing was written; \`grit issue show ${issueHex} --json\` lists the events stamped ${ts} (another writer's clock)`,
  });
}

/** A write's checks fail on the WAL head another writer moved: judge its groups again (RepoContext.recheck). */
class ChecksOutdated extends Error {}

/** WAL events a store that cannot be written now could not take (RepoContext.catchUp). */
interface Lag {
  admitted: AdmitResult;
  /** The store's WAL head, and the WAL head the events bring it to. */
  from: string | null;
  to: string;
  /** Why the store could not take them: a `store_unwritable` io_error. */
  cause: GritError;
}

function lagWarning({ admitted, cause }: Lag): string {
  const n = admitted.events.length;
  return `the store is ${plural(n, 'event')} behind the WAL and cannot catch up: ${cause.message}; this answer includes ${n === 1 ? 'it' : 'them'}, applied in memory only; ${cause.suggestion}`;
}

function storeKeepsMoving(): GritError {
  return new GritError('db_busy', 'the store keeps moving under this command', {});
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
