/**
 * Things that expire a fixed time after they were added, all watched by one
 * timer: what a per-request `setTimeout`, with its timer object and its
 * closure, would otherwise do for every request. Every item gets the same
 * duration, so the map's insertion order is the order of the deadlines and
 * the first entry is always the next to expire (Node keeps its own timer
 * lists this way). Adding, refreshing and removing an item are map
 * operations; the timer fires at the earliest deadline that was pending
 * when it was set, and is then set again for the first one left.
 */
export class ExpiryList<T extends object> {
  readonly #deadlines = new Map<T, number>();
  readonly #ms: number;
  readonly #expire: (item: T) => void;
  #timer: NodeJS.Timeout | undefined;

  /** `expire` is called with each item still in the list `ms` after it was last added. */
  constructor(ms: number, expire: (item: T) => void) {
    this.#ms = ms;
    this.#expire = expire;
  }

  /** Starts the item's clock, or starts it again. */
  add(item: T): void {
    const deadline = performance.now() + this.#ms;
    this.#deadlines.delete(item);
    this.#deadlines.set(item, deadline);
    if (this.#timer === undefined) this.#arm(deadline);
  }

  /** Stops the item's clock. */
  delete(item: T): void {
    this.#deadlines.delete(item);
  }

  get size(): number {
    return this.#deadlines.size;
  }

  #arm(deadline: number): void {
    // Never a 0 ms timer: one that fires a little early finds the deadline a millisecond away.
    this.#timer = setTimeout(this.#check, Math.max(1, Math.ceil(deadline - performance.now())));
    // The requests keep the process alive, not their clocks.
    this.#timer.unref();
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (const [item, deadline] of this.#deadlines) {
      if (deadline > now) {
        this.#arm(deadline);
        return;
      }
      this.#deadlines.delete(item);
      this.#expire(item);
    }
  };
}
