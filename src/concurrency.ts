// Bounded concurrency: run an async task per item with at most `width` in flight, in item order.
// One helper for the few places that need it (placing exports, loading models, bench's workers).

/** Calls `task` for every item, at most `width` at once; rejects with the first failure once every started task has settled. */
export async function forEachLimited<T>(items: readonly T[], width: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        await task(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, worker));
  if (failure) throw failure.error;
}

/** At most `width` holders at once; the rest wait, first come, first served (e.g. a model's instances). */
export class Semaphore {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly width: number) {}

  /** Resolves once a place is free; the caller must release() it. */
  async acquire(): Promise<void> {
    if (this.held < this.width) {
      this.held++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Hands the place to the longest waiter, or frees it. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held--;
  }
}
