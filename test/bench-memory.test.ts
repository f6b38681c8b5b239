// bench on a server with GPU metrics: nv_gpu_memory_used_bytes read from a Prometheus endpoint around
// explicit load/unload gives each ONNX model's resident and peak VRAM, written in the file the plan
// reads (npm run plan -- --measured), and the server is left with the models it had. Without GPU
// metrics (serve-local), the step says it was skipped and why. The GPU here is a fake.
import { readFile } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchHtml, formatBenchTable } from "../src/bench/report.ts";
import { runBench } from "../src/bench/run.ts";
import { fetchPrometheus } from "../src/client/index.ts";
import { checkMeasured, loadMeasured } from "../src/plan/measured.ts";
import { loadPlan } from "../src/plan/load.ts";
import { loadCatalog, type Catalog } from "../src/spec/catalog.ts";
import { FakeGpu, fakeBenchServer, fakeModel, startFakePrometheus } from "./support/bench-fakes.ts";

const scrapeOf = (url: string) => () => fetchPrometheus(url, { timeoutMs: 2000 });

let catalog: Catalog;
beforeAll(async () => {
  catalog = await loadCatalog("model-specs");
});

function gpu(): FakeGpu {
  return new FakeGpu(
    new Map([
      ["midas_256_onnx", fakeModel("midas_256_onnx", [["input", "FP32", [1, 3, 256, 256]]], [["depth", "FP32", [1, 256, 256]]], { residentMiB: 130, peakMiB: 270, inferMs: 8 })],
      ["yolo11x_320", fakeModel("yolo11x_320", [["images", "FP32", [1, 3, 320, 320]]], [["output0", "FP32", [1, 84, 2100]]], { residentMiB: 250, peakMiB: 480, inferMs: 8 })],
    ]),
  );
}

describe("bench: measured GPU memory", () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });

  it("measures residentMiB and peakMiB per ONNX model and writes the file the plan reads", async () => {
    const g = gpu();
    const server = fakeBenchServer(g);
    const prom = await startFakePrometheus(g);
    closers.push(prom.close);
    const out = await mkdtemp(join(tmpdir(), "bench-mem-"));
    const run = await runBench(server, { catalog, outDir: out, models: ["midas_256_onnx", "yolo11x_320"], repeats: 3, warmup: 1, memory: { metricsUrl: prom.url, scrape: scrapeOf(prom.url), settleMs: 20, runMs: 150 } });

    const mem = run.summary.memory!;
    expect(mem.status).toBe("measured");
    expect(mem.models.map((m) => [m.model, m.baselineMiB, m.residentMiB, m.peakMiB])).toEqual([
      ["midas_256_onnx", 900 + 250, 130, 270], // yolo is still loaded while midas is measured
      ["yolo11x_320", 900, 250, 480],
    ]);
    expect(mem.models.every((m) => m.scrapes >= 2 && m.inferences >= 1)).toBe(true);
    expect(prom.scrapes).toBeGreaterThan(4);

    // the server ends as it began: both models loaded again
    expect(server.calls).toEqual(["unload midas_256_onnx", "load midas_256_onnx", "unload midas_256_onnx", "unload yolo11x_320", "load yolo11x_320", "unload yolo11x_320", "load midas_256_onnx", "load yolo11x_320"]);
    expect((await server.repositoryIndex()).every((r) => r.state === "READY")).toBe(true);

    // the plan reads the file as is
    expect(run.measuredFile).toBe(join(run.store.dir, "measured-memory.json"));
    const file = JSON.parse(await readFile(run.measuredFile!, "utf8"));
    expect(file.midas_256_onnx).toMatchObject({ residentMiB: 130, peakMiB: 270 });
    expect(file.midas_256_onnx.source).toContain(run.summary.runId);
    const measured = await loadMeasured(run.measuredFile!);
    expect(() => checkMeasured(measured, catalog)).not.toThrow();
    const { plan } = await loadPlan({ profile: "gpu-local", measuredFile: run.measuredFile! });
    const midas = plan.selected.find((e) => e.branch === "midas_256")!;
    expect(midas.memory).toMatchObject({ residentMiB: 130, peakMiB: 270, source: expect.stringMatching(/^measured: nv_gpu_memory_used_bytes around explicit load\/unload, /) });
    expect(run.summary.memory!.simulatedProfile).toBeUndefined();
    expect(formatBenchTable(run.summary)).toContain(`GPU memory, measured, from ${prom.url}`);
  });

  it("on serve-local's simulated card (gpu_uuid GPU-simulated-<profile>) the figures are called simulated in the summary, the file and the plan", async () => {
    const g = gpu();
    const server = fakeBenchServer(g);
    const prom = await startFakePrometheus(g, undefined, "GPU-simulated-gpu-local");
    closers.push(prom.close);
    const out = await mkdtemp(join(tmpdir(), "bench-mem-"));
    const run = await runBench(server, { catalog, outDir: out, models: ["midas_256_onnx"], repeats: 2, warmup: 0, memory: { metricsUrl: prom.url, scrape: scrapeOf(prom.url), settleMs: 20, runMs: 100 } });
    expect(run.summary.memory).toMatchObject({ status: "measured", simulatedProfile: "gpu-local" });
    const table = formatBenchTable(run.summary);
    expect(table).toContain(`GPU memory, simulated (serve-local --gpu gpu-local), from ${prom.url}`);
    expect(table).toContain("not a GPU's readings");
    expect(benchHtml(run.summary)).toContain("GPU memory, simulated (serve-local --gpu gpu-local)");
    const file = JSON.parse(await readFile(run.measuredFile!, "utf8"));
    expect(file.midas_256_onnx.source).toMatch(/^simulated \(serve-local --gpu gpu-local\): nv_gpu_memory_used_bytes around explicit load\/unload, /);
    const { plan } = await loadPlan({ profile: "gpu-local", measuredFile: run.measuredFile! });
    const source = plan.selected.find((e) => e.branch === "midas_256")!.memory.source;
    expect(source).toMatch(/^simulated \(serve-local --gpu gpu-local\): /);
    expect(source).not.toMatch(/measured/);
  });

  it("a metrics endpoint without GPU metrics (serve-local, a CPU server) skips the step and says why", async () => {
    const g = gpu();
    const server = fakeBenchServer(g);
    const prom = await startFakePrometheus(undefined, () => "nv_inference_count{model=\"x\"} 3\n");
    closers.push(prom.close);
    const out = await mkdtemp(join(tmpdir(), "bench-mem-"));
    const run = await runBench(server, { catalog, outDir: out, repeats: 2, warmup: 0, memory: { metricsUrl: prom.url, scrape: scrapeOf(prom.url), settleMs: 5 } });
    expect(run.summary.memory).toMatchObject({ status: "skipped", reason: expect.stringContaining("no nv_gpu_memory_used_bytes") });
    expect(run.measuredFile).toBeUndefined();
    expect(server.calls).toEqual([]); // nothing unloaded on a server we cannot measure

    const gone = await runBench(server, { catalog, outDir: out, repeats: 2, warmup: 0, memory: { metricsUrl: "http://127.0.0.1:9/metrics", scrape: scrapeOf("http://127.0.0.1:9/metrics") } });
    expect(gone.summary.memory).toMatchObject({ status: "skipped", reason: expect.stringContaining("does not answer") });
  });
});
