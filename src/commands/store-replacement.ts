/**
 * A store that a rebuild replaces: emptied only when the rebuild first writes, after its copy is
 * made (docs/reliability.md, "A rebuild never loses the store to an unreadable WAL").
 *
 * Until then the store stays as it was, so a WAL that cannot be read leaves it whole, and the
 * copy, made on LMDB's own thread, overlaps the reading instead of holding up its start
 * (docs/performance.md, Rebuild, "The store emptied when the fill begins").
 */
import { crashPoint } from '../core/fault.js';
import type { Store } from '../core/store.js';
import type { RebuildCopy } from './rebuild-copy.js';

export class StoreReplacement {
  private copied: Promise<void> | null;
  private emptying: Promise<void> | null = null;
  private done = false;

  /** Starts copying `store` to `copy` (null: nothing worth a copy, an empty store). */
  constructor(
    private readonly store: Store,
    readonly copy: RebuildCopy | null,
  ) {
    this.copied = copy ? store.copyTo(copy.path) : null;
    // Awaited where the store is emptied; a copy that fails before then is not an unhandled rejection.
    this.copied?.catch(() => undefined);
  }

  /** Whether the store was emptied (from then on, only its copy holds what it held). */
  get emptied(): boolean {
    return this.done;
  }

  /** Empties the store once its copy is made; a copy that failed throws, the store untouched. */
  empty(): Promise<void> {
    this.emptying ??= (async () => {
      await this.copied;
      crashPoint('rebuild:copied');
      this.store.clear();
      this.done = true;
    })();
    return this.emptying;
  }

  /** Waits for the copy (a failed one too) and removes it. */
  async discardCopy(): Promise<void> {
    await this.copied?.catch(() => undefined);
    this.copy?.remove();
  }
}
