/**
 * A binary min-heap: O(log N) push and pop, O(1) peek. MemoryStore orders its delayed tasks and
 * its leases with it; entries that lost their meaning stay in until they surface (lazy deletion)
 * or the owner rebuilds the heap from what is still live.
 */
export class BinaryHeap<T> {
  private items: T[] = [];

  /** `before(a, b)`: a comes out first. */
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = items[parent] as T;
      if (!this.before(item, above)) break;
      items[i] = above;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length && last !== undefined) this.sink(last, 0);
    return top;
  }

  /** Keeps only the entries `keep` accepts, in O(N) (a rebuild, not N removals). */
  retain(keep: (item: T) => boolean): void {
    this.items = this.items.filter(keep);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.sink(this.items[i] as T, i);
  }

  clear(): void {
    this.items = [];
  }

  /** Places `item` at `i` or below, moving smaller children up. */
  private sink(item: T, i: number): void {
    const items = this.items;
    const n = items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(items[right] as T, items[left] as T) ? right : left;
      if (!this.before(items[child] as T, item)) break;
      items[i] = items[child] as T;
      i = child;
    }
    items[i] = item;
  }
}
