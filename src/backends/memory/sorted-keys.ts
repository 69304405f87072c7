/**
 * A sorted set of numbers kept in chunks of bounded size (the "sorted list of lists" layout):
 * add and delete cost a binary search plus a splice inside one chunk, and a walk from any key
 * downward costs what it reads. MemoryStore's listing indexes are made of these.
 */
const CHUNK = 512;

/** First index in sorted `a` whose value is >= key. */
function lowerBound(a: readonly number[], key: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as number) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SortedKeys {
  private chunks: number[][] = [];
  /** The last (largest) key of each chunk. */
  private maxes: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `key`; false when it was there already. */
  add(key: number): boolean {
    const last = this.chunks.length - 1;
    if (last < 0) {
      this.chunks.push([key]);
      this.maxes.push(key);
      this.count = 1;
      return true;
    }
    // Keys mostly arrive in increasing order (sequence numbers): append without searching.
    let c = (this.maxes[last] as number) < key ? last : lowerBound(this.maxes, key);
    if (c > last) c = last;
    const chunk = this.chunks[c] as number[];
    const at = lowerBound(chunk, key);
    if (chunk[at] === key) return false;
    chunk.splice(at, 0, key);
    this.maxes[c] = chunk[chunk.length - 1] as number;
    this.count += 1;
    if (chunk.length > 2 * CHUNK) {
      const upper = chunk.splice(CHUNK);
      this.chunks.splice(c + 1, 0, upper);
      this.maxes.splice(c, 1, chunk[chunk.length - 1] as number, upper[upper.length - 1] as number);
    }
    return true;
  }

  /** Removes `key`; false when it was not there. */
  delete(key: number): boolean {
    const c = lowerBound(this.maxes, key);
    const chunk = this.chunks[c];
    if (!chunk) return false;
    const at = lowerBound(chunk, key);
    if (chunk[at] !== key) return false;
    chunk.splice(at, 1);
    this.count -= 1;
    if (chunk.length) this.maxes[c] = chunk[chunk.length - 1] as number;
    else {
      this.chunks.splice(c, 1);
      this.maxes.splice(c, 1);
    }
    return true;
  }

  has(key: number): boolean {
    const chunk = this.chunks[lowerBound(this.maxes, key)];
    return chunk !== undefined && chunk[lowerBound(chunk, key)] === key;
  }

  /** The keys below `bound` (all when null), largest first. */
  *below(bound: number | null): Generator<number> {
    if (!this.chunks.length) return;
    let c: number;
    let i: number;
    if (bound === null) {
      c = this.chunks.length - 1;
      i = (this.chunks[c] as number[]).length - 1;
    } else {
      c = Math.min(lowerBound(this.maxes, bound), this.chunks.length - 1);
      i = lowerBound(this.chunks[c] as number[], bound) - 1;
    }
    for (; c >= 0; c--) {
      const chunk = this.chunks[c] as number[];
      if (i >= chunk.length) i = chunk.length - 1;
      for (; i >= 0; i--) yield chunk[i] as number;
      i = Infinity;
    }
  }

  clear(): void {
    this.chunks = [];
    this.maxes = [];
    this.count = 0;
  }
}
