// The bench's pure parts, as a user relies on them: statistics that agree with numpy, a request loop
// that keeps the asked concurrency and counts failures, Triton's metrics text read correctly, two
// summaries compared, run folders that never mix, and reports that open without a server.
import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectFigures } from "../src/bench/collect.ts";
import { compareSummaries, formatComparison } from "../src/bench/compare.ts";
import { measureLevel } from "../src/bench/measure.ts";
import { gpuMemoryUsedBytes } from "../src/bench/memory.ts";
import { defaultMetricsUrl, parsePrometheus } from "../src/client/index.ts";
import { benchHtml, formatBenchTable } from "../src/bench/report.ts";
import { RunStore, runId } from "../src/bench/run-store.ts";
import { coefficientOfVariation, empiricalCdf, percentile, summarize } from "../src/bench/stats.ts";
import { SUMMARY_KIND, readSummary, type BenchSummary, type Measurement } from "../src/bench/summary.ts";
import { niceTicks } from "../src/bench/svg.ts";

describe("statistics", () => {
  it("percentiles interpolate between closest ranks as numpy does", () => {
    const xs = [15, 20, 35, 40, 50];
    // numpy.percentile(xs, [0, 25, 50, 95, 99, 100]) = 15, 20, 35, 48, 49.6, 50
    expect([0, 25, 50, 95, 99, 100].map((p) => percentile(xs, p))).toEqual([15, 20, 35, 48, expect.closeTo(49.6, 10), 50]);
    expect(percentile([7], 95)).toBe(7);
    expect(() => percentile([], 50)).toThrow(/no values/);
  });

  it("summarize gives ordered percentiles, population std and CV", () => {
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s).toMatchObject({ count: 8, min: 2, max: 9, mean: 5, std: 2, cv: 0.4 });
    expect(s.p50).toBeLessThanOrEqual(s.p95);
    expect(s.p95).toBeLessThanOrEqual(s.p99);
    expect(coefficientOfVariation([10, 10, 10])).toBe(0);
    expect(() => summarize([1, Number.NaN])).toThrow(/not finite/);
  });

  it("the empirical CDF climbs to 1 over sorted values", () => {
    expect(empiricalCdf([3, 1, 2])).toEqual([{ x: 1, p: 1 / 3 }, { x: 2, p: 2 / 3 }, { x: 3, p: 1 }]);
  });
});

describe("measureLevel", () => {
  it("keeps exactly `concurrency` requests in flight and times each", async () => {
    let inFlight = 0;
    let most = 0;
    const r = await measureLevel(
      async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((res) => setTimeout(res, 5));
        inFlight--;
      },
      { concurrency: 3, warmup: 2, repeats: 12 },
    );
    expect(most).toBe(3);
    expect(r).toMatchObject({ requests: 12, ok: 12, errors: 0, warmupErrors: 0 });
    expect(r.latenciesMs).toHaveLength(12);
    expect(Math.min(...r.latenciesMs)).toBeGreaterThanOrEqual(4);
    // 12 requests of ≥ 5 ms, 3 at a time: at least 4 rounds
    expect(r.wallMs).toBeGreaterThanOrEqual(19);
    expect(r.throughput).toBeCloseTo(12 / (r.wallMs / 1000), 6);
  });

  it("stops early on a model that fails every request and keeps the first message", async () => {
    const samples: boolean[] = [];
    const r = await measureLevel(async () => Promise.reject(new Error("CUDA out of memory")), { concurrency: 1, warmup: 1, repeats: 30, onSample: (s) => void samples.push(s.ok) });
    expect(r.ok).toBe(0);
    expect(r.errors).toBe(6); // max(3, 30 / 5)
    expect(r.requests).toBe(6);
    expect(r.firstError).toBe("CUDA out of memory");
    expect(samples).toEqual(Array(6).fill(false));
  });

  it("refuses nonsense options", async () => {
    await expect(measureLevel(async () => undefined, { concurrency: 0, warmup: 0, repeats: 1 })).rejects.toThrow(/concurrency/);
    await expect(measureLevel(async () => undefined, { concurrency: 1, warmup: -1, repeats: 1 })).rejects.toThrow(/warmup/);
  });
});

describe("Triton metrics", () => {
  const text = [
    "# HELP nv_gpu_memory_used_bytes GPU used memory, in bytes",
    "# TYPE nv_gpu_memory_used_bytes gauge",
    'nv_gpu_memory_used_bytes{gpu_uuid="GPU-a"} 1.5e+09',
    'nv_gpu_memory_used_bytes{gpu_uuid="GPU-b"} 500000000',
    'nv_gpu_memory_total_bytes{gpu_uuid="GPU-a"} 6.4e+09',
    'nv_inference_request_success{model="midas_256",version="1"} 42',
  ].join("\n");

  it("reads nv_gpu_memory_used_bytes summed over GPUs; a server without GPU metrics has none", () => {
    expect(gpuMemoryUsedBytes(parsePrometheus(text))).toBe(2e9);
    expect(gpuMemoryUsedBytes(parsePrometheus("nv_inference_count 1\n"))).toBeUndefined();
  });

  it("the default metrics URL is the server's host on port 8002", () => {
    expect(defaultMetricsUrl("http://triton.local:8000/")).toBe("http://triton.local:8002/metrics");
    expect(defaultMetricsUrl("http://127.0.0.1:39123")).toBe("http://127.0.0.1:8002/metrics");
  });
});

function measurement(model: string, concurrency: number, samples: number[], extra: Partial<Measurement> = {}): Measurement {
  return { model, concurrency, requests: samples.length, ok: samples.length, errors: 0, wallMs: 100, throughput: samples.length * 10, latencyMs: summarize(samples), samplesMs: samples, inputBytes: 12, status: "ok", ...extra };
}

function summary(runId: string, ms: Measurement[]): BenchSummary {
  const at = "2026-11-28T15:30:00.000Z";
  return { kind: SUMMARY_KIND, version: 1, runId, status: "complete", url: "http://x:8000", startedAt: at, updatedAt: at, config: { models: [...new Set(ms.map((m) => m.model))], repeats: 3, warmup: 0, concurrency: [1] }, measurements: ms };
}

describe("summaries, compare and reports", () => {
  const a = summary("bench-20261128-150000", [measurement("midas_256", 1, [10, 10, 10]), measurement("gone", 1, [5, 5, 5])]);
  const b = summary("bench-20261128-160000", [measurement("midas_256", 1, [5, 5, 5], { size: 256, family: "midas" }), measurement("new_one", 1, [1, 1, 1])]);

  it("--compare gives the relative change per model and concurrency, and shows one-sided rows", () => {
    const rows = compareSummaries(a, b);
    expect(rows.map((r) => r.model)).toEqual(["gone", "midas_256", "new_one"]);
    const midas = rows.find((r) => r.model === "midas_256")!;
    expect(midas.p50Change).toBeCloseTo(-0.5, 10);
    expect(midas.throughputChange).toBeCloseTo(0, 10);
    const text = formatComparison(a, b, rows);
    expect(text).toContain("-50.0 %");
    expect(text).toContain("bench-20261128-150000");
  });

  it("the table and the HTML report carry every measurement; the HTML is self-contained", () => {
    expect(formatBenchTable(b)).toMatch(/midas_256\s.*256/);
    const html = benchHtml(b);
    expect(html).toContain("<svg");
    expect(html).toContain("Latency CDF per model");
    expect(html).not.toMatch(/<script|<link|<img|\b(src|href)=/);
  });

  it("readSummary accepts a run folder and refuses other JSON with the field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bench-sum-"));
    const store = await RunStore.create(dir, "bench-20261128-150000");
    await store.writeSummary(a);
    expect((await readSummary(store.dir)).runId).toBe(a.runId);
    await store.writeFile("other.json", JSON.stringify({ kind: "x" }));
    await expect(readSummary(join(store.dir, "other.json"))).rejects.toThrow(/not a bench summary/);
    await expect(readSummary(join(dir, "nope.json"))).rejects.toThrow(/cannot read the summary: ENOENT/);
  });

  it("run ids are bench-YYYYMMDD-HHMMSS and a second run in the same second gets its own folder", async () => {
    expect(runId("bench", new Date(2026, 10, 28, 15, 30, 0))).toBe("bench-20261128-153000");
    const dir = await mkdtemp(join(tmpdir(), "bench-ids-"));
    const one = await RunStore.create(dir, "bench-20261128-153000");
    const two = await RunStore.create(dir, "bench-20261128-153000");
    expect(two.id).toBe("bench-20261128-153000-2");
    await one.appendResult({ a: 1 });
    await one.appendResult({ a: 2 });
    expect((await readFile(one.resultsFile, "utf8")).trim().split("\n").map((l) => JSON.parse(l))).toEqual([{ a: 1 }, { a: 2 }]);
    expect((await readdir(dir)).sort()).toEqual(["bench-20261128-153000", "bench-20261128-153000-2"]);
  });

  it("chart ticks are round numbers covering the range", () => {
    expect(niceTicks(0, 9.3)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 0.47, 5)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  });
});

describe("bench:all's reading of other benchmarks' results", () => {
  it("known outputs become named figures with their goals, judged as the benchmark judged them", () => {
    const onnx = collectFigures("benchmarks/out/onnx-io.json", { headerWalk: { medianMs: 3.3 }, fullDecode: { medianMs: 3838 }, ratio: 0.00086, goals: { walkUnder20ms: true, walkAtMost1PercentOfFull: true } });
    expect(onnx.figures.map((f) => [f.name, f.value, f.goal, f.pass])).toEqual([
      ["ONNX I/O, 1 GiB file: header walk", 3.3, "< 20 ms", true],
      ["ONNX I/O, 1 GiB file: full protobuf decode", 3838, undefined, undefined],
      ["header walk / full decode", 0.00086, "<= 0.01×", true],
    ]);
    const e2e = collectFigures("/x/e2e-pipeline.json", { offline: { pipelined: { wallS: 6 }, sequential: { wallS: 10 } }, ratios: { pipelinedOverSequential: 0.6 }, realtime: { pipelined: { instantFpsCv: 0.08 } }, goals: { pipelinedAtMost065: true, realtimeCvUnder005: false } });
    expect(e2e.figures.filter((f) => f.pass !== undefined).map((f) => [f.name, f.pass])).toEqual([
      ["video e2e pipelined / sequential wall time", true],
      ["video e2e realtime: CV of instantaneous FPS", false],
    ]);
    expect(e2e.notes.some((n) => n.includes("offline.pipelined.meanFps"))).toBe(true); // a changed output shape is said, not hidden
  });

  it("unknown outputs are read generically: timings, ratios and stated goals", () => {
    const c = collectFigures("benchmarks/out/grpc-overhead.json", { bench: "grpc", ratios: { httpOverInProcess: 1.8 }, binary: { p50Ms: 4.2 }, json: { p50Ms: 9.1 }, count: 30, goals: { binaryFasterThanJson: true } });
    expect(c.figures).toEqual([
      { name: "ratios.httpOverInProcess", value: 1.8, unit: "×" },
      { name: "binary.p50Ms", value: 4.2, unit: "ms" },
      { name: "json.p50Ms", value: 9.1, unit: "ms" },
      { name: "goal binaryFasterThanJson", value: 1, unit: "", goal: "binaryFasterThanJson", pass: true },
    ]);
    expect(c.notes).toEqual(["no adapter for grpc-overhead: figures read generically"]);
  });
});
