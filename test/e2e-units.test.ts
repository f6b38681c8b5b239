// The video pipeline's pure parts: a bounded queue that holds a fast producer back and passes a
// failure on, clip sampling as seed 002's read_clip(start, num_frames, stride) describes it, and the
// run figures (FPS, latency, jitter, CV) computed from clip timings exactly as documented.
import { describe, expect, it } from "vitest";
import { ClipAssembler, clipCount, clipFrameIndices } from "../src/e2e/clips.ts";
import { runFigures, type ClipTiming } from "../src/e2e/metrics.ts";
import { BoundedQueue } from "../src/e2e/queue.ts";
import { emptyFrame } from "../src/pipeline/frame.ts";

describe("BoundedQueue", () => {
  it("a producer waits while the queue is full; the consumer drains it in order, then sees the end", async () => {
    const q = new BoundedQueue<number>(2);
    const log: string[] = [];
    const producer = (async () => {
      for (let i = 0; i < 5; i++) {
        await q.put(i);
        log.push(`put ${i}`);
      }
      q.close();
    })();
    await new Promise((r) => setTimeout(r, 5));
    expect(log).toEqual(["put 0", "put 1"]); // the third put waits for room
    const got: number[] = [];
    for await (const x of q) got.push(x);
    await producer;
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(q.maxDepth).toBe(2);
  });

  it("fail() reaches a waiting consumer and any later producer", async () => {
    const q = new BoundedQueue<number>(1);
    const waiting = q.take();
    q.fail(new Error("decoder died"));
    await expect(waiting).rejects.toThrow("decoder died");
    await expect(q.put(1)).rejects.toThrow("decoder died");
    expect(() => new BoundedQueue(0)).toThrow(/capacity/);
  });
});

describe("clip sampling", () => {
  it("clip k holds start + k·hop + j·stride, hop defaulting to numFrames·stride", () => {
    const s = { start: 3, numFrames: 4, stride: 2 };
    expect(clipFrameIndices(s, 0)).toEqual([3, 5, 7, 9]);
    expect(clipFrameIndices(s, 1)).toEqual([11, 13, 15, 17]);
    expect(clipFrameIndices({ ...s, hop: 4 }, 1)).toEqual([7, 9, 11, 13]);
    // 100 frames: the last whole clip must end at or before frame 99
    expect(clipCount(s, 100)).toBe(12);
    expect(clipFrameIndices(s, 11)).toEqual([91, 93, 95, 97]);
    expect(clipCount({ ...s, maxClips: 3 }, 100)).toBe(3);
    expect(clipCount(s, 9)).toBe(0);
    expect(() => clipFrameIndices({ start: 0, numFrames: 0, stride: 1 }, 0)).toThrow(/--num-frames must be an integer >= 1/);
  });

  it("the assembler completes clips as frames arrive, overlapping clips share frames, unneeded frames are dropped", () => {
    const a = new ClipAssembler({ start: 0, numFrames: 3, stride: 2, hop: 2 }, 2);
    const f = emptyFrame(2, 2);
    const done: number[][] = [];
    const needed: number[] = [];
    for (let i = 0; i < 12; i++) {
      if (!a.needs(i)) continue;
      needed.push(i);
      for (const c of a.push(i, f, i * 10)) {
        done.push(c.frameIndices);
        expect(c.readyAtMs).toBe(i * 10);
      }
    }
    expect(done).toEqual([[0, 2, 4], [2, 4, 6]]);
    expect(needed).toEqual([0, 2, 4, 6]);
  });
});

describe("run figures", () => {
  const clip = (index: number, readyAtMs: number, doneAtMs: number, frames = 4): ClipTiming => ({ index, frames, readyAtMs, doneAtMs, decodeMs: 10, preprocessMs: 20, inferMs: 70 });

  it("steady completions give CV 0, zero jitter and the expected FPS; the first interval is the fill, reported apart", () => {
    const f = runFigures([clip(0, 50, 100), clip(1, 150, 160), clip(2, 250, 260), clip(3, 350, 360)], 360);
    expect(f.meanFps).toBeCloseTo(16 / 0.36, 9);
    expect(f.instantFps).toEqual([40, 40]);
    expect(f.fillIntervalFps).toBeCloseTo(4 / 0.06, 9);
    expect(f.instantFpsCv).toBe(0);
    expect(f.jitterMs).toBe(0);
    expect(f.latencyMs.p50).toBe(10);
    expect(f.stages).toMatchObject({ decodeMs: 40, preprocessMs: 80, inferMs: 280, share: { decode: 0.1, preprocess: 0.2, infer: 0.7 } });
  });

  it("uneven completions show up as jitter and CV", () => {
    const f = runFigures([clip(0, 0, 100), clip(1, 100, 200), clip(2, 200, 250), clip(3, 300, 400), clip(4, 400, 450)], 450);
    // steady intervals 50, 150, 50 ms → instantaneous 80, 26.7, 80 FPS
    expect(f.instantFps.map((x) => Math.round(x))).toEqual([80, 27, 80]);
    expect(f.jitterMs).toBeCloseTo(Math.sqrt(((50 - 250 / 3) ** 2 * 2 + (150 - 250 / 3) ** 2) / 3), 9);
    expect(f.instantFpsCv).toBeGreaterThan(0.3);
    expect(f.latencyMs.p95).toBeLessThanOrEqual(f.latencyMs.p99);
    expect(() => runFigures([], 0)).toThrow(/no clip/);
  });
});
