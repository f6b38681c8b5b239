// serve-local's wiring of the simulated card (src/serve/gpu-card.ts): reads the profile, the specs'
// estimates and an optional `plan --measured` file; puts each ONNX Runtime model version on the card
// when its session is created (a load that does not fit fails), accounts every run (a run that does
// not fit fails as ONNX Runtime's out-of-memory does, an HTTP 500 in Triton 24.08), and gives the
// memory back when the session closes. Python steps and ensembles run on the CPU: nothing on the card.
//
// The gauge. Triton reads GPU memory through DCGM in whole MiB: its poll thread wakes every half
// --metrics-interval-ms (default 2000) and asks DCGM for fields it refreshes every interval (core
// src/metrics.cc, r24.08), so nv_gpu_memory_used_bytes is an instantaneous reading up to an interval
// or so old. On a GPU a busy model holds its run's peak for most of each run, so bench, which keeps a
// model busy while it scrapes, sees it. Here a run's peak cannot be sampled that way: onnxruntime-node
// runs a session synchronously on the server's one thread, so no timer ever fires while a run holds
// its peak. The simulated gauge is therefore refreshed every half interval with the most the card had
// in use since the previous refresh. Decided so: its figures are never below what an instantaneous
// reading of the same timeline shows (never kinder in what it reports), it is never fresher than
// Triton's (a reading is up to an interval old: wait at least an interval after a load, as bench's
// --settle-ms does), and bench + `plan --measured` give back the figures the card was given. What it
// does not reproduce is Triton's chance of missing a short, rare peak; bench guards against that on
// a GPU by keeping the model busy for several intervals (src/bench/memory.ts).
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ModelConfig } from "../config/index.ts";
import { ortMemorySemantics } from "../config/ort-memory.ts";
import { GPU_MEMORY_TOTAL, GPU_MEMORY_USED, type Tensor } from "../kserve/index.ts";
import { checkMeasured, loadMeasured } from "../plan/measured.ts";
import { planOrtSettings } from "../plan/plan.ts";
import { loadCatalog } from "../spec/catalog.ts";
import { loadProfile } from "../spec/profile.ts";
import type { Backend } from "./backend.ts";
import { cardSpec, catalogEstimates, floorEstimate, footprint, GpuCard, GpuOutOfMemory, MiB, ortOutOfMemoryMessage, type MemoryEstimate } from "./gpu-card.ts";
import type { MetricFamily } from "./metrics.ts";
import { LoadError } from "./model-dir.ts";
import type { InstanceBackend, ModelInstance } from "./model-loader.ts";

/** Triton's --metrics-interval-ms default. */
export const DEFAULT_METRICS_INTERVAL_MS = 2000;

export interface SimulatedGpuOptions {
  /** Spec directory: profiles/<profile>.yaml and the family specs' estimates. */
  specsDir: string;
  profile: string;
  /** A `plan --measured` file (bench's measured-memory.json); its figures replace the estimates. */
  measuredFile?: string;
  /** How often the gauge samples the card. @default 2000 */
  metricsIntervalMs?: number;
}

/** A model version on the card, for the start-up lines. */
export interface CardModel {
  model: string;
  version: string;
  source: string;
  summary: string;
}

export class SimulatedGpu {
  private sampledMiB: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly floors = new Set<string>();
  /** Sessions so far: a reload starts a new session of the same version before the old one closes. */
  private sessions = 0;
  readonly models = new Map<string, CardModel>();

  constructor(
    readonly card: GpuCard,
    private readonly estimates: ReadonlyMap<string, MemoryEstimate>,
    readonly metricsIntervalMs: number,
    /** Models the profile's plan lets Triton load at once (--model-load-thread-count in the stacks). */
    readonly planLoadThreads: number,
  ) {
    this.sampledMiB = card.usedMiB();
  }

  /** Models that had no estimate and were counted at a floor (their files and I/O tensors). */
  floorModels(): string[] {
    return [...this.floors].sort();
  }

  /** Starts refreshing the gauge, every half interval as Triton's poll thread does. */
  start(): void {
    this.sample();
    this.timer ??= setInterval(() => this.sample(), Math.max(1, this.metricsIntervalMs / 2));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    this.sampledMiB = this.card.takeWindowHighMiB();
  }

  /** nv_gpu_memory_total_bytes and nv_gpu_memory_used_bytes, with Triton's names and label. */
  metricFamilies(): MetricFamily[] {
    const labels = { gpu_uuid: this.card.spec.uuid };
    const what = `simulated by serve-local --gpu ${this.card.spec.profile}: ${this.card.spec.product}`;
    return [
      { name: GPU_MEMORY_TOTAL, help: `GPU total memory, in bytes (${what})`, type: "gauge", collect: () => [{ labels, value: this.card.spec.totalMiB * MiB }] },
      { name: GPU_MEMORY_USED, help: `GPU used memory, in bytes (${what}; the most in use over each half of --metrics-interval-ms ${this.metricsIntervalMs})`, type: "gauge", collect: () => [{ labels, value: this.sampledMiB * MiB }] },
    ];
  }

  /**
   * Puts an ONNX Runtime model version's session on the card and returns its backend with every run
   * accounted; a session that does not fit is closed and the load fails. Other backends are returned
   * as they are (the CPU).
   */
  async attach(backend: Backend, at: { model: string; version: string; dir: string; config: ModelConfig }): Promise<Backend> {
    if (backend.kind !== "onnxruntime") return backend;
    const key = `${at.model}/${at.version}#${++this.sessions}`;
    let estimate = this.estimates.get(at.model);
    if (!estimate) {
      estimate = floorEstimate(at.config, await folderBytes(join(at.dir, at.version)));
      this.floors.add(at.model);
    }
    const fp = footprint(estimate, ortMemorySemantics(at.config));
    try {
      this.card.load(key, at.model, fp);
    } catch (e) {
      await backend.close();
      if (e instanceof GpuOutOfMemory) throw new LoadError(`${ortOutOfMemoryMessage(e)} (loading '${at.model}': ${fp.summary}; ${this.describeFree()})`, "Internal");
      throw e;
    }
    this.models.set(key, { model: at.model, version: at.version, source: estimate.source, summary: fp.summary });
    return new CardBackend(backend, this, key, at.model, fp.summary);
  }

  /** "2340 of 6144 MiB free on the simulated card" */
  describeFree(): string {
    return `${this.card.freeMiB()} of ${this.card.spec.totalMiB} MiB free on the simulated ${this.card.spec.product}`;
  }

  /** @internal the backend's close */
  released(key: string): void {
    this.card.unload(key);
    this.models.delete(key);
  }
}

/** An ONNX Runtime backend whose runs take their peak on the card first. */
class CardBackend implements Backend, InstanceBackend {
  readonly kind;

  constructor(
    private readonly inner: Backend,
    private readonly gpu: SimulatedGpu,
    private readonly key: string,
    private readonly model: string,
    private readonly summary: string,
  ) {
    this.kind = inner.kind;
  }

  run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
    return this.runOn(undefined, inputs, outputs);
  }

  /**
   * The same session, its runs accounted on one instance's arena (Triton warms each instance). The
   * view owns nothing: closing it leaves the session to this backend's close.
   */
  onInstance(instance: ModelInstance): Backend {
    const gpuIndex = instance.kind === "gpu" ? instance.index : Number.POSITIVE_INFINITY;
    return { kind: this.kind, run: (inputs, outputs) => this.runOn(gpuIndex, inputs, outputs), close: async () => {} };
  }

  private async runOn(instance: number | undefined, inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
    let end: () => void;
    try {
      end = this.gpu.card.beginRun(this.key, instance);
    } catch (e) {
      if (!(e instanceof GpuOutOfMemory)) throw e;
      // ONNX Runtime's error is TRITONSERVER_ERROR_INTERNAL, which Triton answers with HTTP 500.
      throw Object.assign(new Error(`${ortOutOfMemoryMessage(e)} ('${this.model}': ${this.summary}; ${this.gpu.describeFree()})`), { status: 500 });
    }
    try {
      return await this.inner.run(inputs, outputs);
    } finally {
      end();
    }
  }

  async close(): Promise<void> {
    try {
      await this.inner.close();
    } finally {
      this.gpu.released(this.key);
    }
  }
}

async function folderBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const sizes = await Promise.all(entries.map(async (e) => (e.isDirectory() ? folderBytes(join(dir, e.name)) : (await stat(join(dir, e.name)).catch(() => undefined))?.size ?? 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

/** The card of a profile, with the specs' estimates (and measured figures where given). */
export async function simulatedGpu(o: SimulatedGpuOptions): Promise<SimulatedGpu> {
  const [profile, catalog, measured] = await Promise.all([loadProfile(o.specsDir, o.profile), loadCatalog(o.specsDir), o.measuredFile ? loadMeasured(o.measuredFile) : undefined]);
  if (measured) checkMeasured(measured, catalog);
  const loadThreads = planOrtSettings(profile.spec).modelLoadThreadCount;
  return new SimulatedGpu(new GpuCard(cardSpec(profile.spec)), catalogEstimates(catalog, measured), o.metricsIntervalMs ?? DEFAULT_METRICS_INTERVAL_MS, loadThreads);
}
