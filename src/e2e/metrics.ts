// What a video run is judged by (seed 002): mean FPS, p95 latency, jitter and the coefficient of
// variation of the instantaneous FPS, plus the split of the work between decode, preprocess and
// inference. Pure: clip timings in, figures out.
//
// Definitions (also in the JSON, so readers need not guess):
// - FPS counts frames sent through the models (sampled frames), per second of wall time;
// - mean FPS = sampled frames / (last clip done − run start);
// - instantaneous FPS of clip i = its frames / (done_i − done_{i−1}), for i ≥ 2: the first clip is the
//   pipeline filling (ffmpeg starting, every stage's first item) and would put one outlier into a
//   steady-state figure, so its interval is reported apart (fillIntervalFps), not in CV or jitter;
// - CV = σ/μ of the instantaneous FPS; jitter = σ of the intervals done_i − done_{i−1} (ms), i ≥ 2;
// - latency of a clip = done − the moment its last frame was available (decoded, or released by
//   pacing in realtime mode): what the pipeline adds once a clip can start.
import { coefficientOfVariation, std, summarize, type LatencyStats } from "../bench/stats.ts";

export interface ClipTiming {
  index: number;
  frames: number;
  readyAtMs: number;
  doneAtMs: number;
  /** Work per stage for this clip, ms (decode: reading its frames; infer: requests and their answers). */
  decodeMs: number;
  preprocessMs: number;
  inferMs: number;
}

export interface StageSplit {
  decodeMs: number;
  preprocessMs: number;
  inferMs: number;
  /** Each stage's share of their sum. */
  share: { decode: number; preprocess: number; infer: number };
}

export interface RunFigures {
  clips: number;
  frames: number;
  wallMs: number;
  meanFps: number;
  latencyMs: LatencyStats;
  /** Steady state: clips 2… (see DEFINITIONS). */
  instantFps: number[];
  instantFpsCv: number;
  /** FPS of the interval between the first two clips, left out of instantFps. */
  fillIntervalFps?: number;
  jitterMs: number;
  /** Sum of each stage's work over the run (stages overlap in pipelined mode, so they may exceed wallMs). */
  stages: StageSplit;
  definitions: Record<string, string>;
}

export const DEFINITIONS: Record<string, string> = {
  meanFps: "sampled frames sent through the models / (last clip done − run start), per second",
  instantFps: "frames of clip i / (done_i − done_{i−1}), for i ≥ 2 in completion order (the first interval is the pipeline filling: fillIntervalFps)",
  instantFpsCv: "standard deviation / mean of instantFps",
  jitterMs: "standard deviation of done_i − done_{i−1} for i ≥ 2, ms",
  latencyMs: "clip done − the moment its last frame was available (decoded, or released at source pace in realtime mode)",
  stages: "decode: waiting for frame bytes from ffmpeg; preprocess: resize/letterbox/tensors up to the request; infer: request, answer and post-processing",
};

export function runFigures(timings: readonly ClipTiming[], wallMs: number): RunFigures {
  if (timings.length === 0) throw new RangeError("no clip was processed");
  const byDone = [...timings].sort((a, b) => a.doneAtMs - b.doneAtMs);
  const intervals: number[] = [];
  const instantFps: number[] = [];
  const fpsOf = (i: number) => {
    const dt = byDone[i]!.doneAtMs - byDone[i - 1]!.doneAtMs;
    return { dt, fps: dt > 0 ? byDone[i]!.frames / (dt / 1000) : Number.POSITIVE_INFINITY };
  };
  for (let i = 2; i < byDone.length; i++) {
    const { dt, fps } = fpsOf(i);
    intervals.push(dt);
    instantFps.push(fps);
  }
  const fill = byDone.length > 1 ? fpsOf(1).fps : undefined;
  const finiteFps = instantFps.filter(Number.isFinite);
  const frames = timings.reduce((s, t) => s + t.frames, 0);
  const lastDone = byDone.at(-1)!.doneAtMs;
  const sum = (k: "decodeMs" | "preprocessMs" | "inferMs") => timings.reduce((s, t) => s + t[k], 0);
  const d = sum("decodeMs");
  const p = sum("preprocessMs");
  const n = sum("inferMs");
  const total = d + p + n || 1;
  return {
    clips: timings.length,
    frames,
    wallMs,
    meanFps: lastDone > 0 ? frames / (lastDone / 1000) : 0,
    latencyMs: summarize(timings.map((t) => t.doneAtMs - t.readyAtMs)),
    instantFps: finiteFps,
    instantFpsCv: finiteFps.length > 1 ? coefficientOfVariation(finiteFps) : 0,
    ...(fill !== undefined && Number.isFinite(fill) ? { fillIntervalFps: fill } : {}),
    jitterMs: intervals.length > 1 ? std(intervals) : 0,
    stages: { decodeMs: d, preprocessMs: p, inferMs: n, share: { decode: d / total, preprocess: p / total, infer: n / total } },
    definitions: DEFINITIONS,
  };
}
