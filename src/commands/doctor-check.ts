/**
 * What every doctor check returns (a finding, and the fixes `--fix` may run) and the state the
 * checks share: later checks use what earlier ones found (doctor.ts runs them in order).
 */
import { DEFAULT_REPO_CONFIG, type RepoConfig } from '../core/config.js';
import type { Keyring } from '../core/integrity.js';
import type { StoreMeta } from '../core/store.js';
import type { RepoPaths } from '../git/repo.js';
import type { Wal } from '../git/wal.js';
import type { ActorRef } from './actors.js';
import type { WalSurvey } from './doctor-wal.js';
import type { DbCheck } from './db-commands.js';

export type CheckStatus = 'ok' | 'warn' | 'error';

export interface Check {
  id: string;
  status: CheckStatus;
  message: string;
  /** What `--fix` would do, or what a person should do; null when there is nothing to do. */
  plan: string | null;
}

export interface Fix {
  /** Fixes with the same key run once (store_integrity and rebuild_threshold share "rebuild"). */
  key: string;
  run: () => Promise<string>;
}

export interface Finding extends Check {
  fixes?: Fix[];
}

export const ok = (id: string, message: string): Finding => ({ id, status: 'ok', message, plan: null });

export interface ProbeResult {
  meta?: StoreMeta;
  check?: DbCheck;
  issue_count?: number;
  /** Why the store could not be read: a thrown error, or the probe dying by a signal. */
  failure?: string;
}

export interface State {
  repo?: RepoPaths;
  wal?: Wal;
  walHead?: string | null;
  /** The keys signatures are checked against (the acting actor's included). */
  keys?: Keyring;
  /** What the one pass over the WAL found (doctor-wal.ts); absent when the WAL cannot be read. */
  survey?: WalSurvey;
  config?: RepoConfig;
  actor?: ActorRef | null;
  probe?: ProbeResult;
  /** The store was built from another repository's WAL (store-owner.ts): nothing else of it is judged. */
  foreignStore?: boolean;
}

export const signaturePolicy = (s: State) => s.config?.signature_policy ?? DEFAULT_REPO_CONFIG.signature_policy;
