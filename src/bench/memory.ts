// Measured VRAM per ONNX model (design.md §6): with explicit model control, unload the model, read
// nv_gpu_memory_used_bytes (baseline), load it (resident = loaded − baseline), run it while scraping
// (peak = highest − loaded), unload, and put the server back as it was. Triton refreshes GPU metrics
// on an interval (2 s by default, --metrics-interval-ms) and each reading is an instant, so every
// reading waits `settleMs`, and the run keeps the model busy (RUN_IN_FLIGHT requests at once: one
// executes while the next waits in the model's queue, so the GPU instance never idles between runs)
// for at least two settle periods, so several refreshes land inside runs. The result is the file
// `npm run plan -- --measured FILE` reads. On serve-local's simulated card (serve-local --gpu PROFILE,
// gpu_uuid "GPU-simulated-<profile>") the same steps read the card's accounting of the specs'
// estimates: the section, the summary and the file's sources say "simulated", never "measured".
import { GPU_MEMORY_USED, SIMULATED_GPU_UUID_PREFIX } from "../kserve/index.ts";
import { promValue, type PromSample } from "../client/index.ts";
import type { Tensor } from "../pipeline/tensor.ts";
import type { BenchServer } from "./server.ts";
import type { MemoryMeasurement, MemorySection } from "./summary.ts";

const MiB = 1024 * 1024;


/**
 * Bytes of GPU memory in use, summed over the GPUs the server reports (a model may land on any);
 * undefined when there is no such metric (a server without GPU metrics: a CPU-only Triton, serve-local
 * without --gpu).
 */
export function gpuMemoryUsedBytes(samples: readonly PromSample[]): number | undefined {
  return promValue(samples, GPU_MEMORY_USED);
}

/** The profile of serve-local's simulated card when the GPU memory figures are its (gpu_uuid GPU-simulated-<profile>). */
export function simulatedCard(samples: readonly PromSample[]): string | undefined {
  const uuid = samples.find((s) => s.name === GPU_MEMORY_USED && s.labels.gpu_uuid?.startsWith(SIMULATED_GPU_UUID_PREFIX))?.labels.gpu_uuid;
  return uuid?.slice(SIMULATED_GPU_UUID_PREFIX.length);
}

/** What a section's figures are: "measured", or "simulated (serve-local --gpu PROFILE)". */
export function memoryFigures(section: Pick<MemorySection, "simulatedProfile">): string {
  return section.simulatedProfile !== undefined ? `simulated (serve-local --gpu ${section.simulatedProfile})` : "measured";
}

export interface MemoryOptions {
  metricsUrl: string;
  /** Samples of the metrics endpoint (the client's metrics fetch). */
  scrape: () => Promise<PromSample[]>;
  /** Wait after a load or unload before reading. @default 2500 */
  settleMs?: number;
  /** How long each model runs while the metric is scraped. @default 2 × settleMs */
  runMs?: number;
  /** Scrape period while running. @default 100 */
  scrapeEveryMs?: number;
  log?: (line: string) => void;
}

export interface MemoryTarget {
  /** The ONNX model (what holds VRAM). */
  model: string;
  inputs: Tensor[];
  outputs: string[];
  /** Why the model cannot be measured (e.g. its metadata could not be read); it is reported, not touched. */
  error?: string;
}

/** Requests in flight while a model runs for its peak. */
export const RUN_IN_FLIGHT = 2;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether the metrics endpoint answers with GPU memory (and whether it is serve-local's simulated card); the reason when it does not. */
export async function probeGpuMetrics(scrape: () => Promise<PromSample[]>): Promise<{ ok: true; bytes: number; simulatedProfile?: string } | { ok: false; reason: string }> {
  let samples: PromSample[];
  try {
    samples = await scrape();
  } catch (e) {
    return { ok: false, reason: `the metrics endpoint does not answer (${e instanceof Error ? e.message : String(e)})` };
  }
  const bytes = gpuMemoryUsedBytes(samples);
  if (bytes === undefined) return { ok: false, reason: "the metrics endpoint has no nv_gpu_memory_used_bytes (no GPU metrics: CPU-only server?)" };
  const simulatedProfile = simulatedCard(samples);
  return { ok: true, bytes, ...(simulatedProfile !== undefined ? { simulatedProfile } : {}) };
}

async function usedMiB(scrape: () => Promise<PromSample[]>): Promise<number> {
  const b = gpuMemoryUsedBytes(await scrape());
  if (b === undefined) throw new Error("nv_gpu_memory_used_bytes disappeared from the metrics");
  return b / MiB;
}

export async function measureMemory(server: BenchServer, targets: readonly MemoryTarget[], o: MemoryOptions): Promise<MemorySection> {
  const probe = await probeGpuMetrics(o.scrape);
  if (!probe.ok) return { metricsUrl: o.metricsUrl, status: "skipped", reason: probe.reason, models: [] };
  const simulated = probe.simulatedProfile !== undefined ? { simulatedProfile: probe.simulatedProfile } : {};
  const settleMs = o.settleMs ?? 2500;
  const runMs = o.runMs ?? 2 * settleMs;
  const every = o.scrapeEveryMs ?? 100;
  const before = new Set((await server.repositoryIndex()).filter((r) => r.state === "READY").map((r) => r.name));
  const models: MemoryMeasurement[] = [];
  for (const t of targets) {
    const m: MemoryMeasurement = { model: t.model, wasLoaded: before.has(t.model), baselineMiB: 0, loadedMiB: 0, runningMaxMiB: 0, residentMiB: 0, peakMiB: 0, scrapes: 0, inferences: 0 };
    if (t.error) {
      models.push({ ...m, error: t.error });
      continue;
    }
    o.log?.(`memory: ${t.model}`);
    try {
      if (m.wasLoaded) await server.unloadModel(t.model);
      await sleep(settleMs);
      m.baselineMiB = await usedMiB(o.scrape);
      await server.loadModel(t.model);
      await sleep(settleMs);
      m.loadedMiB = await usedMiB(o.scrape);
      m.runningMaxMiB = m.loadedMiB;
      const stopAt = performance.now() + runMs;
      const loop = async () => {
        do {
          await server.infer(t.model, t.inputs, t.outputs);
          m.inferences++;
        } while (performance.now() < stopAt);
      };
      const running = Promise.all(Array.from({ length: RUN_IN_FLIGHT }, loop));
      let done = false;
      const finished = running.finally(() => (done = true));
      while (!done) {
        m.runningMaxMiB = Math.max(m.runningMaxMiB, await usedMiB(o.scrape));
        m.scrapes++;
        await Promise.race([sleep(every), finished.catch(() => undefined)]);
      }
      await finished;
      // One more reading after the settle interval catches a peak the refresh period hid.
      await sleep(Math.min(settleMs, 2500));
      m.runningMaxMiB = Math.max(m.runningMaxMiB, await usedMiB(o.scrape));
      m.scrapes++;
      m.residentMiB = Math.max(0, m.loadedMiB - m.baselineMiB);
      m.peakMiB = Math.max(0, m.runningMaxMiB - m.loadedMiB);
    } catch (e) {
      m.error = e instanceof Error ? e.message : String(e);
    } finally {
      await server.unloadModel(t.model).catch(() => undefined);
    }
    models.push(m);
  }
  await restore(server, before, o.log);
  const ok = models.filter((m) => !m.error).length;
  return { metricsUrl: o.metricsUrl, status: ok > 0 || models.length === 0 ? "measured" : "failed", ...simulated, ...(ok < models.length ? { reason: `${models.length - ok} of ${models.length} model(s) failed` } : {}), models };
}

/** Loads again every model that was READY before and is not now (unloading a step can take its ensembles along). */
async function restore(server: BenchServer, before: ReadonlySet<string>, log?: (line: string) => void): Promise<void> {
  const now = new Set((await server.repositoryIndex()).filter((r) => r.state === "READY").map((r) => r.name));
  for (const name of before) {
    if (now.has(name)) continue;
    log?.(`memory: loading ${name} again`);
    await server.loadModel(name).catch((e: unknown) => log?.(`memory: could not load ${name} again: ${e instanceof Error ? e.message : String(e)}`));
  }
}

/**
 * The file the plan reads: { model: { residentMiB, peakMiB, source } }, whole MiB rounded up. The plan
 * shows a source as "measured: …" unless it says "simulated (…)" itself (src/plan/measured.ts).
 */
export function measuredMemoryFile(section: MemorySection, runId: string, url: string, known: (model: string) => boolean): Record<string, { residentMiB: number; peakMiB: number; source: string }> {
  const out: Record<string, { residentMiB: number; peakMiB: number; source: string }> = {};
  for (const m of section.models) {
    if (m.error || !known(m.model)) continue;
    out[m.model] = {
      residentMiB: Math.ceil(m.residentMiB),
      peakMiB: Math.ceil(m.peakMiB),
      source: `${section.simulatedProfile !== undefined ? `${memoryFigures(section)}: ` : ""}nv_gpu_memory_used_bytes around explicit load/unload, ${runId} against ${url} (${m.inferences} inferences, ${m.scrapes} scrapes)`,
    };
  }
  return out;
}
