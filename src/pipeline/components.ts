// The component flows, as the pipeline runs them against a routed branch: what is sent (resize,
// letterbox, token ids), which calls are made (one per frame, two frames for flow, one per prompt for
// CLIP text) and what is made of the answer (EOT row, decode + NMS, top-k). Each flow checks every
// output it uses (dtype, shape, finite) and throws PipelineError naming the model otherwise.
import type { Buffers } from "./buffers.ts";
import type { RgbFrame } from "./frame.ts";
import { resizeBilinear } from "./resize.ts";
import { letterboxTensor, type LetterboxGeometry } from "./letterbox.ts";
import { decodeYolo, detectionsToSource, nonMaxSuppression, type DecodeOptions, type Detection, type NmsOptions } from "./yolo.ts";
import { clipTokenIds, eotIndex, l2Normalize, rankPrompts, selectEotEmbedding, syntheticPrompts } from "./clip.ts";
import { topK, type Ranked } from "./topk.ts";
import { expectOutput, PipelineError, tensorOf, type ComponentBranch, type Infer, type Tensor } from "./tensor.ts";
import type { TensorSpec } from "../spec/schema.ts";

/** Which flow runs a component (the `component` field of a family spec). */
export const COMPONENT_FLOWS = {
  core_depth_midas: "depth",
  core_optical_flow: "flow",
  core_clip: "clip",
  core_object_detections: "detections",
  core_places365: "places",
} as const;
export type ComponentName = keyof typeof COMPONENT_FLOWS;

export function isPipelineComponent(c: string): c is ComponentName {
  return Object.hasOwn(COMPONENT_FLOWS, c);
}

// ---- inputs ----

function onlyInput(b: ComponentBranch, i = 0): TensorSpec {
  const t = b.inputs[i];
  if (!t) throw new PipelineError(b.entry, `the spec gives no input ${i}`);
  return t;
}

/** A raw RGB image input: the frame resized (bilinear, aspect not kept) to the branch's S×S, UINT8 [1,S,S,3]. */
export function imageInput(b: ComponentBranch, spec: TensorSpec, frame: RgbFrame, buffers?: Buffers): Tensor {
  const [n, h, w, c] = spec.dims;
  if (spec.dtype !== "UINT8" || spec.dims.length !== 4 || n !== 1 || c !== 3) {
    throw new PipelineError(b.entry, `input ${spec.name} is ${spec.dtype} [${spec.dims.join(", ")}]; the pipeline sends raw RGB UINT8 [1, S, S, 3]`);
  }
  return tensorOf(spec, resizeBilinear(frame, w!, h!, buffers).data);
}

function firstOutput(b: ComponentBranch): TensorSpec {
  const t = b.outputs[0];
  if (!t) throw new PipelineError(b.entry, "the spec gives no output");
  return t;
}

async function call(infer: Infer, b: ComponentBranch, inputs: Tensor[]): Promise<Tensor> {
  const spec = firstOutput(b);
  return expectOutput(b.entry, await infer(b.entry, inputs, [spec.name]), spec);
}

function stats(d: ArrayLike<number>): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, mean: d.length ? sum / d.length : 0 };
}

// ---- flows ----

export interface DepthResult {
  kind: "depth";
  branch: string;
  min: number;
  max: number;
  mean: number;
}

/** core_depth_midas: one frame → relative depth [1, S, S]. */
export async function runDepth(infer: Infer, b: ComponentBranch, frame: RgbFrame): Promise<DepthResult> {
  const out = await call(infer, b, [imageInput(b, onlyInput(b), frame, infer.buffers)]);
  return { kind: "depth", branch: b.branch, ...stats(out.data as Float32Array) };
}

export interface OpticalFlowResult {
  kind: "flow";
  branch: string;
  meanMagnitude: number;
  maxMagnitude: number;
}

/** core_optical_flow: frames t and t+1 → flow [1, 2, S, S] (dx, dy per pixel). */
export async function runOpticalFlow(infer: Infer, b: ComponentBranch, frame: RgbFrame, next: RgbFrame): Promise<OpticalFlowResult> {
  if (b.inputs.length !== 2) throw new PipelineError(b.entry, `optical flow takes two frames; the spec gives ${b.inputs.length} input(s)`);
  const out = await call(infer, b, [imageInput(b, onlyInput(b, 0), frame, infer.buffers), imageInput(b, onlyInput(b, 1), next, infer.buffers)]);
  const d = out.data as Float32Array;
  const plane = d.length / 2;
  let sum = 0;
  let max = 0;
  for (let p = 0; p < plane; p++) {
    const dx = d[p]!;
    const dy = d[plane + p]!;
    const m = Math.sqrt(dx * dx + dy * dy); // Math.hypot guards against overflow flows never reach, at several times the cost
    sum += m;
    if (m > max) max = m;
  }
  return { kind: "flow", branch: b.branch, meanMagnitude: plane ? sum / plane : 0, maxMagnitude: max };
}

export interface ClipResult {
  kind: "clip";
  imageBranch: string;
  textBranch: string;
  /** Width of the image embedding. */
  dims: number;
  prompts: number;
  /** EOT position chosen for each prompt. */
  eotPositions: number[];
  /** The best prompts by cosine similarity to the image, best first. */
  topPrompts: Ranked[];
}

/**
 * core_clip: the frame's image embedding, then each prompt sent alone to the text model as token ids
 * INT64 [1, 77]; the row of emb_seq at the EOT position is the prompt's embedding.
 */
export async function runClip(infer: Infer, image: ComponentBranch, text: ComponentBranch, frame: RgbFrame, prompts: readonly number[][] = syntheticPrompts(), k = 5): Promise<ClipResult> {
  const imageOut = await call(infer, image, [imageInput(image, onlyInput(image), frame, infer.buffers)]);
  const embedding = l2Normalize(imageOut.data as Float32Array);
  const idsSpec = onlyInput(text);
  const outSpec = firstOutput(text);
  const [, tokens, width] = outSpec.dims;
  if (idsSpec.dtype !== "INT64" || outSpec.dims.length !== 3 || tokens !== idsSpec.dims[1]) {
    throw new PipelineError(text.entry, `text model is ${idsSpec.dtype} [${idsSpec.dims.join(", ")}] → [${outSpec.dims.join(", ")}]; expected INT64 [1, T] → [1, T, D]`);
  }
  if (width !== embedding.length) throw new PipelineError(text.entry, `text embeddings are ${width} wide, image embeddings ${embedding.length}`);
  const eotPositions: number[] = [];
  const texts: Float32Array[] = [];
  for (const p of prompts) {
    const ids = clipTokenIds(p, tokens);
    const out = await call(infer, text, [tensorOf(idsSpec, ids.slice())]); // ids are read again below
    eotPositions.push(eotIndex(ids));
    texts.push(l2Normalize(selectEotEmbedding(out.data as Float32Array, ids, width)));
  }
  return { kind: "clip", imageBranch: image.branch, textBranch: text.branch, dims: embedding.length, prompts: prompts.length, eotPositions, topPrompts: rankPrompts(embedding, texts, k) };
}

export interface DetectionResult {
  kind: "detections";
  branch: string;
  geometry: LetterboxGeometry;
  /** Anchors above the score threshold, before NMS. */
  candidates: number;
  /** After class-wise NMS, in source pixels. */
  detections: Detection[];
}

export interface DetectionOptions extends DecodeOptions, NmsOptions {}

/** core_object_detections: letterbox (no upscale, pad 114, /255) → [1, 4+C, N] → decode → NMS → source pixels. */
export async function runDetections(infer: Infer, b: ComponentBranch, frame: RgbFrame, opts: DetectionOptions = {}): Promise<DetectionResult> {
  const spec = onlyInput(b);
  const [n, c, h, w] = spec.dims;
  if (spec.dtype !== "FP32" || spec.dims.length !== 4 || n !== 1 || c !== 3 || h !== w) {
    throw new PipelineError(b.entry, `input ${spec.name} is ${spec.dtype} [${spec.dims.join(", ")}]; a letterboxed detector takes FP32 [1, 3, S, S]`);
  }
  const lb = b.preprocess.kind === "client-letterbox" ? b.preprocess : { pad: 114, divisor: 255 };
  const { data, geometry } = letterboxTensor(frame, h!, { pad: lb.pad, divisor: lb.divisor, ...(infer.buffers ? { buffers: infer.buffers } : {}) });
  const out = await call(infer, b, [tensorOf(spec, data)]);
  const [, rows, anchors] = out.shape;
  const classes = opts.classes ?? rows! - 4;
  const candidates = decodeYolo(out.data as Float32Array, anchors!, { ...opts, classes });
  return { kind: "detections", branch: b.branch, geometry, candidates: candidates.length, detections: detectionsToSource(nonMaxSuppression(candidates, opts), geometry) };
}

export interface PlacesResult {
  kind: "places";
  branch: string;
  top5: Ranked[];
}

/** core_places365: one frame → 365 scene logits → the top 5. */
export async function runPlaces(infer: Infer, b: ComponentBranch, frame: RgbFrame): Promise<PlacesResult> {
  const out = await call(infer, b, [imageInput(b, onlyInput(b), frame, infer.buffers)]);
  return { kind: "places", branch: b.branch, top5: topK(out.data as Float32Array, 5) };
}

// ---- one frame through every routed component ----

export type ComponentResult = DepthResult | OpticalFlowResult | ClipResult | DetectionResult | PlacesResult;

export interface ComponentRun {
  component: string;
  /** Branches the component called. */
  branches: string[];
  ms: number;
  result?: ComponentResult;
  /** Why the component failed (the others still run). */
  error?: string;
  /** What was thrown, for callers that classify failures (timeouts, a vanished server). */
  failure?: unknown;
}

export interface PipelineFrames {
  /** Frame t: what every component sees. */
  frame: RgbFrame;
  /** Frame t+1, for optical flow. */
  next: RgbFrame;
}

export interface PipelineOptions {
  prompts?: readonly number[][];
  detection?: DetectionOptions;
}

/**
 * Runs each component whose branches were routed (one branch per family) on the frames, in the
 * order of COMPONENT_FLOWS, one call at a time as the serial pipeline does. A component that fails
 * is recorded with its error; the rest still run.
 */
export async function runPipelineFrame(infer: Infer, routed: readonly ComponentBranch[], frames: PipelineFrames, opts: PipelineOptions = {}): Promise<ComponentRun[]> {
  const runs: ComponentRun[] = [];
  const components = [...new Set(routed.map((b) => b.component))].sort((a, b) => order(a) - order(b));
  for (const component of components) {
    const branches = routed.filter((b) => b.component === component);
    const started = performance.now();
    const run: ComponentRun = { component, branches: branches.map((b) => b.branch), ms: 0 };
    try {
      run.result = await runComponent(infer, component, branches, frames, opts);
    } catch (e) {
      run.error = e instanceof Error ? e.message : String(e);
      run.failure = e;
    }
    run.ms = performance.now() - started;
    runs.push(run);
  }
  return runs;
}

function order(c: string): number {
  const i = Object.keys(COMPONENT_FLOWS).indexOf(c);
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}

async function runComponent(infer: Infer, component: string, branches: readonly ComponentBranch[], f: PipelineFrames, opts: PipelineOptions): Promise<ComponentResult> {
  if (!isPipelineComponent(component)) throw new Error(`no pipeline flow for component ${component} (known: ${Object.keys(COMPONENT_FLOWS).join(", ")})`);
  const one = (): ComponentBranch => {
    if (branches.length !== 1) throw new Error(`${component} expects one routed branch, got ${branches.map((b) => b.branch).join(", ")}`);
    return branches[0]!;
  };
  switch (COMPONENT_FLOWS[component]) {
    case "depth":
      return runDepth(infer, one(), f.frame);
    case "flow":
      return runOpticalFlow(infer, one(), f.frame, f.next);
    case "detections":
      return runDetections(infer, one(), f.frame, opts.detection);
    case "places":
      return runPlaces(infer, one(), f.frame);
    case "clip": {
      const text = branches.find((b) => b.inputs[0]?.dtype === "INT64");
      const image = branches.find((b) => b.inputs[0]?.dtype === "UINT8");
      if (!text || !image) throw new Error(`core_clip needs an image branch and a text branch, got ${branches.map((b) => b.branch).join(", ")}`);
      return runClip(infer, image, text, f.frame, opts.prompts);
    }
  }
}
