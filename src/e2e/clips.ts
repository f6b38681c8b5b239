// Clip sampling (seed 002's read_clip(start, num_frames, stride)): clip k holds frames
// start + k·hop + j·stride for j < numFrames, hop defaulting to numFrames·stride (clips follow each
// other without overlap). The assembler takes decoded frames in order and hands out clips as they
// complete; frames no clip needs are dropped at once, so they never occupy a queue.
import type { RgbFrame } from "../pipeline/frame.ts";

export interface ClipSampling {
  /** First frame index of the first clip. @default 0 */
  start: number;
  /** Frames per clip. @default 8 */
  numFrames: number;
  /** Distance between a clip's frames. @default 1 */
  stride: number;
  /** Distance between the first frames of consecutive clips. @default numFrames · stride */
  hop?: number;
  /** Stop after this many clips. @default every clip that fits the video */
  maxClips?: number;
}

export interface Clip {
  index: number;
  /** Source frame indices, ascending. */
  frameIndices: number[];
  frames: RgbFrame[];
  /** ms since the run began when the clip's last frame became available (decoded, or released by pacing). */
  readyAtMs: number;
}

export function checkSampling(s: ClipSampling): Required<Omit<ClipSampling, "maxClips">> & Pick<ClipSampling, "maxClips"> {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`--${name} must be an integer >= ${min}, got ${v}`);
  };
  int("start", s.start, 0);
  int("num-frames", s.numFrames, 1);
  int("stride", s.stride, 1);
  const hop = s.hop ?? s.numFrames * s.stride;
  int("hop", hop, 1);
  if (s.maxClips !== undefined) int("max-clips", s.maxClips, 1);
  return { start: s.start, numFrames: s.numFrames, stride: s.stride, hop, ...(s.maxClips !== undefined ? { maxClips: s.maxClips } : {}) };
}

/** Frame indices of clip k. */
export function clipFrameIndices(s: ClipSampling, k: number): number[] {
  const c = checkSampling(s);
  return Array.from({ length: c.numFrames }, (_, j) => c.start + k * c.hop + j * c.stride);
}

/** How many whole clips a video of `frameCount` frames yields. */
export function clipCount(s: ClipSampling, frameCount: number): number {
  const c = checkSampling(s);
  const span = (c.numFrames - 1) * c.stride + 1;
  const n = frameCount - c.start >= span ? Math.floor((frameCount - c.start - span) / c.hop) + 1 : 0;
  return c.maxClips !== undefined ? Math.min(n, c.maxClips) : n;
}

export class ClipAssembler {
  private readonly s: ReturnType<typeof checkSampling>;
  private readonly open = new Map<number, Clip>();

  constructor(sampling: ClipSampling, private readonly clips = Infinity) {
    this.s = checkSampling(sampling);
  }

  /** True when some clip still to be completed needs frame f. */
  needs(f: number): boolean {
    return this.clipsOf(f).length > 0;
  }

  /** Clip indices whose frames include f. */
  private clipsOf(f: number): number[] {
    const { start, numFrames, stride, hop } = this.s;
    if (f < start) return [];
    const out: number[] = [];
    const span = (numFrames - 1) * stride;
    const lo = Math.max(0, Math.ceil((f - start - span) / hop));
    const hi = Math.floor((f - start) / hop);
    for (let k = lo; k <= hi && k < this.clips; k++) {
      const off = f - (start + k * hop);
      if (off >= 0 && off <= span && off % stride === 0) out.push(k);
    }
    return out;
  }

  /** Adds decoded frame f (frames arrive in order); returns the clips it completes. */
  push(f: number, frame: RgbFrame, atMs: number): Clip[] {
    const done: Clip[] = [];
    for (const k of this.clipsOf(f)) {
      let clip = this.open.get(k);
      if (!clip) {
        clip = { index: k, frameIndices: [], frames: [], readyAtMs: 0 };
        this.open.set(k, clip);
      }
      clip.frameIndices.push(f);
      clip.frames.push(frame);
      if (clip.frames.length === this.s.numFrames) {
        clip.readyAtMs = atMs;
        this.open.delete(k);
        done.push(clip);
      }
    }
    return done;
  }
}
