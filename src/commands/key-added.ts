/**
 * Which unsigned events of a keyed actor are its own from before it got the key (`init
 * --generate-key` on an actor that had written events), told apart from the rest for doctor's
 * verdict and advice only (docs/signing.md, "A key added later"). What the signature policy
 * applies or refuses never depends on this: a timestamp is whatever its writer put there, so
 * "stamped before the key" would let a backdated forgery through `reject`.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Keyring, SignatureProblem, SignatureStatus } from '../core/integrity.js';
import { signingKeyPath } from '../core/signing.js';
import type { ActorRef } from './new-actor.js';

export interface KeySplit {
  /** Unsigned events their actor wrote before its key was added. */
  beforeKey: SignatureProblem[];
  /** Every other problem: a bad signature, or none where the key existed (or its time is not known). */
  others: SignatureProblem[];
}

/** What the WAL says about when each actor's key existed, taken event by event in WAL order. */
export class KeyHistory {
  /** By actor (hex): the earliest stamp among its events whose signature verifies. The key existed by then. */
  private readonly signedBy = new Map<string, number>();
  /**
   * Ids (hex) of unsigned events met before their actor's first valid signature in WAL order. An
   * actor that has signed signs every later event (a write without its key is refused), so an
   * unsigned one after that is no event of the key's holder, whatever its stamp says.
   */
  private readonly unsignedEarly = new Set<string>();

  take(actor: string, eventId: string, ts: number, status: SignatureStatus): void {
    if (status === 'valid') {
      const t = this.signedBy.get(actor);
      if (t === undefined || ts < t) this.signedBy.set(actor, ts);
    } else if (status === 'missing' && !this.signedBy.has(actor)) {
      this.unsignedEarly.add(eventId);
    }
  }

  /**
   * An actor's key time is the earlier of its earliest validly signed stamp and `keyFiles`' time
   * for it; an unsigned event before both that time and the actor's first signature in the WAL
   * was written before the key. With neither time (a teammate's key that has signed nothing yet)
   * nothing can be placed, and its unsigned events stay among the others.
   */
  split(problems: readonly SignatureProblem[], keyFiles: ReadonlyMap<string, number>): KeySplit {
    const out: KeySplit = { beforeKey: [], others: [] };
    for (const p of problems) {
      const times = [this.signedBy.get(p.actor), keyFiles.get(p.actor)].filter((t) => t !== undefined);
      const early = p.problem === 'missing' && this.unsignedEarly.has(p.event_id) && times.length > 0 && p.ts_unix_ms < Math.min(...times);
      (early ? out.beforeKey : out.others).push(p);
    }
    return out;
  }
}

/**
 * When the keys whose secret is in this clone were made: their `keys/signing.key`'s modification
 * time (grit never writes over one). `acting`'s directory may be outside the repository (GRIT_HOME).
 */
export function keyFileTimes(actorsDir: string, keys: Keyring, acting: ActorRef | null | undefined): Map<string, number> {
  const times = new Map<string, number>();
  for (const id of keys.actors()) {
    const dir = acting?.config.actor_id === id ? acting.dir : join(actorsDir, id);
    try {
      times.set(id, statSync(signingKeyPath(dir)).mtimeMs);
    } catch {
      /* no secret key here (a teammate's public config): only the WAL dates this key */
    }
  }
  return times;
}
