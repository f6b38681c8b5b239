// Where flows get the memory of the tensors they send. Every frame needs the same few large inputs
// (a 512² image, a 640² FP32 letterbox, …); allocating each afresh costs zeroing, page faults and,
// above all, garbage collections (V8 starts one per ~64 MiB of new array buffers). A transport that
// is done with a request's buffers can hand them back to a pool, which gives them out again for
// the next tensor of the same size. Buffers from a pool hold old bytes: takers overwrite them all.

export interface Buffers {
  /** An ArrayBuffer of exactly `byteLength` bytes, contents unspecified. */
  take(byteLength: number): ArrayBuffer;
}

/** Fresh, zeroed buffers every time. */
export const FRESH_BUFFERS: Buffers = { take: (n) => new ArrayBuffer(n) };

/** Buffers handed back, kept by size (at most `perSize` of each) and given out before new ones. */
export class BufferPool implements Buffers {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Buffers given out again instead of allocated (for figures and tests). */
  reused = 0;

  constructor(private readonly perSize = 8) {}

  take(byteLength: number): ArrayBuffer {
    const b = this.free.get(byteLength)?.pop();
    if (b) {
      this.reused++;
      return b;
    }
    return new ArrayBuffer(byteLength);
  }

  /** Takes a buffer back; a detached one (moved to another thread, length 0) is ignored. */
  give(b: ArrayBuffer): void {
    if (b.byteLength === 0) return;
    let list = this.free.get(b.byteLength);
    if (!list) this.free.set(b.byteLength, (list = []));
    if (list.length < this.perSize && !list.includes(b)) list.push(b);
  }
}

/** The distinct ArrayBuffers under `tensors`' data (what a postMessage can transfer or a pool take back). */
export function tensorBuffers(tensors: readonly { data: ArrayBufferView }[]): ArrayBuffer[] {
  return [...new Set(tensors.map((t) => t.data.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer))];
}
