/**
 * What the daemon publishes on its PUB socket (SPEC §7 optional extras): one JSON object per
 * message, `kind` first so that a SUB prefix such as `{"kind":"EventApplied"` selects a kind.
 * Clients ignore kinds they do not know.
 */
export const NOTIFICATION_KINDS = ['EventApplied', 'WalSynced', 'LockChanged', 'SnapshotCreated'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface Notification {
  kind: NotificationKind;
  ts: number;
  repo_root: string;
  actor_id: string;
  command: string;
  [field: string]: unknown;
}

interface Source {
  repo_root: string;
  actor_id: string;
}

const LOCK_COMMANDS = new Set(['LockAcquire', 'LockRenew', 'LockRelease', 'LockGc']);

/** The notification a command's successful result stands for, if any. */
export function notificationFor(command: string, data: unknown, source: Source): Notification | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  const base = { ts: Date.now(), ...source, command };
  if (command === 'Sync') {
    return { kind: 'WalSynced', ...base, pulled: d.pulled, pushed: d.pushed, wal_head: d.wal_head, events_rebased: d.events_rebased };
  }
  if (LOCK_COMMANDS.has(command)) return { kind: 'LockChanged', ...base, lock: d.lock ?? null };
  if (command === 'Snapshot') {
    return { kind: 'SnapshotCreated', ...base, snapshot_ref: d.snapshot_ref, wal_head: d.wal_head, event_count: d.event_count };
  }
  if (typeof d.event_id === 'string' && typeof d.wal_head === 'string') {
    return { kind: 'EventApplied', ...base, issue_id: d.issue_id ?? null, event_id: d.event_id, wal_head: d.wal_head };
  }
  return null;
}

export function encodeNotification(n: Notification): Buffer {
  return Buffer.from(JSON.stringify(n));
}

/** The SUB prefix that selects one kind. */
export function kindPrefix(kind: NotificationKind): string {
  return `{"kind":"${kind}"`;
}

/** A notification, or null for anything malformed or of an unknown kind. */
export function decodeNotification(body: Uint8Array): Notification | null {
  try {
    const n = JSON.parse(Buffer.from(body).toString('utf8'));
    return n && (NOTIFICATION_KINDS as readonly string[]).includes(n.kind) ? (n as Notification) : null;
  } catch {
    return null;
  }
}
