/**
 * Event integrity: ids recomputed from content, Ed25519 signatures checked against the public
 * keys this repository knows, and the repo's `signature_policy` applied to events read from the
 * WAL (see docs/signing.md).
 *
 * Keys are learned from `.git/grit/actors/<id>/config.toml` (`public_key`, hex) and from the
 * acting actor's own config (which may live outside the repo, in GRIT_HOME). What a signature
 * can and cannot prove:
 *
 * - An actor whose key is known: its events must carry a valid signature. A bad signature
 *   (`invalid`) or none at all (`missing`) is a problem: `warn` keeps the event and reports it,
 *   `reject` refuses to apply it.
 * - An actor whose key is unknown: its events are *unverifiable*. They are applied under every
 *   policy and counted, never refused: anyone can mint a fresh actor id, so refusing unknown
 *   actors would only hide new teammates, not stop a forger. Signatures protect known actors
 *   from being impersonated; they do not decide who may write.
 *
 * Verification uses node's native Ed25519 (about 50x faster than the pure-JS signer), so a
 * rebuild of a large signed WAL stays cheap.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readActorConfig, type ActorConfig, type SignaturePolicy } from './config.js';
import type { Event } from './event.js';
import { fromHex, toHex } from './hex.js';
import { plural } from './plural.js';
import { warnings } from './warnings.js';

/** `valid`/`invalid`/`missing`: the actor's key is known. `unsigned`/`unknown_key`: it is not. */
export type SignatureStatus = 'valid' | 'invalid' | 'missing' | 'unsigned' | 'unknown_key';

export interface SignatureProblem {
  event_id: string;
  issue_id: string;
  actor: string;
  ts_unix_ms: number;
  problem: 'invalid' | 'missing';
  message: string;
}

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

function publicKeyObject(raw: Uint8Array): KeyObject | null {
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
  } catch {
    return null;
  }
}

/** Public keys by actor id (hex). */
export class Keyring {
  private readonly keys = new Map<string, KeyObject>();
  /** Actor configs whose `public_key` could not be used, with why. */
  readonly unusable: { actor_id: string; path: string; reason: string }[] = [];

  get size(): number {
    return this.keys.size;
  }

  has(actorHex: string): boolean {
    return this.keys.has(actorHex);
  }

  actors(): string[] {
    return [...this.keys.keys()].sort();
  }

  add(config: ActorConfig, path: string): void {
    if (!config.public_key) return;
    const raw = fromHex(config.public_key, 32);
    const key = raw && (config.key_scheme ?? 'ed25519') === 'ed25519' ? publicKeyObject(raw) : null;
    if (!key) {
      this.unusable.push({ actor_id: config.actor_id, path, reason: 'public_key is not a 32-byte hex Ed25519 key' });
      return;
    }
    this.keys.set(config.actor_id, key);
  }

  status(e: Event): SignatureStatus {
    const key = this.keys.get(toHex(e.actor));
    if (!key) return e.sig ? 'unknown_key' : 'unsigned';
    if (!e.sig) return 'missing';
    let ok = false;
    try {
      ok = cryptoVerify(null, e.event_id, key, e.sig);
    } catch {
      ok = false;
    }
    return ok ? 'valid' : 'invalid';
  }
}

/**
 * The keys of every actor under `<gritDir>/actors/`, plus `self` (the acting actor, wherever its
 * directory is). A directory with a broken config is skipped (doctor reports those).
 */
export function loadKeyring(gritDir: string, self?: { config: ActorConfig; dir: string }): Keyring {
  const ring = new Keyring();
  const base = join(gritDir, 'actors');
  let names: string[] = [];
  try {
    names = readdirSync(base).sort();
  } catch {
    /* no actors directory yet */
  }
  for (const name of names) {
    const path = join(base, name, 'config.toml');
    try {
      const config = readActorConfig(path);
      if (config) ring.add(config, path);
    } catch (err) {
      // Its events become unverifiable (accepted under every policy): doctor must say so.
      ring.unusable.push({ actor_id: name, path, reason: `unreadable, so its key is unknown: ${(err as Error).message}` });
    }
  }
  if (self?.config.public_key && !ring.has(self.config.actor_id)) ring.add(self.config, join(self.dir, 'config.toml'));
  return ring;
}

export const isProblem = (s: SignatureStatus): s is 'invalid' | 'missing' => s === 'invalid' || s === 'missing';

function describeProblem(e: Event, problem: 'invalid' | 'missing'): SignatureProblem {
  const actor = toHex(e.actor);
  return {
    event_id: toHex(e.event_id),
    issue_id: toHex(e.issue_id),
    actor,
    ts_unix_ms: e.ts_unix_ms,
    problem,
    message:
      problem === 'invalid'
        ? `event signature does not verify with actor ${actor}'s public key`
        : `actor ${actor} has a known key but the event is not signed`,
  };
}

export interface AdmitResult {
  /** The events to apply. */
  events: Event[];
  /** Events with a bad or missing signature from an actor whose key is known. */
  problems: SignatureProblem[];
  /** True when the problems were refused (policy reject), false when kept (warn). */
  refused: boolean;
}

/** The keys `admitEvents` checks signatures against; null when it checks none (`off`, or no keys known). */
export function checkingKeys(policy: SignaturePolicy, ring: () => Keyring): Keyring | null {
  if (policy === 'off') return null;
  const keys = ring();
  return keys.size > 0 ? keys : null;
}

/**
 * Applies the signature policy to events read from the WAL. `off`, or no known keys at all,
 * returns them untouched without verifying anything.
 */
export function admitEvents(policy: SignaturePolicy, ring: () => Keyring, events: Event[], held: (e: Event) => Event | undefined = () => undefined): AdmitResult {
  const keys = events.length === 0 ? null : checkingKeys(policy, ring);
  if (keys === null) return { events, problems: [], refused: false };
  const problems: SignatureProblem[] = [];
  const kept: Event[] = [];
  const validIds = new Set<string>();
  for (const e of events) {
    const status = keys.status(e);
    if (status === 'valid') validIds.add(toHex(e.event_id));
    if (isProblem(status)) {
      problems.push(describeProblem(e, status));
      if (policy === 'reject') continue;
      // The copy the store holds already, if it verifies, is the one it keeps.
      const stored = held(e);
      if (stored && keys.status(stored) === 'valid') validIds.add(toHex(e.event_id));
    }
    kept.push(e);
  }
  if (policy === 'reject') return { events: kept, problems, refused: true };
  // A bad copy of an event that comes with a valid copy, or whose valid copy the store holds, is
  // not what is applied: the store keeps the valid one (copyOrder), so only events whose every
  // copy here is bad are reported.
  return { events, problems: problems.filter((p) => !validIds.has(p.event_id)), refused: false };
}

export function reportAdmitted(r: AdmitResult): void {
  if (r.problems.length === 0) return;
  const n = r.problems.length;
  const what = `${plural(n, 'event')} with a bad or missing signature from a known actor`;
  warnings.send(
    r.refused
      ? `refused ${what} (signature_policy = reject); run \`grit db verify\` for details`
      : `applied ${what} (signature_policy = warn); run \`grit db verify\` for details`,
  );
}

/**
 * Orders two copies of one event (one id, so one content: the signature is not part of it), so
 * that every clone keeps the same copy whatever order they came in (docs/signing.md, "Two copies
 * of one event"): a copy whose signature verifies under its author's known key first, then the
 * smaller signature bytes (no signature is the smallest). Negative when `a` is the one to keep.
 */
export type CompareCopies = (a: Event, b: Event) => number;

const NO_SIG = new Uint8Array(0);

/** `CompareCopies` against the keys `keys` loads, loaded the first time two copies meet (seldom). */
export function copyOrder(keys: () => Keyring): CompareCopies {
  let ring: Keyring | undefined;
  const valid = (e: Event) => (ring ??= keys()).status(e) === 'valid';
  return (a, b) => {
    const [va, vb] = [valid(a), valid(b)];
    if (va !== vb) return va ? -1 : 1;
    return Buffer.compare(a.sig ?? NO_SIG, b.sig ?? NO_SIG);
  };
}

export interface VerifyReport {
  events_checked: number;
  signatures_checked: number;
  signatures_valid: number;
  /** Events whose actor's key is unknown (signed or not): applied, but not verifiable. */
  unverified: number;
  error_count: number;
  errors: (SignatureProblem | { problem: 'wal_error'; message: string })[];
}

/**
 * Verifies events one at a time against the keyring as a WAL is read, tallying a `VerifyReport`:
 * the body of `db verify` and of doctor's `signatures`, whose WAL pass verifies each event once for
 * both that report and its admission (`signature_policy = reject` keeps problems out of the store).
 */
export class Verifier {
  readonly report: VerifyReport = {
    events_checked: 0,
    signatures_checked: 0,
    signatures_valid: 0,
    unverified: 0,
    error_count: 0,
    errors: [],
  };

  constructor(private readonly keys: Keyring) {}

  /** Verifies and counts `e`; its status is a problem (`isProblem`) when a known actor's signature is bad or missing. */
  check(e: Event): SignatureStatus {
    const r = this.report;
    r.events_checked++;
    const status = this.keys.status(e);
    if (status === 'valid' || status === 'invalid') r.signatures_checked++;
    if (status === 'valid') r.signatures_valid++;
    if (status === 'unsigned' || status === 'unknown_key') r.unverified++;
    if (isProblem(status)) {
      r.errors.push(describeProblem(e, status));
      r.error_count = r.errors.length;
    }
    return status;
  }
}
