/**
 * `node store-probe.js <actorDir> [sharedPerm]`: opens an actor's store and checks it (`db check`), printing
 * `{meta, check, issue_count}` as JSON. Doctor runs this in a child process because a truncated
 * or corrupted LMDB file can kill the process that maps it (SIGBUS/SIGSEGV), and doctor must
 * survive to report it.
 */
import { loadFastHash } from '../core/hash.js';
import { Store } from '../core/store.js';
import { checkStore } from './db-commands.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: store-probe <actorDir> [sharedPerm]\n');
  process.exit(2);
}
try {
  await loadFastHash(); // every stored event id is recomputed (as `db check` does)
  // LMDB makes its lock file when it is missing: as core.sharedRepository says (StoreOptions.sharedPerm).
  const store = Store.open(dir, { sharedPerm: Number(process.argv[3] ?? 0) });
  const meta = store.getMeta();
  const check = checkStore(store);
  const issue_count = store.issueCount();
  await store.close();
  process.stdout.write(JSON.stringify({ meta, check, issue_count }) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ error: (err as Error).message }) + '\n');
  process.exitCode = 1;
}
