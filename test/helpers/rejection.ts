import assert from 'node:assert/strict';

/** The error `p` rejects with, which must be a `type` (the test fails if `p` resolves). */
export function rejectionOf<E extends Error>(p: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  return p.then(
    () => assert.fail('the request should have failed'),
    (e: unknown) => {
      assert.ok(e instanceof type, String(e));
      return e;
    },
  );
}
