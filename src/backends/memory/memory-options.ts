/**
 * Settings of a MemoryStore, and the copy it makes of what crosses its boundary.
 */

/** Settings of a MemoryStore. */
export interface MemoryStoreOptions {
  /**
   * Skip the store's own copies of the tasks it is given and gives out. Only for callers that hand
   * over what they pass (never touching it again) and only read what they get: in the bench the copies
   * were a quarter of the arbiter's CPU per task. The LocalStore actor's callers qualify: a worker child's calls
   * arrive freshly deserialized and their replies are serialized, and its in-process client
   * copies on both sides. A store that never mutates a stored task in place makes reading safe.
   */
  shareObjects?: boolean;
  /** The store's clock, epoch ms (default Date.now): leases, due times, expiry and ages follow it alone. */
  clock?: () => number;
}

const copy = <T>(value: T): T => structuredClone(value);
const same = <T>(value: T): T => value;

/** How the store copies a task crossing its boundary: not at all when callers hand tasks over. */
export function copierOf(options: MemoryStoreOptions): <T>(value: T) => T {
  return options.shareObjects ? same : copy;
}
