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

  private readonly flushSoon = (): void => this.flushNow();
  private readonly flushLater = (): void => {
    this.scheduled = setImmediate(this.flushSoon);
  };

  /**
   * `flush` gets the items in push order; it must not throw. `late`: the batch waits one more turn
   * (it leaves after the setImmediate callbacks queued behind its first item have run).
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
    if (!this.items.length) return;
    const items = this.items;
    this.items = [];
    this.flush(items);
  }
}
