/**
 * Warnings a command gives while it runs (a store rebuilt, events applied under the signature
 * policy, an actor created): on stderr as `grit: warning: …`, unless redirected. A daemon's
 * threads redirect them into the reply of the request being served (src/workers/actor-worker.ts).
 */
export const warnings = {
  send: (message: string): void => {
    process.stderr.write(`grit: warning: ${message}\n`);
  },
};

/** Runs `fn`, which must be synchronous, with its warnings gathered into `into` instead of sent. */
export function gatherWarnings<T>(into: string[], fn: () => T): T {
  const send = warnings.send;
  warnings.send = (message) => into.push(message);
  try {
    return fn();
  } finally {
    warnings.send = send;
  }
}
