/**
 * Doctor's `signatures` check: `db verify` over the WAL, with an actor's own events from before
 * it got a key told apart from the other problems (key-added.ts). Doctor fails only while the
 * store holds events a known key disowns (the other problems under `warn`), which `reject` and a
 * rebuild repair. What `reject` refuses stays in the append-only WAL for good, so it is a warning
 * that nothing can clear, as are pre-key events, applied or refused (docs/signing.md, "Doctor's
 * verdict").
 */
import type { SignaturePolicy } from '../core/config.js';
import type { Keyring, SignatureProblem } from '../core/integrity.js';
import { plural } from '../core/plural.js';
import type { Check } from './doctor-check.js';
import type { WalSurvey } from './doctor-wal.js';

const SEE = 'docs/signing.md, "A key added later"';

/** "this actor's key was added (actor …)", or for several actors each with its count. */
function whoseKey(events: SignatureProblem[]): string {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.actor, (counts.get(e.actor) ?? 0) + 1);
  if (counts.size === 1) return `this actor's key was added (actor ${events[0].actor})`;
  return `their actor's key was added (${[...counts].map(([actor, n]) => `actor ${actor}: ${n}`).join(', ')})`;
}

function beforeKeyFinding(events: SignatureProblem[], applied: boolean): { message: string; plan: string } {
  const what = `${plural(events.length, 'event')} written before ${whoseKey(events)}`;
  if (applied) {
    return {
      message: `${what}, applied unsigned`,
      plan:
        'the events written before the key was added cannot be signed now (the WAL is append-only): nothing to repair. ' +
        `Readers whose signature_policy is "reject" refuse them, and "reject" here would take them, and what they created or changed, out of your store (${SEE}).`,
    };
  }
  return {
    message: `${what}, refused by signature_policy = reject`,
    plan:
      'signature_policy = "reject" keeps the events written before the key out of your store, so the issues and changes they made are missing here. ' +
      `To see them, set signature_policy = "warn" in .git/grit/config.toml and run \`grit rebuild\` (${SEE}).`,
  };
}

function othersFinding(events: SignatureProblem[], applied: boolean, beforeKey: number): { message: string; plan: string } {
  const what = `${plural(events.length, 'event')} from known actors with a bad or missing signature`;
  const list =
    'list them with `grit db verify --json`: they claim to come from actors whose keys you know but were not signed with those keys, ' +
    'and nothing dates them before those keys were added. ';
  if (!applied) {
    return { message: `${what}, refused by this store`, plan: `${list}They stay in the WAL (it is append-only) and out of your store: nothing to repair.` };
  }
  const also = beforeKey ? ` (that also drops the ${plural(beforeKey, 'event')} written before the key)` : '';
  return {
    message: `${what}, APPLIED to this store (signature_policy = warn)`,
    plan: `${list}To drop them from your store set signature_policy = "reject" in .git/grit/config.toml and run \`grit rebuild\`${also}.`,
  };
}

/** `keyFiles`: when the keys whose secret is here were made (key-added.ts `keyFileTimes`), read only when there are problems. */
export function checkSignatures(policy: SignaturePolicy, survey: WalSurvey | undefined, keys: Keyring, keyFiles: () => ReadonlyMap<string, number>): Check {
  const ok = (message: string): Check => ({ id: 'signatures', status: 'ok', message, plan: null });
  if (policy === 'off') return ok('not checked: signature_policy = off');
  if (!survey) return ok('not checked: the WAL cannot be read (see wal_ref)');
  const r = survey.signatures!;
  const tail = `${r.signatures_valid} of ${r.signatures_checked} signatures valid, ${plural(r.unverified, 'event')} from actors with unknown keys (${plural(keys.size, 'known key')}, signature_policy = ${policy})`;
  if (r.error_count === 0) return ok(tail);
  // A bad copy of an event that also has a valid one is not what the store holds (it keeps the valid copy).
  const problems = r.errors.filter((e): e is SignatureProblem => e.problem !== 'wal_error' && !survey.validCopies.has(e.event_id));
  if (problems.length === 0 && r.errors.length > 0 && r.errors.every((e) => e.problem !== 'wal_error')) {
    return ok(`${tail}; ${plural(r.error_count, 'event')} also ${r.error_count === 1 ? 'has' : 'have'} a copy with a bad signature, which the store does not keep (\`grit db verify\` lists them)`);
  }
  const { beforeKey, others } = survey.keyHistory!.split(problems, keyFiles());
  const applied = policy === 'warn';
  const parts = [
    ...(others.length ? [othersFinding(others, applied, beforeKey.length)] : []),
    ...(beforeKey.length ? [beforeKeyFinding(beforeKey, applied)] : []),
  ];
  return {
    id: 'signatures',
    status: applied && others.length > 0 ? 'error' : 'warn',
    message: `${parts.map((p) => p.message).join('; ')}; ${tail}`,
    plan: parts.map((p) => p.plan).join(' '),
  };
}
