/**
 * A set of entries sorted by their unique `seq`, kept in chunks of bounded size (the "sorted list
 * of lists" layout): add and delete cost a binary search plus a splice inside one chunk, and a
 * walk from any seq downward costs what it reads. MemoryStore's listing indexes are made of these.
 */
const CHUNK = 512;

/** What the set sorts: anything with a unique, unchanging sequence number. */
export interface Sequenced {
  readonly seq: number;
}

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

/** First index in `a` (sorted by seq) whose seq is >= key. */
function lowerBoundSeq<T extends Sequenced>(a: readonly T[], key: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as T).seq < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Entries sorted by seq, in chunks of CHUNK to 2·CHUNK. */
export class SortedEntries<T extends Sequenced> {
  private chunks: T[][] = [];
  /** The last (largest) key of each chunk. */
  private maxes: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `entry`; false when its seq was there already. */
  add(entry: T): boolean {
    const key = entry.seq;
    const last = this.chunks.length - 1;
    if (last < 0) {
      this.chunks.push([entry]);
      this.maxes.push(key);
      this.count = 1;
      return true;
    }
    // Entries mostly arrive in increasing order (sequence numbers): append without searching.
    let c = (this.maxes[last] as number) < key ? last : lowerBound(this.maxes, key);
    if (c > last) c = last;
    const chunk = this.chunks[c] as T[];
    const at = lowerBoundSeq(chunk, key);
    if (chunk[at]?.seq === key) return false;
    if (at === chunk.length) chunk.push(entry);
    else chunk.splice(at, 0, entry);
    this.maxes[c] = (chunk[chunk.length - 1] as T).seq;
    this.count += 1;
    if (chunk.length > 2 * CHUNK) {
      const upper = chunk.splice(CHUNK);
      this.chunks.splice(c + 1, 0, upper);
      this.maxes.splice(c, 1, (chunk[chunk.length - 1] as T).seq, (upper[upper.length - 1] as T).seq);
    }
    return true;
  }

  /** Removes the entry of `key`; false when it was not there. */
  delete(key: number): boolean {
    const c = lowerBound(this.maxes, key);
    const chunk = this.chunks[c];
    if (!chunk) return false;
    const at = lowerBoundSeq(chunk, key);
    if (chunk[at]?.seq !== key) return false;
    chunk.splice(at, 1);
    this.count -= 1;
    if (chunk.length) this.maxes[c] = (chunk[chunk.length - 1] as T).seq;
    else {
      this.chunks.splice(c, 1);
      this.maxes.splice(c, 1);
    }
    return true;
  }

  /** The entries whose seq is below `bound` (all when null), largest first. */
  *below(bound: number | null): Generator<T> {
    if (!this.chunks.length) return;
    let c: number;
    let i: number;
    if (bound === null) {
      c = this.chunks.length - 1;
      i = (this.chunks[c] as T[]).length - 1;
    } else {
      c = Math.min(lowerBound(this.maxes, bound), this.chunks.length - 1);
      i = lowerBoundSeq(this.chunks[c] as T[], bound) - 1;
    }
    for (; c >= 0; c--) {
      const chunk = this.chunks[c] as T[];
      if (i >= chunk.length) i = chunk.length - 1;
      for (; i >= 0; i--) yield chunk[i] as T;
      i = Infinity;
    }
  }

  clear(): void {
    this.chunks = [];
    this.maxes = [];
    this.count = 0;
  }
}
