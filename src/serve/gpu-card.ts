// A simulated GPU card for serve-local (`--gpu PROFILE`): pure accounting of what each loaded ONNX
// Runtime model would hold on a card of the profile's size, under the semantics its config implies
// as Triton 24.08 runs it (ortMemorySemantics: src/config/ort-memory.ts). Nothing here touches a
// GPU, a file or a clock; serve-local's wiring (src/serve/gpu-sim.ts) calls it at load, unload and
// around every run, and samples usedMiB() for the metrics. Every figure it produces is simulated.
//
// What a model holds (MiB; the estimate is the spec's, or a `plan --measured` figure):
// - while loaded: resident, once per GPU instance (each instance is a session of its own). A
//   model whose instances are all KIND_CPU holds nothing.
// - while it runs: its peak on top, once per instance running (Triton runs one request at a time
//   per instance; more requests in flight wait in its queue and need nothing more).
// - with arena shrinkage (memory.enable_memory_arena_shrinkage "gpu:0") the arena gives the peak
//   back when the run ends; without it each instance's arena keeps the largest size it reached, for
//   good. Triton warms every instance while loading (core src/backend_model_instance.cc, r24.08), so
//   without shrinkage N GPU instances keep N peaks from the load on.
// - TensorRT: the config's workspace, as the engines' execution-context memory, is held while the
//   session lives, once per instance, whether or not contexts share it (ONNX Runtime keeps the
//   shared block for the session's life: src/config/ort-memory.ts). It adds to the resident figure;
//   the spec's peak (ONNX Runtime's CUDA provider) is kept as it is, as the plan does. Measured
//   figures came from the config as written, so they already include it and nothing is added.
// - arena_extend_strategy kNextPowerOfTwo: the per-run growth rounds up to the next power of two
//   MiB (ONNX Runtime's BFC arena doubles its region size; "up to twice what a run asks for").
// - The card is the size the profile says the card reports (gpu.reportedMiB: NVML's total, what
//   Triton's nv_gpu_memory_total_bytes reads; else gpu.vramMiB) and starts with the profile's
//   reserveMiB used (CUDA context, cuDNN/cuBLAS handles, Triton itself), so nv_gpu_memory_used_bytes
//   reads as on a card with Triton started.
// A run that does not fit fails as ONNX Runtime's arena does; without shrinkage the arena has grown
// until the allocation that failed, and keeps it: the card takes the worst case (all that was free).
import { SIMULATED_GPU_UUID_PREFIX } from "../kserve/index.ts";
import type { ModelConfig } from "../config/index.ts";
import type { OrtMemorySemantics } from "../config/ort-memory.ts";
import { fromTritonType, tensorByteSize } from "../dtype.ts";
import type { MeasuredMemory } from "../plan/measured.ts";
import { branchMemory } from "../plan/plan.ts";
import type { Catalog } from "../spec/catalog.ts";

export const MiB = 1024 * 1024;

/** The card a profile describes. */
export interface CardSpec {
  /** The profile's name, e.g. gpu-local. */
  profile: string;
  /** e.g. NVIDIA-GeForce-RTX-2060 */
  product: string;
  /** What NVML would report as total memory: the profile's gpu.reportedMiB, else gpu.vramMiB. */
  totalMiB: number;
  /** Used before any model loads: the profile's reserveMiB. */
  reserveMiB: number;
  /** The gpu_uuid label of the metrics; says "simulated". */
  uuid: string;
}

export function cardSpec(p: { name: string; gpu: { product: string; vramMiB: number; reportedMiB?: number }; reserveMiB: number }): CardSpec {
  return { profile: p.name, product: p.gpu.product, totalMiB: p.gpu.reportedMiB ?? p.gpu.vramMiB, reserveMiB: p.reserveMiB, uuid: `${SIMULATED_GPU_UUID_PREFIX}${p.name}` };
}

/** One ONNX Runtime model's memory as estimated or measured (before its config is applied). */
export interface MemoryEstimate {
  residentMiB: number;
  /** Extra while one run is in flight. */
  peakMiB: number;
  /** Where the figures come from, for the start-up lines and reasons. */
  source: string;
  /** Measured on a server running the config as written: TensorRT's memory is in the figures already. */
  tensorRtIncluded: boolean;
}

/** What a model holds on the card, from its estimate and its config's semantics. */
export interface Footprint {
  /** Held from load to unload (every GPU instance, TensorRT's context memory included). */
  residentMiB: number;
  /** Extra per instance while it runs. */
  runPeakMiB: number;
  /** The arena gives the run's peak back after each run. */
  shrinks: boolean;
  /** GPU instances (0: CPU only, holds nothing). */
  instances: number;
  /** One line, e.g. "resident 796 MiB (540 + 256 TensorRT context memory, held while loaded), +1400 MiB per run, given back after each run". */
  summary: string;
}

function nextPowerOfTwo(n: number): number {
  return n <= 1 ? n : 2 ** Math.ceil(Math.log2(n));
}

export function footprint(e: MemoryEstimate, s: Pick<OrtMemorySemantics, "gpuInstances" | "arenaShrinkage" | "arenaExtendStrategy" | "tensorrt">): Footprint {
  const instances = s.gpuInstances;
  if (instances === 0) return { residentMiB: 0, runPeakMiB: 0, shrinks: true, instances, summary: "CPU instances only: nothing on the GPU" };
  const trt = s.tensorrt && !e.tensorRtIncluded ? s.tensorrt.workspaceMiB : 0;
  const runPeakMiB = s.arenaExtendStrategy === "kNextPowerOfTwo" ? nextPowerOfTwo(e.peakMiB) : e.peakMiB;
  const residentMiB = (e.residentMiB + trt) * instances;
  const parts = [
    `resident ${residentMiB} MiB${trt ? ` (${e.residentMiB} + ${trt} TensorRT context memory, held while loaded${instances > 1 ? `, per instance` : ""})` : ""}${instances > 1 ? ` (${instances} GPU instances)` : ""}`,
    `+${runPeakMiB} MiB per run${runPeakMiB !== e.peakMiB ? ` (${e.peakMiB} rounded up by kNextPowerOfTwo)` : ""}`,
    s.arenaShrinkage ? "given back after each run" : `kept after the first run${instances > 1 ? " of each instance" : ""} (no arena shrinkage)`,
  ];
  return { residentMiB, runPeakMiB, shrinks: s.arenaShrinkage, instances, summary: parts.join(", ") };
}

/** A load or a run that does not fit on the simulated card. */
export class GpuOutOfMemory extends Error {
  constructor(
    readonly model: string,
    readonly phase: "load" | "run",
    readonly needMiB: number,
    readonly freeMiB: number,
  ) {
    super(`out of memory (simulated): needs ${needMiB} MiB, ${freeMiB} MiB free`);
    this.name = "GpuOutOfMemory";
  }
}

/**
 * ONNX Runtime's error for it, as Triton 24.08's onnxruntime backend passes it on: "onnx runtime
 * error <OrtErrorCode>: <message>" (onnxruntime_backend src/onnxruntime_utils.h, RETURN_IF_ORT_ERROR),
 * code 6 = ORT_RUNTIME_EXCEPTION, with the BFC arena's words; a run's error names the node in ORT,
 * which the simulation does not know, so it names the model.
 */
export function ortOutOfMemoryMessage(e: GpuOutOfMemory): string {
  const arena = `onnxruntime::BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer of size ${e.needMiB * MiB}`;
  const where = e.phase === "load" ? "Exception during initialization" : `Non-zero status code returned while running model '${e.model}' on the simulated card`;
  return `onnx runtime error 6: ${where}: ${arena}: ${e.message}`;
}

interface Holding {
  model: string;
  fp: Footprint;
  /** Runs in flight now (beyond the instances they wait in Triton's queue). */
  active: number;
  /** Without shrinkage, per GPU instance: the extra its arena keeps (the largest it reached). */
  kept: number[];
}

/** Releases what a run holds; call exactly once when the run ends (ok or not). */
export type RunEnd = () => void;

export interface CardHolding {
  key: string;
  model: string;
  residentMiB: number;
  /** Peak held now (running, or kept without shrinkage). */
  extraMiB: number;
  footprint: Footprint;
}

/** The simulated card's memory: models (by key, e.g. "midas_256_onnx/1") holding resident and run memory. */
export class GpuCard {
  private readonly held = new Map<string, Holding>();
  private highWater: number;
  private windowHigh: number;

  constructor(readonly spec: CardSpec) {
    this.highWater = spec.reserveMiB;
    this.windowHigh = spec.reserveMiB;
  }

  usedMiB(): number {
    let used = this.spec.reserveMiB;
    for (const h of this.held.values()) used += h.fp.residentMiB + this.extra(h);
    return used;
  }

  freeMiB(): number {
    return Math.max(0, this.spec.totalMiB - this.usedMiB());
  }

  /** The most used at any moment since the card started (reserve included). */
  highWaterMiB(): number {
    return this.highWater;
  }

  /**
   * The most used since the previous call (or since the card started), and a new window from now: a
   * sampled gauge that misses no peak however short the run (see src/serve/gpu-sim.ts for why).
   */
  takeWindowHighMiB(): number {
    const high = Math.max(this.windowHigh, this.usedMiB());
    this.windowHigh = this.usedMiB();
    return high;
  }

  /** What each model holds now. */
  holdings(): CardHolding[] {
    return [...this.held].map(([key, h]) => ({ key, model: h.model, residentMiB: h.fp.residentMiB, extraMiB: this.extra(h), footprint: h.fp }));
  }

  /** A session is created: its resident memory, or GpuOutOfMemory (nothing held) when it does not fit. */
  load(key: string, model: string, fp: Footprint): void {
    if (this.held.has(key)) throw new Error(`gpu card: '${key}' is loaded twice`);
    const free = this.freeMiB();
    if (fp.residentMiB > free) throw new GpuOutOfMemory(model, "load", fp.residentMiB, free);
    this.held.set(key, { model, fp, active: 0, kept: new Array<number>(fp.instances).fill(0) });
    this.touch();
  }

  /** The session is released: everything it held goes back. */
  unload(key: string): void {
    this.held.delete(key);
  }

  /**
   * A run starts: its peak is taken (once per instance running), or GpuOutOfMemory when it does not
   * fit. `instance` pins it to one GPU instance (the warm-up Triton runs on each); otherwise it lands
   * on the next idle one, as Triton's scheduler gives it. Returns the call that ends it.
   */
  beginRun(key: string, instance?: number): RunEnd {
    const h = this.held.get(key);
    if (!h) throw new Error(`gpu card: run of '${key}', which is not loaded`);
    const n = h.fp.instances;
    if (instance !== undefined && instance >= n) return () => {}; // a CPU instance of the model: nothing on the GPU
    const on = instance ?? (h.active < n ? h.active : undefined); // undefined: waits in the queue, needs nothing more
    const need = h.fp.shrinks
      ? Math.max(0, h.fp.runPeakMiB * Math.min(h.active + 1, n) - this.extra(h))
      : on === undefined ? 0 : Math.max(0, h.fp.runPeakMiB - h.kept[on]!);
    const free = this.freeMiB();
    if (need > free) {
      if (!h.fp.shrinks && on !== undefined) h.kept[on]! += free; // the arena grew until the allocation that failed, and keeps it
      this.touch();
      throw new GpuOutOfMemory(h.model, "run", need, free);
    }
    h.active++;
    if (!h.fp.shrinks && on !== undefined) h.kept[on] = Math.max(h.kept[on]!, h.fp.runPeakMiB);
    this.touch();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      h.active--;
    };
  }

  private extra(h: Holding): number {
    return h.fp.shrinks ? h.fp.runPeakMiB * Math.min(h.active, h.fp.instances) : h.kept.reduce((a, b) => a + b, 0);
  }

  private touch(): void {
    const used = this.usedMiB();
    this.highWater = Math.max(this.highWater, used);
    this.windowHigh = Math.max(this.windowHigh, used);
  }
}

/**
 * Estimates per ONNX model name: the spec's figures for ONNX Runtime's CUDA provider (TensorRT's
 * memory is taken from each config instead), or the `plan --measured` file's where it has the model.
 */
export function catalogEstimates(catalog: Catalog, measured?: MeasuredMemory): Map<string, MemoryEstimate> {
  return new Map(
    catalog.branches.map((cb) => {
      const m = branchMemory(cb, measured, false);
      const e: MemoryEstimate = { residentMiB: m.residentMiB, peakMiB: m.peakMiB, source: m.source, tensorRtIncluded: m.source.startsWith("measured") };
      return [cb.models.onnx, e];
    }),
  );
}

/**
 * An ONNX Runtime model with no estimate (e.g. a `--preprocess onnx` step, or a model the specs do not
 * know): a floor, not an estimate: its files (the weights) held while loaded, its input and output
 * tensors while it runs. The plan counts such models as nothing; the card does not.
 */
export function floorEstimate(cfg: ModelConfig, fileBytes: number): MemoryEstimate {
  const bytes = [...(cfg.input ?? []), ...(cfg.output ?? [])].reduce((s, t) => {
    const d = fromTritonType(t.data_type ?? "TYPE_INVALID");
    const dims = t.dims ?? [];
    if (!d || d === "BYTES" || dims.some((x) => x < 0)) return s;
    return s + tensorByteSize(d, (cfg.max_batch_size ?? 0) > 0 ? [cfg.max_batch_size!, ...dims] : dims);
  }, 0);
  return { residentMiB: Math.ceil(fileBytes / MiB), peakMiB: Math.ceil(bytes / MiB), source: "no estimate in the specs: a floor (its files while loaded, its input and output tensors per run)", tensorRtIncluded: false };
}
