/**
 * A request's progress, as the daemon publishes it on its PUB socket for the client that asked
 * (the request's `progress` token; docs/daemon.md, "Progress"). One JSON object per message, kind
 * and token first, so that the client's SUB prefix selects its own request's only. Its kind is
 * none of the notifications' (notifications.ts): `grit watch` and other subscribers drop it, as
 * they drop any kind they do not know (SPEC §7).
 */
import { randomBytes } from 'node:crypto';

export const PROGRESS_KIND = 'Progress';

/** What a command is doing: a bar of `done` out of `total`, or, without a total, a line of text (a phase, git's meter). */
export interface ProgressStep {
  label: string;
  done: number | null;
  total: number | null;
}

export interface ProgressNotice extends ProgressStep {
  kind: typeof PROGRESS_KIND;
  token: string;
}

/** A token is plain (hex, `-`, `_`), so that it is spelt in the JSON as it is given, and a prefix selects it exactly. */
const TOKEN = /^[A-Za-z0-9_-]{8,64}$/;

export function isProgressToken(token: unknown): token is string {
  return typeof token === 'string' && TOKEN.test(token);
}

export function newProgressToken(): string {
  return randomBytes(16).toString('hex');
}

/** The SUB prefix of one request's progress. */
export function progressTopic(token: string): string {
  return `{"kind":"${PROGRESS_KIND}","token":${JSON.stringify(token)}`;
}

export function encodeProgress(token: string, step: ProgressStep): Buffer {
  const notice: ProgressNotice = { kind: PROGRESS_KIND, token, label: step.label, done: step.done, total: step.total };
  return Buffer.from(JSON.stringify(notice));
}

/** A step of the request of `token`, or null for anything else. */
export function decodeProgress(body: Uint8Array, token: string): ProgressStep | null {
  try {
    const n = JSON.parse(Buffer.from(body).toString('utf8'));
    if (n?.kind !== PROGRESS_KIND || n.token !== token || typeof n.label !== 'string') return null;
    const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return { label: n.label, done: count(n.done), total: count(n.total) };
  } catch {
    return null;
  }
}
