// The component flows of src/pipeline, split at their model calls so preprocessing and inference can
// be separate pipeline stages. A flow runs with an Infer that does not send anything: it records the
// request (tensors already resized/letterboxed) and waits. Starting a clip's flows is therefore the
// preprocess stage; answering the recorded requests over HTTP (after which each flow post-processes
// its answer and may ask again, as CLIP text does per prompt) is the infer stage.
import { componentBranch, runClip, runDepth, runDetections, runOpticalFlow, runPlaces, syntheticPrompts, type ComponentBranch, type ComponentResult, type Infer, type RgbFrame, type Tensor } from "../pipeline/index.ts";
import type { CatalogBranch } from "../spec/catalog.ts";
import { tensorBuffers, type BufferPool } from "../pipeline/buffers.ts";
import { BoundedQueue, drain } from "./queue.ts";

/** The routed branches the run calls, by role in the per-frame flows. */
export interface RoutedFlows {
  depth?: ComponentBranch;
  flow?: ComponentBranch;
  detections?: ComponentBranch;
  places?: ComponentBranch;
  clipImage?: ComponentBranch;
  clipText?: ComponentBranch;
}

/** Sorts routed catalog branches into flow roles; a component with no flow here is returned in `skipped`. */
export function routedFlows(branches: readonly CatalogBranch[]): { flows: RoutedFlows; skipped: string[] } {
  const flows: RoutedFlows = {};
  const skipped: string[] = [];
  for (const cb of branches) {
    const b = componentBranch(cb);
    switch (cb.component) {
      case "core_depth_midas":
        flows.depth = b;
        break;
      case "core_optical_flow":
        flows.flow = b;
        break;
      case "core_object_detections":
        flows.detections = b;
        break;
      case "core_places365":
        flows.places = b;
        break;
      case "core_clip":
        if (b.inputs[0]?.dtype === "INT64") flows.clipText = b;
        else flows.clipImage = b;
        break;
      default:
        skipped.push(`${cb.branch.name} (${cb.component}: no pipeline flow)`);
    }
  }
  if (flows.clipImage && !flows.clipText) {
    skipped.push(`${flows.clipImage.branch} (core_clip needs a text branch too)`);
    delete flows.clipImage;
  }
  return { flows, skipped };
}

/** Every branch name the flows call. */
export function flowBranches(f: RoutedFlows): string[] {
  return Object.values(f).map((b: ComponentBranch) => b.branch);
}

export interface PendingCall {
  model: string;
  inputs: readonly Tensor[];
  outputs: readonly string[];
  resolve: (out: Tensor[]) => void;
  reject: (e: unknown) => void;
}

/** A clip's flows, started: the requests they wait on and the results to come. */
export interface ClipJob {
  calls: BoundedQueue<PendingCall>;
  results: Promise<ComponentResult[]>;
  /** Flows started (one per frame per component, one per frame pair for optical flow). */
  flowCount: number;
  /** Where answered requests' buffers go back to (the pool the flows take from). */
  buffers?: BufferPool;
}

/** An Infer that queues requests on `calls` instead of sending them; flows take their inputs' memory from `buffers`. */
function capturingInfer(calls: BoundedQueue<PendingCall>, buffers?: BufferPool): Infer {
  const infer: Infer = (model, inputs, outputs) =>
    new Promise<Tensor[]>((resolve, reject) => {
      calls.put({ model, inputs, outputs, resolve, reject }).catch(reject);
    });
  if (buffers) infer.buffers = buffers;
  return infer;
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * Starts every flow of a clip with `infer` (each runs up to its first request), yielding to the event
 * loop between flows so answers already in are read promptly. Per frame: depth, detections, places,
 * CLIP image; per consecutive pair: optical flow. Resolves once all are started.
 */
export async function startFlows(frames: readonly RgbFrame[], f: RoutedFlows, infer: Infer): Promise<{ results: Promise<ComponentResult[]>; settled: Promise<unknown>; flowCount: number }> {
  const started: Promise<ComponentResult>[] = [];
  const start = async (run: () => Promise<ComponentResult>) => {
    started.push(run());
    await yieldToLoop();
  };
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    if (f.depth) await start(() => runDepth(infer, f.depth!, frame));
    if (f.flow && i + 1 < frames.length) await start(() => runOpticalFlow(infer, f.flow!, frame, frames[i + 1]!));
    if (f.detections) await start(() => runDetections(infer, f.detections!, frame));
    if (f.places) await start(() => runPlaces(infer, f.places!, frame));
    if (f.clipImage && f.clipText) await start(() => runClip(infer, f.clipImage!, f.clipText!, frame, []));
  }
  const results = Promise.all(started);
  results.catch(() => undefined); // observed by whoever awaits the results
  return { results, settled: Promise.allSettled(started), flowCount: started.length };
}

/**
 * The preprocess stage for one clip on this thread: its flows started, their requests queued on
 * `calls`. With a pool, the flows' inputs are taken from it and answered requests' buffers go back.
 */
export async function startClipFlows(frames: readonly RgbFrame[], f: RoutedFlows, buffers?: BufferPool): Promise<ClipJob> {
  const calls = new BoundedQueue<PendingCall>(Number.MAX_SAFE_INTEGER, "calls");
  const { results, settled, flowCount } = await startFlows(frames, f, capturingInfer(calls, buffers));
  // When every flow has settled no request can come any more: end the call stream.
  void settled.then(() => calls.close());
  return { calls, results, flowCount, ...(buffers ? { buffers } : {}) };
}

/**
 * The infer stage for one clip: answers its requests with `infer`, at most `inFlight` at a time (1:
 * strictly one after another; 2: the server reads the next request while it computes this one), then
 * its results.
 */
export async function answerClip(job: ClipJob, infer: Infer, inFlight = 1): Promise<{ results: ComponentResult[]; requests: number }> {
  const requests = await drain(job.calls, inFlight, async (call) => {
    try {
      const out = await infer(call.model, call.inputs, call.outputs);
      // sent and answered: the request's buffers can carry the next requests' tensors
      for (const b of tensorBuffers(call.inputs)) job.buffers?.give(b);
      call.resolve(out);
    } catch (e) {
      call.reject(e);
    }
  });
  return { results: await job.results, requests };
}

/** Once per run, like core_clip: the prompts' text embeddings (29 calls), ranked against one frame. */
export async function embedPrompts(infer: Infer, f: RoutedFlows, frame: RgbFrame): Promise<number> {
  if (!f.clipImage || !f.clipText) return 0;
  const prompts = syntheticPrompts();
  await runClip(infer, f.clipImage, f.clipText, frame, prompts);
  return prompts.length;
}
