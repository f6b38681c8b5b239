// serve-local on the simulated gpu-local card (--gpu gpu-local), for real: the plan's repository
// (synth-repo --profile gpu-local) passes the gate within the card; the same repository without arena
// shrinkage does not (with warm-up, Triton's --exit-on-error ends the start-up; without warm-up, the
// gate's runs fail for memory); the excluded raft_512 is refused for memory when loaded; and bench's
// memory measurement over the simulated metrics gives back the plan's figures to `plan --measured`.
// The failures are worded as Triton 24.08 words them (onnxruntime_backend src/onnxruntime_utils.h:
// "onnx runtime error <code>: …", TRITONSERVER_ERROR_INTERNAL, which server src/http_server.cc
// HttpCodeFromError answers with 500; core src/backend_model_instance.cc WarmUp: "failed to run
// warmup sample …").
import { spawnSync } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBench } from "../src/bench/run.ts";
import { httpBenchServer, metricsScraper } from "../src/bench/target.ts";
import { KServeClient } from "../src/client/index.ts";
import { parseModelConfig, writeModelConfig } from "../src/config/index.ts";
import { ARENA_SHRINKAGE } from "../src/config/ort-memory.ts";
import { ensureFixtures } from "../src/fixtures/write.ts";
import { parseResolution } from "../src/pipeline/frame.ts";
import { loadPlan } from "../src/plan/load.ts";
import { profileSelection } from "../src/repo/profile-selection.ts";
import { synthRepo } from "../src/repo/synth.ts";
import { simulatedGpu, startServer, type ServeLocal } from "../src/serve/index.ts";
import { loadCatalog, type Catalog } from "../src/spec/catalog.ts";
import { HttpKServeServer } from "../src/verify/http.ts";
import { failedChecks, type VerifyReport } from "../src/verify/report.ts";
import { verifyReady } from "../src/verify/run.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;
const MiB = 1024 * 1024;
const { plan } = await loadPlan({ profile: "gpu-local" });
/** What an RTX 2060 reports (gpu.reportedMiB): the simulated card's size. */
const CARD_MiB = 5926;
/** Reserve + the plan's residents: the card with the plan's set loaded and idle. */
const IDLE_MiB = plan.profile.reserveMiB + plan.totals.residentMiB;
const gpuLocal = () => simulatedGpu({ specsDir: "model-specs", profile: "gpu-local", metricsIntervalMs: 100 });
const serve = async (repo: string, loadModels: readonly string[], o: { exitOnError?: boolean } = {}): Promise<ServeLocal> =>
  startServer({ repo, port: 0, metricsPort: 0, loadModels, gpu: await gpuLocal(), loadThreads: plan.onnxRuntime.modelLoadThreadCount, ...o });
const failures = (r: VerifyReport) => failedChecks(r).map((f) => `[${f.step}] ${f.check.name}: ${f.check.message}`);

let root: string;
let catalog: Catalog;
let onnxRoot: string;
/** synth-repo --profile gpu-local */
let planRepo: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "td-gpu-sim-"));
  catalog = await loadCatalog("model-specs");
  onnxRoot = join(root, "onnx");
  await ensureFixtures(catalog.branches.map((b) => b.branch), onnxRoot);
  planRepo = join(root, "plan-repo");
  await synthRepo({ specsDir: "model-specs", onnxRoot, outDir: planRepo, select: profileSelection("model-specs", "gpu-local") });
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A copy of `repo` with `edit` applied to every ONNX Runtime model's config. */
async function editedRepo(repo: string, name: string, edit: (cfg: ReturnType<typeof parseModelConfig>) => void): Promise<string> {
  const out = join(root, name);
  await cp(repo, out, { recursive: true });
  for (const m of await readdir(out, { withFileTypes: true })) {
    if (!m.isDirectory()) continue;
    const file = join(out, m.name, "config.pbtxt");
    const cfg = parseModelConfig(await readFile(file, "utf8"), file);
    if (cfg.platform !== "onnxruntime_onnx") continue;
    edit(cfg);
    await writeFile(file, writeModelConfig(cfg));
  }
  return out;
}

async function usedGauge(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const m = /^nv_gpu_memory_used_bytes\{gpu_uuid="GPU-simulated-gpu-local"\} (\d+)$/m.exec(text);
  if (!m) throw new Error(`no nv_gpu_memory_used_bytes in:\n${text}`);
  return Number(m[1]) / MiB;
}

describe("the plan's repository on the simulated gpu-local card", () => {
  let server: ServeLocal;
  beforeAll(async () => {
    server = await serve(planRepo, plan.loadModels);
  });
  afterAll(() => server?.close());

  it("loads the plan's 31 models (each ONNX model warmed up while loading) and shows the card's memory as Triton's metrics", async () => {
    expect(server.counts()).toEqual({ ready: 31, unavailable: 0 });
    const card = server.gpu!.card;
    expect(card.usedMiB()).toBe(IDLE_MiB); // 1024 + 2780: every arena gave its warm-up peak back
    expect(card.highWaterMiB()).toBe(plan.profile.reserveMiB + plan.totals.needMiB); // raft_384's warm-up, loaded last: 1024 + 4580
    const text = await (await fetch(server.metricsUrl!)).text();
    expect(text).toContain(`# HELP nv_gpu_memory_total_bytes GPU total memory, in bytes (simulated by serve-local --gpu gpu-local: NVIDIA-GeForce-RTX-2060)`);
    expect(text).toMatch(/^# HELP nv_gpu_memory_used_bytes GPU used memory, in bytes \(simulated .*the most in use over each half of --metrics-interval-ms 100/m);
    expect(text).toContain(`nv_gpu_memory_total_bytes{gpu_uuid="GPU-simulated-gpu-local"} ${CARD_MiB * MiB}`); // NVML's total, as Triton reports it
    await new Promise((r) => setTimeout(r, 250));
    expect(await usedGauge(server.metricsUrl!)).toBe(IDLE_MiB);
  });

  it("passes the gate, and the card never holds more than the plan's need beside the reserve", async () => {
    const report = await verifyReady({ server: new HttpKServeServer(server.url), onnxRoot, resolutions: ["240p", "1080p"].map(parseResolution), timeoutS: 240 });
    expect(failures(report)).toEqual([]);
    expect(report.exitCode).toBe(0);
    const card = server.gpu!.card;
    const peak = card.highWaterMiB();
    expect(peak).toBe(plan.profile.reserveMiB + plan.totals.needMiB);
    expect(peak - plan.profile.reserveMiB).toBeLessThanOrEqual(plan.budgetMiB);
    expect(card.usedMiB()).toBe(IDLE_MiB);
    console.log(`simulated gpu-local card under the gate: at most ${peak} of ${CARD_MiB} MiB used (reserve 1024 + ${peak - 1024} of the 5120 MiB budget)`);
  });

  it("bench's memory measurement over the simulated metrics gives back the plan's figures to plan --measured", async () => {
    const bench = httpBenchServer(server.url);
    const scrape = metricsScraper(bench, server.metricsUrl!);
    // readings wait three metrics intervals after each load or unload; each model runs for six
    const run = await runBench(bench, { catalog, outDir: join(root, "bench"), repeats: 1, warmup: 0, memory: { metricsUrl: server.metricsUrl!, scrape, settleMs: 300 } });
    const mem = run.summary.memory!;
    expect(mem.status, JSON.stringify(mem)).toBe("measured");
    expect(mem.models.filter((m) => m.error)).toEqual([]);
    const measured = await loadPlan({ profile: "gpu-local", measuredFile: run.measuredFile! });
    const figures = (p: typeof plan) => p.selected.map((e) => `${e.branch}: ${e.memory.residentMiB} + ${e.memory.peakMiB}`);
    expect(figures(measured.plan)).toEqual(figures(plan));
    // the card's figures are its accounting, never shown as measured (gpu_uuid GPU-simulated-gpu-local)
    expect(mem.simulatedProfile).toBe("gpu-local");
    expect(measured.plan.selected.every((e) => e.memory.source.startsWith("simulated (serve-local --gpu gpu-local): "))).toBe(true);
    expect(measured.plan.excluded.map((e) => e.branch)).toEqual(plan.excluded.map((e) => e.branch));
    expect(measured.plan.totals).toEqual(plan.totals);
    // the server ends as it began
    expect(server.counts()).toEqual({ ready: 31, unavailable: 0 });
  });
});

describe("the excluded raft_512 on the simulated gpu-local card", () => {
  it("is refused for memory when loaded beside the plan's ONNX models: UNAVAILABLE, with what it needed and what was free", async () => {
    const full = join(root, "full-repo");
    await synthRepo({ specsDir: "model-specs", onnxRoot, outDir: full });
    const onnx = plan.selected.map((e) => e.models.find((m) => m.role === "onnx")!.name);
    const server = await serve(full, onnx);
    try {
      expect(server.gpu!.card.usedMiB()).toBe(IDLE_MiB);
      const client = new KServeClient(server.url);
      const err = await client.load("raft_512").then(() => undefined, (e: unknown) => e as Error & { status?: number });
      expect(err?.status).toBe(400);
      expect(err?.message).toContain("out of memory (simulated): needs 3200 MiB, 2062 MiB free");
      const rows = await client.repositoryIndex();
      const row = rows.find((r) => r.name === "raft_512_onnx")!;
      expect(row.state).toBe("UNAVAILABLE");
      expect(row.reason).toMatch(/^Invalid argument: failed to run warmup sample 'zero_data_at_contract_shapes': onnx runtime error 6: .*Failed to allocate memory for requested buffer of size \d+: out of memory \(simulated\): needs 3200 MiB, 2062 MiB free/);
      // the ensemble over it is invalid in Triton's dependency graph: never in the lifecycle, a name-only row
      expect(rows.find((r) => r.name === "raft_512")).toEqual({ name: "raft_512" });
      // the failed load gave its session back, and the plan's models serve on
      expect(server.gpu!.card.usedMiB()).toBe(IDLE_MiB);
      expect(rows.filter((r) => onnx.includes(r.name)).every((r) => r.state === "READY")).toBe(true);
      // a changed model reloads: the new session loads beside the old one, which then gives its memory back
      const now = new Date();
      await utimes(join(full, "midas_256_onnx", "config.pbtxt"), now, now);
      await client.load("midas_256_onnx");
      expect(server.gpu!.card.usedMiB()).toBe(IDLE_MiB);
      expect(server.gpu!.card.holdings().filter((h) => h.model === "midas_256_onnx")).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe("what the card holds for instances and engines", () => {
  it("two GPU instances without shrinkage: Triton warms each, so each arena keeps its peak from the load on", async () => {
    const repo = await editedRepo(planRepo, "two-instances", (cfg) => {
      if (cfg.name !== "clip_text_onnx") return;
      cfg.instance_group![0]!.count = 2;
      delete cfg.parameters![ARENA_SHRINKAGE];
    });
    const server = await serve(repo, ["clip_text_onnx"]);
    try {
      const [h] = server.gpu!.card.holdings();
      expect(h).toMatchObject({ model: "clip_text_onnx", residentMiB: 2 * 260, extraMiB: 2 * 250 });
      expect(server.gpu!.card.usedMiB()).toBe(1024 + 2 * 260 + 2 * 250);
    } finally {
      await server.close();
    }
  });

  it("a gpu-prod repository (TensorRT on): each engine's context memory is held while loaded, beside the weights", async () => {
    const repo = join(root, "prod-repo");
    await synthRepo({ specsDir: "model-specs", onnxRoot, outDir: repo, select: profileSelection("model-specs", "gpu-prod") });
    const cfg = parseModelConfig(await readFile(join(repo, "midas_256_onnx", "config.pbtxt"), "utf8"));
    expect(cfg.optimization?.execution_accelerators?.gpu_execution_accelerator?.[0]?.parameters?.trt_engine_cache_path).toMatch(/^\/var\/cache\/triton-deploy\/trt-engines\/midas_256_onnx\/[0-9a-f]{16}$/);
    const server = await startServer({ repo, port: 0, metricsPort: null, loadModels: ["midas_256"], gpu: await simulatedGpu({ specsDir: "model-specs", profile: "gpu-prod" }), loadThreads: 1 });
    try {
      expect(server.counts()).toEqual({ ready: 3, unavailable: 0 });
      const held = Object.fromEntries(server.gpu!.card.holdings().map((h) => [h.model, h]));
      expect(held.midas_256_onnx).toMatchObject({ residentMiB: 120 + 256, extraMiB: 0 });
      expect(held.midas_256_onnx!.footprint.summary).toBe("resident 376 MiB (120 + 256 TensorRT context memory, held while loaded), +300 MiB per run, given back after each run");
    } finally {
      await server.close();
    }
  });
});

describe("model_warmup at load, with or without a card", () => {
  it("a warm-up sample that does not fit the config fails the load with the check's words; warm-up runs count in statistics", async () => {
    // core src/backend_model_instance.cc (r24.08): GenerateWarmupData prepares each sample's requests
    // as any request (PrepareForInference), so a misfit fails the load with Normalize's text; WarmUp's
    // requests keep collect_stats_ and the backend reports them as any other
    const repo = await editedRepo(planRepo, "bad-warmup", (cfg) => {
      if (cfg.name !== "clip_text_onnx") return;
      cfg.model_warmup![0]!.count = 3;
    });
    const file = join(repo, "midas_256_onnx", "config.pbtxt");
    const cfg = parseModelConfig(await readFile(file, "utf8"), file);
    cfg.model_warmup![0]!.inputs!.input!.dims = [1, 3, 128, 128];
    await writeFile(file, writeModelConfig(cfg));
    const server = await startServer({ repo, port: 0, metricsPort: null, loadModels: ["midas_256_onnx", "clip_text_onnx"], exitOnError: false });
    try {
      expect(server.startupFailures).toEqual([{ name: "midas_256_onnx", reason: "Invalid argument: unexpected shape for input 'input' for model 'midas_256_onnx'. Expected [1,3,256,256], got [1,3,128,128]" }]);
      const stats = await new KServeClient(server.url).modelStats("clip_text_onnx");
      expect(stats.model_stats[0]).toMatchObject({ inference_count: 3, execution_count: 3 }); // its three warm-up runs
    } finally {
      await server.close();
    }
  });
});

describe("ONNX Runtime models the specs have no estimate for", () => {
  it("the ONNX preprocess steps (--preprocess onnx) count at a floor, named, beside the branch's estimate", async () => {
    const repo = join(root, "onnx-preprocess");
    await synthRepo({ specsDir: "model-specs", onnxRoot, outDir: repo, preprocess: "onnx" });
    const server = await serve(repo, ["midas_256"]);
    try {
      const gpu = server.gpu!;
      expect(gpu.floorModels()).toEqual(["preprocess_midas_256"]);
      const held = Object.fromEntries(gpu.card.holdings().map((h) => [h.model, h.residentMiB]));
      expect(held.midas_256_onnx).toBe(120);
      expect(held.preprocess_midas_256).toBe(1); // its graph file, a few KiB, in whole MiB
      // uint8 [1,256,256,3] in, fp32 [1,3,256,256] out: 0.94 MiB, in whole MiB
      expect(gpu.card.holdings().find((h) => h.model === "preprocess_midas_256")!.footprint.runPeakMiB).toBe(1);
      expect([...gpu.models.values()].find((m) => m.model === "preprocess_midas_256")!.source).toContain("a floor");
    } finally {
      await server.close();
    }
  });
});

describe("the plan's repository without arena shrinkage on the simulated gpu-local card", () => {
  it("with warm-up: serve-local (--exit-on-error, Triton's default) exits at start-up naming the models that did not fit", async () => {
    const repo = await editedRepo(planRepo, "no-shrink", (cfg) => delete cfg.parameters![ARENA_SHRINKAGE]);
    const r = spawnSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "scripts/serve-local.ts"), "--repo", repo, "--port", "0", "--metrics-port", "0", "--gpu", "gpu-local", ...plan.loadModels.flatMap((m) => ["--load-model", m])], { cwd: REPO_ROOT, encoding: "utf8", timeout: 240_000 });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    // --gpu loads as the profile's deployment does: one model at a time under the serial plan
    expect(r.stdout).toMatch(/^serve-local: simulated GPU NVIDIA-GeForce-RTX-2060 \(--gpu gpu-local, GPU-simulated-gpu-local\): 5926 MiB, 1024 MiB reserved .*\(simulated\); loading 1 model\(s\) at a time as the gpu-local plan tells Triton \(--model-load-thread-count\)$/m);
    // midas 256/384/512 and raft_256 keep their warm-up peaks: 5544 MiB in use; clip_image_224 adds its 360
    expect(r.stderr).toMatch(/^serve-local: failed to load 'clip_image_224_onnx': Invalid argument: failed to run warmup sample 'zero_data_at_contract_shapes': onnx runtime error 6: .*out of memory \(simulated\): needs 250 MiB, 22 MiB free/m);
    expect(r.stderr).toMatch(/creating server: failed to load all models: .*clip_image_224_onnx/);
    expect(r.stdout).not.toContain("listening on");
  });

  it("without warm-up (the configs as they were): it starts, and the gate's smoke and e2e runs fail for memory with ONNX Runtime's error", async () => {
    const repo = await editedRepo(planRepo, "no-shrink-no-warmup", (cfg) => {
      delete cfg.parameters![ARENA_SHRINKAGE];
      delete cfg.model_warmup;
    });
    const server = await serve(repo, plan.loadModels);
    try {
      expect(server.gpu!.card.usedMiB()).toBe(IDLE_MiB); // nothing ran yet: only the residents
      const report = await verifyReady({ server: new HttpKServeServer(server.url), onnxRoot, resolutions: ["240p", "1080p"].map(parseResolution), timeoutS: 240 });
      expect(report.exitCode).toBe(1);
      const failed = failures(report);
      const oom = /onnx runtime error 6: .*out of memory \(simulated\)/;
      expect(failed.filter((f) => f.startsWith("[e2e]")).length).toBeGreaterThan(0);
      expect(failed.filter((f) => f.startsWith("[e2e]")).every((f) => oom.test(f))).toBe(true);
      expect(failed.some((f) => f.startsWith("[smoke]") && oom.test(f))).toBe(true);
      expect(failed.every((f) => f.startsWith("[smoke]") || f.startsWith("[e2e]"))).toBe(true);
      // an ORT error is TRITONSERVER_ERROR_INTERNAL: HTTP 500, as Triton answers it
      const client = new KServeClient(server.url);
      const meta = await client.modelMetadata("raft_256_onnx");
      const inputs = meta.inputs.map((t) => ({ name: t.name, datatype: "FP32" as const, shape: t.shape, data: new Float32Array(t.shape.reduce((a, b) => a * b, 1)) }));
      const err = await client.infer("raft_256_onnx", inputs).then(() => undefined, (e: unknown) => e as Error & { status?: number });
      expect(err?.status).toBe(500);
      expect(err?.message).toMatch(/onnx runtime error 6: Non-zero status code returned while running model 'raft_256_onnx' on the simulated card: .*Failed to allocate memory for requested buffer of size \d+: out of memory \(simulated\)/);
    } finally {
      await server.close();
    }
  });
});
