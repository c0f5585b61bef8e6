/** Subscribing to the daemon's notifications (a SUB socket on its PUB endpoint). */
import { GritError } from '../core/errors.js';
import { notificationsEndpoint } from './daemon-paths.js';
import { decodeNotification, kindPrefix, type Notification, type NotificationKind } from './notifications.js';
import { SubClient } from './transport/index.js';

export interface WatchOptions {
  /** Defaults to this user's daemon. */
  endpoint?: string;
  /** Only these kinds (default: all). */
  kinds?: NotificationKind[];
}

export interface Watch {
  close(): void;
  /** Resolves when the subscription ends (closed here, or the daemon went away). */
  readonly ended: Promise<void>;
}

export async function watchNotifications(onNotice: (n: Notification) => void, opts: WatchOptions = {}): Promise<Watch> {
  const endpoint = opts.endpoint ?? notificationsEndpoint();
  let sub: SubClient;
  try {
    sub = await SubClient.connect(endpoint, { topics: opts.kinds?.length ? opts.kinds.map(kindPrefix) : [''] });
  } catch (err) {
    throw new GritError('ipc_error', `cannot subscribe to ${endpoint}: ${(err as Error).message}`, {
      suggestion: 'start the daemon with `grit daemon start`',
    });
  }
  sub.on('message', (body: Buffer) => {
    const n = decodeNotification(body);
    if (n) onNotice(n);
  });
  const ended = new Promise<void>((resolve) => sub.once('close', () => resolve()));
  return { close: () => sub.close(), ended };
}
