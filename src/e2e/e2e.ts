// npm run e2e's run: probe the video, route it by its resolution, warm the server up (the 29 CLIP
// prompts once, as core_clip does per run, and one synthetic clip through every flow), then one or
// more passes (pipelined and/or sequential, offline or realtime), each clip's timing appended to
// clips.jsonl as it finishes and summary.json rewritten after each pass; the HTML report at the end.
import { RunStore, runId } from "../bench/run-store.ts";
import { isUnreachable, serverProblem } from "../client/index.ts";
import { isUserError, UserError } from "../errors.ts";
import { syntheticFrame, type Infer } from "../pipeline/index.ts";
import type { Catalog } from "../spec/catalog.ts";
import { checkSampling, type ClipSampling } from "./clips.ts";
import { cpuMeter, type PassCpu } from "./cpu.ts";
import { describeVideoTools, probeVideo, videoTools, type VideoInfo, type VideoToolChoice, type VideoTools } from "./ffmpeg.ts";
import { answerClip, embedPrompts, flowBranches, routedFlows, startClipFlows } from "./flows.ts";
import { PreprocessThread } from "./preprocess-thread.ts";
import { e2eHtml } from "./report.ts";
import { routeVideo } from "./route-video.ts";
import { runPass, type E2eMode, type PassResult } from "./run.ts";

export const E2E_KIND = "triton-deploy.e2e";

/** What e2e needs from the server: which models are READY, and inference. */
export interface E2eServer {
  readonly url: string;
  readyModels(): Promise<Set<string>>;
  infer: Infer;
}

export interface PassPlan {
  mode: E2eMode;
  pipelined: boolean;
}

export interface E2eOptions {
  videoFile: string;
  catalog: Catalog;
  passes: PassPlan[];
  sampling: ClipSampling;
  /** Families or components to run. @default every family with a READY branch */
  components?: string[];
  paceFps?: number;
  queues?: { frames: number; clips: number };
  decodeThreads?: number;
  /** ffmpeg / ffprobe binaries named by flags; else FFMPEG_PATH / FFPROBE_PATH, PATH, the npm packages. */
  tools?: VideoToolChoice;
  /** Requests in flight in pipelined passes. @default 1 */
  inFlight?: number;
  /** Where pipelined passes run the flows. @default "thread" */
  preprocessOn?: "thread" | "main";
  /** CPU seconds of the server's processes so far, for each pass's CPU account (bench:e2e knows them for a serve-local it started). */
  serverCpuSeconds?: () => number | undefined;
  /** @default benchmarks/out */
  outDir?: string;
  /** @default "e2e" */
  prefix?: string;
  log?: (line: string) => void;
}

export interface PassSummary extends Omit<PassResult, "timings"> {
  name: string;
  /** CPU seconds the pass used, by part (client always; ffmpeg and server where they can be read). */
  cpu: PassCpu;
}

export interface E2eSummary {
  kind: typeof E2E_KIND;
  version: 1;
  runId: string;
  status: "running" | "complete" | "failed";
  error?: string;
  url: string;
  startedAt: string;
  finishedAt?: string;
  /** The ffmpeg and ffprobe that ran, and where they came from. */
  tools: VideoTools;
  video: VideoInfo;
  sampling: ReturnType<typeof checkSampling>;
  routing: { metric: number; resolved_model_mapping: Record<string, string>; models_used: string[]; decisions: { family: string; branch: string; reason: string; fallback?: string }[]; skipped: string[] };
  setup: { prompts: number; warmupMs: number; warmupRequests: number };
  passes: PassSummary[];
  /** Pipelined wall time / sequential wall time, per mode, where both ran. */
  ratios: Record<string, number>;
}

export interface E2eRun {
  summary: E2eSummary;
  store: RunStore;
  htmlFile: string;
  /** Per pass, every clip's timing (for charts and tests). */
  passes: PassResult[];
}

export function passName(p: PassPlan): string {
  return `${p.mode} ${p.pipelined ? "pipelined" : "sequential"}`;
}

export async function runE2e(server: E2eServer, o: E2eOptions): Promise<E2eRun> {
  const log = o.log ?? (() => undefined);
  const sampling = checkSampling(o.sampling);
  const tools = videoTools(o.tools);
  log(describeVideoTools(tools));
  const video = await probeVideo(o.videoFile, tools);
  const routed = routeVideo(o.catalog, await readyModels(server), video.width, video.height, o.components);
  const { flows, skipped } = routedFlows(routed.branches);
  const store = await RunStore.create(o.outDir ?? "benchmarks/out", runId(o.prefix ?? "e2e"));
  const summary: E2eSummary = {
    kind: E2E_KIND,
    version: 1,
    runId: store.id,
    status: "running",
    url: server.url,
    startedAt: new Date().toISOString(),
    tools,
    video,
    sampling,
    routing: {
      metric: routed.route.metric,
      resolved_model_mapping: routed.route.resolved_model_mapping,
      models_used: routed.route.models_used,
      decisions: routed.route.decisions.map((d) => ({ family: d.family, branch: d.branch, reason: d.reason, ...(d.fallback ? { fallback: d.fallback.reason } : {}) })),
      skipped,
    },
    setup: { prompts: 0, warmupMs: 0, warmupRequests: 0 },
    passes: [],
    ratios: {},
  };
  await store.writeSummary(summary);
  log(`video ${video.width}×${video.height} @ ${video.fps.toFixed(2)} fps (${video.codec}${video.frames ? `, ${video.frames} frames` : ""}); routed: ${flowBranches(flows).join(", ")}${skipped.length ? `; skipped ${skipped.join(", ")}` : ""}`);
  const results: PassResult[] = [];
  let thread: PreprocessThread | undefined;
  try {
    const w0 = performance.now();
    let warmupRequests = 0;
    const counting: Infer = (m, i, out) => {
      warmupRequests++;
      return server.infer(m, i, out);
    };
    const frame = syntheticFrame(video.width, video.height, 0);
    // a clip as long as the passes' (at least 2 frames for optical flow), so every flow is compiled hot
    const warmFrames = Array.from({ length: Math.max(2, sampling.numFrames) }, (_, t) => syntheticFrame(video.width, video.height, t));
    const warmClip = { index: -1, frameIndices: warmFrames.map((_, t) => t), frames: warmFrames, readyAtMs: 0 };
    summary.setup.prompts = await embedPrompts(counting, flows, frame);
    if (o.passes.some((p) => !p.pipelined) || (o.preprocessOn ?? "thread") === "main") await answerClip(await startClipFlows(warmClip.frames, flows), counting);
    if (o.passes.some((p) => p.pipelined) && (o.preprocessOn ?? "thread") === "thread") {
      // one thread for every pipelined pass, started (and warmed up) before any clock runs
      thread = await PreprocessThread.start(flows);
      const job = thread.submit(warmClip);
      await thread.answerAll(job, counting);
      const d = await job.done;
      if (d.error !== undefined) throw new Error(d.error);
    }
    summary.setup = { ...summary.setup, warmupMs: performance.now() - w0, warmupRequests };
    log(`warm-up: ${warmupRequests} requests in ${(summary.setup.warmupMs / 1000).toFixed(2)} s (${summary.setup.prompts} CLIP prompts embedded once)`);

    for (const p of o.passes) {
      const name = passName(p);
      log(`pass: ${name}`);
      const meter = cpuMeter(o.serverCpuSeconds);
      const r = await runPass({
        video,
        ffmpeg: tools.ffmpeg,
        sampling,
        mode: p.mode,
        pipelined: p.pipelined,
        flows,
        infer: server.infer,
        ...(o.queues ? { queues: o.queues } : {}),
        ...(o.paceFps !== undefined ? { paceFps: o.paceFps } : {}),
        ...(o.decodeThreads !== undefined ? { decodeThreads: o.decodeThreads } : {}),
        ...(o.inFlight !== undefined ? { inFlight: o.inFlight } : {}),
        ...(o.preprocessOn ? { preprocessOn: o.preprocessOn } : {}),
        ...(thread ? { preprocessThread: thread } : {}),
        onClip: (t) => void store.appendResult({ runId: store.id, pass: name, ...t }),
      });
      const cpu = meter();
      results.push(r);
      const { timings: _timings, ...rest } = r;
      summary.passes.push({ name, ...rest, cpu });
      summary.ratios = passRatios(summary.passes);
      await store.writeSummary(summary);
      const f = r.figures;
      log(`  ${f.clips} clips, ${f.frames} frames in ${(f.wallMs / 1000).toFixed(2)} s: ${f.meanFps.toFixed(1)} FPS, p95 ${f.latencyMs.p95.toFixed(0)} ms, jitter ${f.jitterMs.toFixed(1)} ms, CV ${f.instantFpsCv.toFixed(3)}`);
    }
    summary.status = "complete";
  } catch (e) {
    summary.status = "failed";
    summary.error = e instanceof Error ? e.message : String(e);
    if (isUserError(e)) throw e;
    // A model or the server failed mid-run: one clear line, not a stack (the summary keeps it too).
    throw new UserError({ message: `the video run failed: ${summary.error}`, hint: `partial results: ${store.dir}` }, 1);
  } finally {
    await thread?.close();
    summary.finishedAt = new Date().toISOString();
    await store.writeSummary(summary);
    await store.writeFile("report.html", e2eHtml(summary, results));
  }
  return { summary, store, htmlFile: `${store.dir}/report.html`, passes: results };
}

async function readyModels(server: E2eServer): Promise<Set<string>> {
  try {
    return await server.readyModels();
  } catch (e) {
    if (isUserError(e)) throw e;
    throw new UserError({ message: serverProblem(server.url, e), ...(isUnreachable(e) ? { hint: "start one (npm run serve-local -- --repo triton/models) or pass --url http://HOST:PORT" } : {}) }, 1);
  }
}

/** `<mode>.pipelinedOverSequential` = pipelined wall time / sequential wall time. */
export function passRatios(passes: readonly PassSummary[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const mode of ["offline", "realtime"] as const) {
    const p = passes.find((x) => x.mode === mode && x.pipelined);
    const s = passes.find((x) => x.mode === mode && !x.pipelined);
    if (p && s && s.figures.wallMs > 0) out[`${mode}.pipelinedOverSequential`] = p.figures.wallMs / s.figures.wallMs;
  }
  return out;
}
