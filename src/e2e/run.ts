// One pass over a video: decode (ffmpeg, its own process) → clips → preprocess → infer. Pipelined,
// the stages run at once and hand work on through bounded queues: decoded frames (level 1), complete
// clips (level 2), and a one-slot hand-off of preprocessed requests, so the next clip is decoded and
// preprocessed while the server works on this one. Sequential, each clip is decoded, preprocessed
// and inferred before the next frame is read. `offline` runs as fast as it can; `realtime` releases
// frame f at start + f/fps, as a live source would, and latency counts from that moment.
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../errors.ts";
import type { Infer } from "../pipeline/tensor.ts";
import { ClipAssembler, checkSampling, type Clip, type ClipSampling } from "./clips.ts";
import { FrameDecoder, type FrameSource, type VideoInfo, type VideoTool } from "./ffmpeg.ts";
import { answerClip, startClipFlows, type ClipJob, type RoutedFlows } from "./flows.ts";
import { PreprocessThread, type RemoteClipJob } from "./preprocess-thread.ts";
import { runFigures, type ClipTiming, type RunFigures } from "./metrics.ts";
import { BoundedQueue } from "./queue.ts";
import type { RgbFrame } from "../pipeline/frame.ts";
import { BufferPool } from "../pipeline/buffers.ts";

export type E2eMode = "offline" | "realtime";

export interface PassOptions {
  video: VideoInfo;
  /** The ffmpeg that decodes. @default the one the lookup finds (flag, FFMPEG_PATH, PATH, npm package) */
  ffmpeg?: VideoTool;
  sampling: ClipSampling;
  mode: E2eMode;
  /** Overlap the stages (default) or run them one after another. */
  pipelined: boolean;
  flows: RoutedFlows;
  infer: Infer;
  /** Capacities of the frame and clip queues. @default { frames: 2 · numFrames, clips: 2 } */
  queues?: { frames: number; clips: number };
  /** Source pace in realtime mode. @default the video's frame rate */
  paceFps?: number;
  /** Stop after this many clips. @default every clip of the video (or sampling.maxClips) */
  maxClips?: number;
  decodeThreads?: number;
  /** Requests in flight in the infer stage when pipelined (sequential passes always send one at a time). @default 1 */
  inFlight?: number;
  /** Where pipelined passes run the flows: their own thread (the main thread then only talks HTTP) or this one. @default "thread" */
  preprocessOn?: "thread" | "main";
  /** A started preprocess thread to use (and leave running) instead of starting one for this pass. */
  preprocessThread?: PreprocessThread;
  /** Called as each clip finishes (progress). */
  onClip?: (t: ClipTiming) => void;
}

export interface PassResult {
  mode: E2eMode;
  pipelined: boolean;
  figures: RunFigures;
  timings: ClipTiming[];
  /** Inference requests sent. */
  requests: number;
  /** Highest depth each queue reached (pipelined only). */
  queueMax?: { frames: number; clips: number; prepared: number };
  /** Video seconds covered per wall second (1 = real time). */
  realtimeFactor: number;
  /** Frames per second the source released in realtime mode. */
  paceFps?: number;
  framesDecoded: number;
}

interface Clock {
  t0: number;
  now(): number;
}

function clock(): Clock {
  const t0 = performance.now();
  return { t0, now: () => performance.now() - t0 };
}

/** Runs one pass; throws the first stage failure (a decode error, a model error) after stopping ffmpeg. */
export async function runPass(o: PassOptions): Promise<PassResult> {
  const sampling = checkSampling({ ...o.sampling, ...(o.maxClips !== undefined ? { maxClips: o.maxClips } : {}) });
  const clips = sampling.maxClips ?? Infinity;
  const lastFrame = Number.isFinite(clips) ? sampling.start + (clips - 1) * sampling.hop + (sampling.numFrames - 1) * sampling.stride : undefined;
  const q = o.queues ?? { frames: 2 * sampling.numFrames, clips: 2 };
  const decodeOpts = { ...(o.ffmpeg ? { ffmpeg: o.ffmpeg } : {}), ...(lastFrame !== undefined ? { maxFrames: lastFrame + 1 } : {}), ...(o.decodeThreads !== undefined ? { threads: o.decodeThreads } : {}) };
  // ffmpeg decodes in its own process; bytes are read as the decode stage asks. Sequential: ffmpeg
  // waits (its pipe full) while a clip is processed. Pipelined: this thread only talks HTTP while the
  // preprocess thread works, so the decode stage keeps reading, up to the frame queue's capacity ahead.
  const decoder: FrameSource = new FrameDecoder(o.video, decodeOpts);
  const assembler = new ClipAssembler(sampling, clips);
  const fps = o.paceFps ?? o.video.fps;
  const c = clock();
  // Realtime: the source's clock starts when its first frame is there (not when ffmpeg is spawned),
  // and frame f is released (f − start)/fps later.
  let origin: number | undefined;
  const releaseAt = (f: number) => (origin ??= c.now()) + ((f - sampling.start) / fps) * 1000;
  const pace = async (f: number) => {
    if (o.mode !== "realtime") return c.now();
    const wait = releaseAt(f) - c.now();
    if (wait > 0) await sleep(wait);
    return Math.min(releaseAt(f), c.now());
  };
  const timings: ClipTiming[] = [];
  // request buffers reused across clips when flows run on this thread (the preprocess thread has its own)
  const buffers = new BufferPool();
  let requests = 0;
  let decodeSince = 0;
  const finish = (clip: Clip, preprocessMs: number, inferMs: number, decodeMs: number) => {
    const t: ClipTiming = { index: clip.index, frames: clip.frames.length, readyAtMs: clip.readyAtMs, doneAtMs: c.now(), decodeMs, preprocessMs, inferMs };
    timings.push(t);
    o.onClip?.(t);
  };
  const serve = async (job: ClipJob) => {
    const r = await answerClip(job, o.infer, o.pipelined ? (o.inFlight ?? 1) : 1);
    requests += r.requests;
  };
  const decodeTaken = () => {
    const d = decoder.waitMs - decodeSince;
    decodeSince = decoder.waitMs;
    return d;
  };

  let queueMax: PassResult["queueMax"];
  // Pipelined passes preprocess on their own thread unless told otherwise (or given one to share).
  const ownThread = o.pipelined && (o.preprocessOn ?? "thread") === "thread" && !o.preprocessThread;
  let thread: PreprocessThread | undefined = o.pipelined && (o.preprocessOn ?? "thread") === "thread" ? o.preprocessThread : undefined;
  try {
    if (ownThread) thread = await PreprocessThread.start(o.flows);
    if (!o.pipelined) {
      for (let f = 0; ; f++) {
        if (lastFrame !== undefined && f > lastFrame) break;
        const frame = await decoder.next();
        if (!frame) break;
        if (!assembler.needs(f)) continue;
        const at = await pace(f);
        for (const clip of assembler.push(f, frame, at)) {
          const decodeMs = decodeTaken();
          const p0 = performance.now();
          const job = await startClipFlows(clip.frames, o.flows, buffers);
          const p1 = performance.now();
          await serve(job);
          finish(clip, p1 - p0, performance.now() - p1, decodeMs);
        }
      }
    } else {
      const frames = new BoundedQueue<{ f: number; frame: RgbFrame; at: number }>(q.frames, "frames");
      const ready = new BoundedQueue<{ clip: Clip; decodeMs: number }>(q.clips, "clips");
      const prepared = new BoundedQueue<{ clip: Clip; decodeMs: number; preprocessMs: number; job?: ClipJob; remote?: RemoteClipJob }>(1, "prepared");
      const all = [frames, ready, prepared];
      const stage = (run: () => Promise<void>, out?: { close(): void }) =>
        run().then(
          () => out?.close(),
          (e: unknown) => {
            for (const x of all) x.fail(e);
            throw e;
          },
        );
      await Promise.all([
        stage(async () => {
          for (let f = 0; ; f++) {
            if (lastFrame !== undefined && f > lastFrame) break;
            const frame = await decoder.next();
            if (!frame) break;
            if (!assembler.needs(f)) continue;
            await frames.put({ f, frame, at: await pace(f) });
          }
        }, frames),
        stage(async () => {
          for await (const x of frames) {
            for (const clip of assembler.push(x.f, x.frame, x.at)) await ready.put({ clip, decodeMs: decodeTaken() });
          }
        }, ready),
        thread
          ? stage(async () => {
              for await (const r of ready) {
                const remote = thread!.submit(r.clip);
                await prepared.put({ ...r, remote, preprocessMs: await remote.started });
              }
            }, prepared)
          : stage(async () => {
              for await (const r of ready) {
                const p0 = performance.now();
                const job = await startClipFlows(r.clip.frames, o.flows, buffers);
                await prepared.put({ ...r, job, preprocessMs: performance.now() - p0 });
              }
            }, prepared),
        stage(async () => {
          for await (const p of prepared) {
            const i0 = performance.now();
            if (p.remote) {
              requests += await thread!.answerAll(p.remote, o.infer, o.inFlight ?? 1);
              const d = await p.remote.done;
              if (d.error !== undefined) throw new Error(d.error);
              finish(p.clip, d.preprocessMs, performance.now() - i0, p.decodeMs);
            } else {
              await serve(p.job!);
              finish(p.clip, p.preprocessMs, performance.now() - i0, p.decodeMs);
            }
          }
        }),
      ]);
      queueMax = { frames: frames.maxDepth, clips: ready.maxDepth, prepared: prepared.maxDepth };
    }
  } finally {
    await decoder.close();
    if (ownThread) await thread?.close();
  }
  if (timings.length === 0) {
    throw new UserError({ file: o.video.file, message: `no whole clip in the video: ${decoder.count} frame(s) decoded, a clip spans ${(sampling.numFrames - 1) * sampling.stride + 1} frames from frame ${sampling.start}`, hint: "use a longer video, or fewer --num-frames / a smaller --stride / --start" }, 2);
  }
  const wallMs = Math.max(...timings.map((t) => t.doneAtMs));
  // Video time the clips span (frame start … the last clip's last frame), against the wall time
  // since the source started (its first frame, in realtime mode).
  const lastIndex = Math.max(...timings.map((t) => t.index));
  const covered = (lastIndex * sampling.hop + (sampling.numFrames - 1) * sampling.stride + 1) / o.video.fps;
  return {
    mode: o.mode,
    pipelined: o.pipelined,
    figures: runFigures(timings, wallMs),
    timings,
    requests,
    ...(queueMax ? { queueMax } : {}),
    realtimeFactor: covered / ((wallMs - (origin ?? 0)) / 1000),
    ...(o.mode === "realtime" ? { paceFps: fps } : {}),
    framesDecoded: decoder.count,
  };
}
