/** Subscribing to the daemon's notifications, and to a request's progress (a SUB socket on its PUB endpoint). */
import { GritError, invalidArgs } from '../core/errors.js';
import { notificationsEndpoint } from './daemon-paths.js';
import { decodeNotification, kindPrefix, type Notification, type NotificationKind } from './notifications.js';
import { decodeProgress, isProgressToken, progressTopic, type ProgressStep } from './progress.js';
import { SubClient } from './transport/index.js';

export interface WatchOptions {
  /** Defaults to this user's daemon. */
  endpoint?: string;
  /** Only these kinds (default: all). */
  kinds?: NotificationKind[];
}

export interface ProgressWatchOptions {
  /** Defaults to this user's daemon. */
  endpoint?: string;
  /** Default 5000. */
  connectTimeoutMs?: number;
}

export interface Watch {
  close(): void;
  /** Resolves when the subscription ends (closed here, or the daemon went away). */
  readonly ended: Promise<void>;
}

/** Calls `onBody` with each message published under one of `topics` (SUB prefixes). */
async function subscribe(endpoint: string, topics: string[], onBody: (body: Buffer) => void, connectTimeoutMs?: number): Promise<Watch> {
  let sub: SubClient;
  try {
    sub = await SubClient.connect(endpoint, { topics, connectTimeoutMs });
  } catch (err) {
    throw new GritError('ipc_error', `cannot subscribe to ${endpoint}: ${(err as Error).message}`, {
      suggestion: 'start the daemon with `grit daemon start`',
    });
  }
  sub.on('message', onBody);
  const ended = new Promise<void>((resolve) => sub.once('close', () => resolve()));
  return { close: () => sub.close(), ended };
}

export async function watchNotifications(onNotice: (n: Notification) => void, opts: WatchOptions = {}): Promise<Watch> {
  const topics = opts.kinds?.length ? opts.kinds.map(kindPrefix) : [''];
  return subscribe(opts.endpoint ?? notificationsEndpoint(), topics, (body) => {
    const n = decodeNotification(body);
    if (n) onNotice(n);
  });
}

/**
 * Calls `onStep` with each step the daemon publishes for the request sent with `progress: token`
 * (docs/daemon.md, "Progress"). Subscribe before sending the request: PUB/SUB keeps nothing for
 * a subscriber that comes later.
 */
export async function watchProgress(token: string, onStep: (step: ProgressStep) => void, opts: ProgressWatchOptions = {}): Promise<Watch> {
  if (!isProgressToken(token)) {
    throw invalidArgs('a progress token is 8 to 64 letters, digits, - or _', { field: 'token', value: token }, 'make one with newProgressToken()');
  }
  return subscribe(opts.endpoint ?? notificationsEndpoint(), [progressTopic(token)], (body) => {
    const step = decodeProgress(body, token);
    if (step) onStep(step);
  }, opts.connectTimeoutMs);
}
