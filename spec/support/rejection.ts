/**
 * The error a promise rejects with, for specs that look at it; fails when it resolves.
 */

/** Resolves to the error `promise` rejects with; rejects when it resolves instead. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}
