/**
 * One at a time per key: the daemon's syncs of one repository with one remote take turns
 * (docs/daemon.md, "Progress"). Two at once would both fetch, check and apply the same remote
 * commits, the second for nothing; taking turns, the second finds them there, and its caller
 * can be told that it waits.
 */
export class Turns {
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Resolves, with the function that ends it, once it is this caller's turn for `key`; `onWait`
   * is called first when another's turn is running or queued.
   */
  async take(key: string, onWait: () => void): Promise<() => void> {
    const before = this.tails.get(key);
    let end!: () => void;
    const mine = new Promise<void>((r) => (end = r));
    const tail = before ? before.then(() => mine) : mine;
    this.tails.set(key, tail);
    if (before) {
      onWait();
      await before;
    }
    return () => {
      end();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
