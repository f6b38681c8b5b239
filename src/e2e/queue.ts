// A bounded async queue between two pipeline stages: `put` waits while the queue is full (so a fast
// producer cannot run ahead and fill memory with frames), `take` waits while it is empty, `close`
// ends the stream, `fail` hands an error downstream. It also records the highest depth reached.

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private readonly takers: { resolve: (v: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private readonly putters: (() => void)[] = [];
  private closed = false;
  private error: unknown;
  private failed = false;
  /** Highest number of items held at once. */
  maxDepth = 0;

  constructor(readonly capacity: number, readonly name = "queue") {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`${name}: capacity must be a positive integer, got ${capacity}`);
  }

  get depth(): number {
    return this.items.length;
  }

  /** Waits for room, then enqueues; throws if the queue was closed or failed. */
  async put(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed && !this.failed) await new Promise<void>((r) => this.putters.push(r));
    if (this.failed) throw this.error;
    if (this.closed) throw new Error(`${this.name}: put after close`);
    const taker = this.takers.shift();
    if (taker) {
      taker.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    this.maxDepth = Math.max(this.maxDepth, this.items.length);
  }

  /** The next item, or done once the queue is closed and drained; rejects after `fail`. */
  take(): Promise<IteratorResult<T>> {
    if (this.failed) return Promise.reject(this.error);
    if (this.items.length > 0) {
      const item = this.items.shift() as T;
      this.putters.shift()?.();
      return Promise.resolve({ value: item, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.takers.push({ resolve, reject }));
  }

  /** No more items: takers drain what is left, then see done. */
  close(): void {
    this.closed = true;
    for (const t of this.takers.splice(0)) t.resolve({ value: undefined, done: true });
    for (const p of this.putters.splice(0)) p();
  }

  /** Passes an error to every waiting and future taker and putter (a stage failed). */
  fail(e: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = e;
    this.items.length = 0;
    for (const t of this.takers.splice(0)) t.reject(e);
    for (const p of this.putters.splice(0)) p();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const r = await this.take();
      if (r.done) return;
      yield r.value;
    }
  }
}

/**
 * Consumes `queue` until it is closed and drained, `concurrency` items at a time (at least one),
 * with `handle` (which settles each item itself); resolves with the number of items taken.
 */
export async function drain<T>(queue: BoundedQueue<T>, concurrency: number, handle: (item: T) => Promise<void>): Promise<number> {
  let taken = 0;
  const consumer = async () => {
    for (;;) {
      const next = await queue.take();
      if (next.done) return;
      taken++;
      await handle(next.value);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, consumer));
  return taken;
}
