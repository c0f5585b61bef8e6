/**
 * `doctor [--fix]` (SPEC §5, §6): `{checks:[{id, status, message, plan}], applied}`.
 *
 * Checks, in order: git_repo, wal_ref, actor_config, actor_dirs, store_integrity,
 * rebuild_threshold, snapshots, dependency_cycles, signatures, lock_refs, temp_files. Doctor never
 * opens the store in its own process before a child process has read it without dying (a
 * truncated LMDB file kills whoever maps it), and never creates an actor. `--fix` makes only safe
 * local repairs: rebuild the store (a cache) from the WAL, remove lock files left by dead
 * processes under `.git/refs/grit/` and the actor directory, append again to the WAL the events
 * of a store that plain git overwrote the WAL under (what the next command would do:
 * lost-events.ts), replace a WAL with a hole (a commit git lacks) by one holding the same events
 * when the store holds every one of them, and delete actor directories an interrupted init left
 * that hold nothing (actor-dirs.ts). Beyond that it never touches refs, the WAL, snapshots,
 * configs, keys or remotes; for those the `plan` says what a person should do. After fixing, the
 * checks run again and report the repaired state.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GritError } from '../core/errors.js';
import { findRepo } from '../git/repo.js';
import { actorsDir } from './actors.js';
import { bool, type Args } from './args.js';
import type { CommandEnv, ContextOptions } from './context.js';
import { refuseEmptySelection } from './data-dir.js';
import { checkActor, checkActorDirs } from './doctor-actors.js';
import { ok, signaturePolicy, type Check, type Finding, type ProbeResult, type State } from './doctor-check.js';
import { checkDependencyCycles } from './doctor-dependency-cycles.js';
import { checkTempFiles } from './doctor-leftover-files.js';
import { checkLockRefs, checkSnapshots } from './doctor-refs.js';
import { checkSignatures } from './doctor-signatures.js';
import { checkRebuildThreshold, checkStoreIntegrity, startStoreProbe } from './doctor-store.js';
import { checkWal } from './doctor-wal-ref.js';
import { keyFileTimes } from './key-added.js';

export const CHECK_IDS = [
  'git_repo',
  'wal_ref',
  'actor_config',
  'actor_dirs',
  'store_integrity',
  'rebuild_threshold',
  'snapshots',
  'dependency_cycles',
  'signatures',
  'lock_refs',
  'temp_files',
] as const;

async function diagnose(opts: ContextOptions): Promise<Finding[]> {
  const s: State = {};
  const out: Finding[] = [];
  const failed = (id: string, err: unknown): Finding => ({ id, status: 'error', message: `the check itself failed: ${(err as Error).message}`, plan: null });
  const check = async (id: string, fn: () => Finding | Promise<Finding>): Promise<Finding> => {
    try {
      return await fn();
    } catch (err) {
      return failed(id, err);
    }
  };
  const guard = async (id: string, fn: () => Finding | Promise<Finding>) => out.push(await check(id, fn));
  try {
    s.repo = findRepo(opts.cwd);
    if (!existsSync(join(s.repo.commonDir, 'objects')) || !existsSync(join(s.repo.commonDir, 'HEAD'))) {
      throw new Error(`${s.repo.commonDir} is not a complete git directory (no objects/ or HEAD)`);
    }
  } catch (err) {
    // A repository grit refuses (another user's, a SHA-256 one, a bare one: work in a clone) says itself what to do.
    const plan = (err instanceof GritError && err.suggestion) || 'run grit inside a git repository (`git init` creates one)';
    out.push({ id: 'git_repo', status: 'error', message: (err as Error).message, plan });
    for (const id of CHECK_IDS.slice(1)) out.push({ id, status: 'warn', message: 'not checked: no usable git repository', plan: null });
    return out;
  }
  const git = spawnSync('git', ['--version'], { encoding: 'utf8' });
  out.push(
    git.status === 0
      ? ok('git_repo', `${s.repo.root} (git dir ${s.repo.commonDir}); ${git.stdout.trim()}`)
      : { id: 'git_repo', status: 'warn', message: `${s.repo.root}: git is not on PATH (sync and snapshot gc need it)`, plan: 'install git' },
  );
  // Reported in CHECK_IDS order, but actor_config runs first: the WAL pass needs its keys and
  // policy. The store is read in a child process while this one reads the WAL.
  const actor = await check('actor_config', () => checkActor(s, opts));
  let store: Promise<ProbeResult> | Finding;
  try {
    store = startStoreProbe(s);
  } catch (err) {
    store = failed('store_integrity', err);
  }
  out.push(await check('wal_ref', () => checkWal(s, store)), actor);
  await guard('actor_dirs', () => checkActorDirs(s));
  await guard('store_integrity', () => checkStoreIntegrity(s, store));
  await guard('rebuild_threshold', () => checkRebuildThreshold(s));
  await guard('snapshots', () => checkSnapshots(s));
  await guard('dependency_cycles', () => checkDependencyCycles(s));
  await guard('signatures', () => checkSignatures(signaturePolicy(s), s.survey, s.keys!, () => keyFileTimes(actorsDir(s.repo!), s.keys!, s.actor)));
  await guard('lock_refs', () => checkLockRefs(s));
  await guard('temp_files', () => checkTempFiles(s));
  s.wal?.objects.close();
  return out;
}

export interface DoctorResult {
  checks: Check[];
  applied: string[];
  /** Fixes that were attempted and failed (empty unless --fix). */
  failed: string[];
}

export async function doctor(env: CommandEnv, args: Args): Promise<DoctorResult> {
  refuseEmptySelection(env.options);
  let findings = await diagnose(env.options);
  const applied: string[] = [];
  const failed: string[] = [];
  if (bool(args, 'fix')) {
    const done = new Set<string>();
    for (const f of findings) {
      for (const fix of f.fixes ?? []) {
        if (done.has(fix.key)) continue;
        done.add(fix.key);
        try {
          applied.push(await fix.run());
        } catch (err) {
          const plan = err instanceof GritError && err.suggestion ? `: ${err.suggestion}` : '';
          failed.push(`${f.id}: ${(err as Error).message}${plan}`);
        }
      }
    }
    if (done.size) findings = await diagnose(env.options);
  }
  const checks = findings.map(({ id, status, message, plan }) => ({ id, status, message, plan }));
  return { checks, applied, failed };
}
