/**
 * Collects what is pushed during one turn of the event loop and hands it over as one list.
 *
 * Used where each send has a fixed cost far above the cost of one item: an IPC message (a
 * serialization and a syscall on both sides) or a Redis script run (a round trip and a script
 * call). A worker makes its store calls of one turn together — the starts of one pull, the
 * finishes of the tasks one reply released — so a turn's worth is the natural batch.
 */
export class TurnBatcher<T> {
  private items: T[] = [];
  private scheduled: NodeJS.Immediate | null = null;

  /** Late batches: how many of the first items have waited their extra turn. */
  private due = 0;

  private readonly flushSoon = (): void => this.flushNow();
  /** A late batch's first setImmediate: the items so far leave from the next one. */
  private readonly flushLater = (): void => {
    this.due = this.items.length;
    this.scheduled = setImmediate(this.flushDue);
  };
  /** A late batch's second setImmediate: items pushed since the first wait their own extra turn. */
  private readonly flushDue = (): void => {
    this.scheduled = null;
    const due = this.due;
    this.due = 0;
    if (due >= this.items.length) return this.flushNow();
    const items = this.items.slice(0, due);
    this.items = this.items.slice(due);
    this.scheduled = setImmediate(this.flushLater);
    if (items.length) this.flush(items);
  };

  /**
   * `flush` gets the items in push order; it must not throw. `late`: an item waits one more turn
   * (it leaves after the setImmediate callbacks queued behind it have run).
   */
  constructor(
    private readonly flush: (items: T[]) => void,
    private readonly late = false,
  ) {}

  /**
   * Adds an item. The batch leaves from a setImmediate: after every microtask of this turn (so
   * continuations of one batch of replies all join the same next batch), before the next I/O poll;
   * a late batch from the setImmediate after that.
   */
  push(item: T): void {
    this.items.push(item);
    this.scheduled ??= setImmediate(this.late ? this.flushLater : this.flushSoon);
  }

  /** Hands over what is pending now: before something that must not overtake it. */
  flushNow(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.due = 0;
    if (!this.items.length) return;
    const items = this.items;
    this.items = [];
    this.flush(items);
  }
}
