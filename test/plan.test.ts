// The VRAM plan: on the seed's 6 GB card (no TensorRT) the specs' estimates leave out exactly
// yolo11x_960 and raft_512, each with its arithmetic; bigger cards, with TensorRT's context memory
// counted as resident, leave out nothing; the profile's policy picks the formula; overrides and
// measured figures change the outcome and say so; required branches that cannot fit fail with the
// numbers; the headroom is shown on what the card reports too.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { formatPlanTable, planJson } from "../src/plan/format.ts";
import { loadPlan } from "../src/plan/load.ts";
import { loadMeasured, type MeasuredMemory } from "../src/plan/measured.ts";
import { planDeployment, planEntries } from "../src/plan/plan.ts";
import { startupBudget } from "../src/plan/startup.ts";
import { loadCatalog } from "../src/spec/catalog.ts";
import { loadProfile, parseProfile } from "../src/spec/profile.ts";

const catalog = await loadCatalog("model-specs");
const gpuLocal = await loadProfile("model-specs", "gpu-local");
const gpuProd = await loadProfile("model-specs", "gpu-prod");

/** gpu-local with other numbers or overrides, as a user would edit it. */
function variant(edit: (yaml: string) => string) {
  const yaml = [
    "name: gpu-local", "description: edited", "gpu: { product: RTX-2060, vramMiB: 6144 }", "reserveMiB: 1024",
    "checklist:", "  required: [midas_256, midas_384, midas_512, raft_256, clip_image_224, clip_text, places365_resnet50_224]",
    "  optional: [yolo11x_320, yolo11x_640, places365_resnet50_336, places365_resnet50_448, raft_384, yolo11x_960, raft_512]",
    "overrides: { include: [], exclude: [] }",
    "deployment:", "  repository: { kind: hostPath, path: /srv/models }",
  ].join("\n");
  return parseProfile(edit(yaml), "model-specs/profiles/gpu-local.yaml");
}

function thrown(f: () => unknown): UserError {
  try { f(); } catch (e) { if (e instanceof UserError) return e; throw e; }
  throw new Error("expected a UserError");
}

describe("gpu-local (RTX 2060, 6 GB)", () => {
  const plan = planDeployment(catalog, gpuLocal);

  it("selects everything required and the optional branches except exactly yolo11x_960 and raft_512", () => {
    expect(plan.budgetMiB).toBe(6144 - 1024);
    expect(plan.excluded.map((e) => e.branch)).toEqual(["yolo11x_960", "raft_512"]);
    expect(plan.selected.map((e) => e.branch)).toEqual([
      "midas_256", "midas_384", "midas_512", "raft_256", "clip_image_224", "clip_text", "places365_resnet50_224",
      "yolo11x_320", "yolo11x_640", "places365_resnet50_336", "places365_resnet50_448", "raft_384",
    ]);
  });

  it("shows the arithmetic of each exclusion at the moment it was considered", () => {
    const [yolo, raft] = plan.excluded;
    // 2780 resident so far + 420 for yolo11x_960, whose 2900 peak becomes the max.
    expect(yolo!.fit).toEqual({ residentMiB: 3200, peakMiB: 2900, needMiB: 6100, budgetMiB: 5120, fits: false });
    expect(yolo!.reason).toBe("does not fit: 3200 + 2900 = 6100 > 5120 MiB");
    expect(raft!.fit).toEqual({ residentMiB: 2840, peakMiB: 3200, needMiB: 6040, budgetMiB: 5120, fits: false });
    // raft_384's 1800 MiB is the largest peak admitted. The card reports 5926 MiB, not 6144: 322 MiB of real headroom.
    expect(plan.totals).toEqual({ residentMiB: 2780, peakMiB: 1800, needMiB: 4580, headroomMiB: 540, reportedHeadroomMiB: 5926 - 1024 - 4580 });
  });

  it("loads every model of the selected branches once, composing models before their ensemble", () => {
    expect(plan.loadModels).toHaveLength(31);
    expect(new Set(plan.loadModels).size).toBe(31);
    expect(plan.loadModels.slice(0, 3)).toEqual(["midas_256_onnx", "preprocess_midas_256", "midas_256"]);
    for (const banned of ["yolo11x_960", "raft_512", "raft_512_onnx", "preprocess_raft_512"]) expect(plan.loadModels).not.toContain(banned);
  });

  it("prints a table with the running totals and a JSON form for machines", () => {
    const table = formatPlanTable(plan);
    expect(table).toContain("budget 5120 MiB");
    expect(table).toMatch(/yolo11x_960[\s\S]*3200 \+ 2900 = 6100 > 5120 MiB[\s\S]*EXCLUDED: does not fit/);
    expect(table).toContain("excluded 2: yolo11x_960, raft_512");
    expect(table).toContain("2780 + 1800 = 4580 of 5120 MiB, headroom 540 MiB on the nominal 6144 MiB; real headroom 322 MiB on the 5926 MiB the card reports (nvidia.com/gpu.memory)");
    const json = JSON.parse(JSON.stringify(planJson(plan)));
    expect(json.excluded[1].models).toEqual({ ensemble: "raft_512", preprocess: "preprocess_raft_512", onnx: "raft_512_onnx" });
    expect(json.selected.find((e: { branch: string }) => e.branch === "yolo11x_640").models).toEqual({ onnx: "yolo11x_640" });
    expect(json.loadModels).toEqual(plan.loadModels);
    expect(json.profile.gpu).toEqual({ product: "NVIDIA-GeForce-RTX-2060", vramMiB: 6144, reportedMiB: 5926, nodeLabelMemoryMiB: 6144 });
    expect(json.totals.reportedHeadroomMiB).toBe(322);
    expect(json.routing.families.map((f: { family: string }) => f.family)).toContain("yolo11");
  });
});

describe("larger cards", () => {
  it.each(["gpu-prod", "gpu-a100-80"])("%s excludes nothing and loads all 35 models of the checklist", async (name) => {
    const { plan } = await loadPlan({ profile: name });
    expect(plan.excluded).toEqual([]);
    expect(plan.loadModels).toHaveLength(35);
  });
});

describe("the serial policy", () => {
  it("considers each optional branch against the set at that moment: a later, smaller branch can still fit", () => {
    // 4860 budget: yolo11x_960 (6100) and raft_512 (6040) fail, but raft_384 after them still fits (4580).
    const p = planDeployment(catalog, variant((y) => y.replace("reserveMiB: 1024", "reserveMiB: 1284").replace("places365_resnet50_448, raft_384, yolo11x_960, raft_512", "places365_resnet50_448, yolo11x_960, raft_512, raft_384")));
    expect(planEntries(p).map((e) => `${e.branch}:${e.cause}`).slice(-3)).toEqual(["yolo11x_960:does-not-fit", "raft_512:does-not-fit", "raft_384:fits"]);
  });

  it("fails when the required branches do not fit, listing them with the numbers (exit 1)", () => {
    const e = thrown(() => planDeployment(catalog, variant((y) => y.replace("vramMiB: 6144", "vramMiB: 4096"))));
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain("the required branches do not fit");
    expect(e.message).toContain("sum(resident) + max(peak) = 1950 + 1400 = 3350 > 3072 MiB");
    expect(e.message).toContain("midas_512: resident 540, peak 1400 MiB");
    expect(e.message).toMatch(/gpu-local\.yaml:\d+:\d+ checklist\.required/);
  });
});

describe("the resident policy", () => {
  it("counts every peak at once and says so; the 80 GB profile uses it", async () => {
    const { plan } = await loadPlan({ profile: "gpu-a100-80" });
    expect(plan.profile.policy).toBe("resident");
    expect(plan.onnxRuntime.formula).toBe("sum(resident) + sum(peak)");
    expect(plan.onnxRuntime.parameters).toEqual({ arena_extend_strategy: "1", cudnn_conv_algo_search: "0" });
    // Every peak is counted, so Triton may load (and warm up) 4 models at once, its default.
    expect(plan.onnxRuntime.modelLoadThreadCount).toBe(4);
    const peaks = plan.selected.reduce((s, e) => s + e.memory.peakMiB, 0);
    // 3260 MiB of weights + 12 TensorRT context memories of 256 MiB, held while loaded.
    expect(plan.totals).toMatchObject({ residentMiB: 3260 + 12 * 256, peakMiB: peaks, needMiB: 3260 + 12 * 256 + peaks });
    expect(formatPlanTable(plan)).toContain("policy resident: sum(resident) + sum(peak) <= budget");
  });

  it("admits fewer branches than serial on the same card: each decision adds the candidate's peak to the sum", () => {
    const card = (y: string) => y.replace("vramMiB: 6144", "vramMiB: 12288");
    const serial = planDeployment(catalog, variant(card));
    const resident = planDeployment(catalog, variant((y) => card(y).replace("reserveMiB: 1024", "reserveMiB: 1024\npolicy: resident")));
    expect(serial.excluded).toEqual([]);
    // required: 1950 resident + 4050 of peaks; then yolo11x_320 (+260, +500), yolo11x_640 (+300, +1300), places 336 (+110, +400), 448 (+110, +600).
    expect(resident.selected.at(-1)!.fit).toEqual({ residentMiB: 2730, peakMiB: 6850, needMiB: 9580, budgetMiB: 11264, fits: true });
    expect(resident.excluded.map((e) => e.branch)).toEqual(["raft_384", "yolo11x_960", "raft_512"]);
    expect(resident.excluded[0]!.reason).toBe("does not fit: 2780 + 8650 = 11430 > 11264 MiB");
  });

  it("on the 6 GB card the required branches alone do not fit, and the error suggests serial", () => {
    const e = thrown(() => planDeployment(catalog, variant((y) => y.replace("reserveMiB: 1024", "reserveMiB: 1024\npolicy: resident"))));
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain("sum(resident) + sum(peak) = 1950 + 4050 = 6000 > 5120 MiB");
    expect(e.message).toContain("set policy: serial");
  });
});

describe("TensorRT and the configs' settings", () => {
  const plan = planDeployment(catalog, gpuLocal);
  const prod = planDeployment(catalog, gpuProd);

  it("counts a branch's TensorRT context memory (its workspace) as resident where the profile runs TensorRT, and keeps its peak", () => {
    const raft = prod.selected.find((e) => e.branch === "raft_384")!;
    expect(raft.memory).toMatchObject({ residentMiB: 50 + 256, peakMiB: 1800, workspaceMiB: 256 });
    expect(raft.accelerator).toEqual({ kind: "tensorrt", precision: "FP32", workspaceMiB: 256, engineCacheDir: "/var/cache/triton-deploy/trt-engines/raft_384_onnx" });
    const clip = prod.selected.find((e) => e.branch === "clip_text")!;
    expect(clip.memory).toMatchObject({ residentMiB: 260, peakMiB: 250 });
    expect(clip.accelerator).toBeUndefined();
    expect(prod.onnxRuntime.tensorrt).toBe(true);
    expect(prod.totals).toMatchObject({ residentMiB: 3260 + 12 * 256, peakMiB: 3200, needMiB: 6332 + 3200 });
    expect(formatPlanTable(prod)).toMatch(/raft_384[\s\S]*306\s*│\s*1800[\s\S]*TRT FP32[\s\S]*\+256 ctx/);
    expect(formatPlanTable(prod)).toContain("TensorRT on (profile tensorrt: true) for 12 selected branches");
  });

  it("gpu-local runs without TensorRT: the specs' accelerators are neither counted nor written", () => {
    const raft = plan.selected.find((e) => e.branch === "raft_384")!;
    expect(raft.memory).toEqual({ residentMiB: 50, peakMiB: 1800, source: expect.stringContaining("spec:") });
    expect(plan.selected.filter((e) => e.accelerator)).toEqual([]);
    expect(plan.onnxRuntime.tensorrt).toBe(false);
    expect(formatPlanTable(plan)).toContain("TensorRT off (profile tensorrt: false)");
  });

  it("with TensorRT on, the 6 GB card would hold ten engines' context memory and leave out far more than yolo11x_960 and raft_512", () => {
    const trt = planDeployment(catalog, variant((y) => y.replace("reserveMiB: 1024", "reserveMiB: 1024\ntensorrt: true")));
    // required: 1950 + 5 × 256 resident and midas_512's 1400 peak = 4630; of the optional branches only
    // places365_resnet50_336 (110 + 256) still fits: 4996 of 5120.
    expect(trt.selected.at(-1)!.fit).toMatchObject({ residentMiB: 1950 + 5 * 256 + 110 + 256, peakMiB: 1400, needMiB: 4996 });
    expect(trt.excluded.map((e) => e.branch)).toEqual(["yolo11x_320", "yolo11x_640", "places365_resnet50_448", "raft_384", "yolo11x_960", "raft_512"]);
  });

  it("takes measured figures as they are: the server measured them with TensorRT running", () => {
    const measured: MeasuredMemory = { file: "m.json", byModel: new Map([["raft_384_onnx", { residentMiB: 70, peakMiB: 1900, source: "bench run 7" }]]) };
    const raft = planDeployment(catalog, gpuLocal, { measured }).selected.find((e) => e.branch === "raft_384")!;
    expect(raft.memory).toEqual({ residentMiB: 70, peakMiB: 1900, source: "measured: bench run 7" });
  });

  it("states the parameters and warm-up every ONNX Runtime config carries, from the profile", () => {
    expect(plan.onnxRuntime).toMatchObject({
      policy: "serial",
      cudnnConvAlgoSearch: "heuristic",
      parameters: { "memory.enable_memory_arena_shrinkage": "gpu:0", arena_extend_strategy: "1", cudnn_conv_algo_search: "1" },
      // Loads run their warm-ups: one at a time, or Triton's 4 parallel loads would add their peaks at start-up.
      modelLoadThreadCount: 1,
    });
    expect(plan.onnxRuntime.rateLimiter).toEqual({ resource: "gpu_serial", args: ["--rate-limit=execution_count", "--rate-limit-resource=gpu_serial:1"] });
    expect(formatPlanTable(plan)).toContain("tritonserver --model-load-thread-count=1 --rate-limit=execution_count --rate-limit-resource=gpu_serial:1");
    expect(formatPlanTable(plan)).toContain("every GPU instance holds the global rate-limiter resource gpu_serial (count 1)");
    expect(planJson(plan).onnxRuntime).toEqual(plan.onnxRuntime);
    const exhaustive = planDeployment(catalog, variant((y) => y.replace("reserveMiB: 1024", "reserveMiB: 1024\ncudnnConvAlgoSearch: exhaustive")));
    expect(exhaustive.onnxRuntime.parameters.cudnn_conv_algo_search).toBe("0");
  });

  it("budgets the start for loading, warm-up by the cuDNN search, and TensorRT engine builds only where the plan runs TensorRT", () => {
    const local = startupBudget(plan, gpuLocal.spec.deployment.repository);
    expect(local.parts.map((p) => p.what)).toEqual(["server start", "load 12 ONNX models", "warm up 12 ONNX models (cuDNN heuristic search)"]);
    expect(local.seconds).toBe(660);
    const exhaustive = planDeployment(catalog, variant((y) => y.replace("reserveMiB: 1024", "reserveMiB: 1024\ncudnnConvAlgoSearch: exhaustive")));
    const slower = startupBudget(exhaustive, gpuLocal.spec.deployment.repository);
    expect(slower.parts[2]!.seconds).toBeGreaterThan(local.parts[2]!.seconds);
    const p = startupBudget(prod, gpuProd.spec.deployment.repository);
    expect(p.parts.at(-1)).toEqual({ what: "build 12 TensorRT engines on the first start and after a new export (cached in /var/cache/triton-deploy/trt-engines after)", seconds: 12 * 180 });
    expect(p.seconds).toBe(p.parts.reduce((s, x) => s + x.seconds, 0));
  });
});

describe("headroom on the card as it reports itself", () => {
  it("says when the set fits the nominal size but not what the card reports", () => {
    const p = planDeployment(catalog, variant((y) => y.replace("vramMiB: 6144 }", "vramMiB: 6144, reportedMiB: 5500 }")));
    expect(p.totals).toMatchObject({ needMiB: 4580, headroomMiB: 540, reportedHeadroomMiB: 5500 - 1024 - 4580 });
    expect(formatPlanTable(p)).toContain("headroom 540 MiB on the nominal 6144 MiB, but -104 MiB on the 5500 MiB the card reports (nvidia.com/gpu.memory): the set does not fit the real card");
  });

  it("says it reckons on the nominal size when the profile does not give what the card reports", () => {
    const p = planDeployment(catalog, variant((y) => y));
    expect(p.totals).not.toHaveProperty("reportedHeadroomMiB");
    expect(formatPlanTable(p)).toContain("headroom 540 MiB (on the nominal 6144 MiB)");
  });

  it("refuses a reported size above the nominal one", () => {
    expect(() => variant((y) => y.replace("vramMiB: 6144 }", "vramMiB: 6144, reportedMiB: 6200 }"))).toThrow("reportedMiB 6200 is above gpu.vramMiB 6144");
  });
});

describe("overrides", () => {
  it("exclude drops an optional branch and the plan reports it", () => {
    const p = planDeployment(catalog, variant((y) => y.replace("exclude: []", "exclude: [yolo11x_320]")));
    expect(p.excluded.map((e) => `${e.branch}:${e.cause}`)).toContain("yolo11x_320:excluded-by-override");
    expect(p.overrides).toContainEqual({ kind: "exclude", branch: "yolo11x_320", note: "left out (resident 260, peak 500 MiB)" });
    expect(p.loadModels).not.toContain("yolo11x_320");
  });

  it("include forces a branch in ahead of the priority order when it fits", () => {
    const p = planDeployment(catalog, variant((y) => y.replace("vramMiB: 6144", "vramMiB: 8192").replace("include: []", "include: [raft_512]")));
    expect(p.selected.find((e) => e.branch === "raft_512")?.cause).toBe("included");
    expect(p.overrides).toContainEqual({ kind: "include", branch: "raft_512", note: "forced in ahead of the priority order" });
  });

  it("include of a branch that cannot fit fails with the numbers (exit 1)", () => {
    const e = thrown(() => planDeployment(catalog, variant((y) => y.replace("include: []", "include: [raft_512]").replace("vramMiB: 6144", "vramMiB: 5000"))));
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain("'raft_512' is forced in by overrides.include but does not fit: 2010 + 3200 = 5210 > 3976 MiB");
    expect(e.message).toMatch(/gpu-local\.yaml:8:\d+ overrides\.include\[0\]/);
  });
});

describe("measured figures", () => {
  it("replace the estimates per ONNX model and can change the outcome", () => {
    const measured: MeasuredMemory = { file: "m.json", byModel: new Map([["raft_512_onnx", { residentMiB: 60, peakMiB: 1500, source: "bench run 42" }]]) };
    const p = planDeployment(catalog, gpuLocal, { measured });
    expect(p.excluded.map((e) => e.branch)).toEqual(["yolo11x_960"]);
    expect(p.selected.find((e) => e.branch === "raft_512")?.memory.source).toBe("measured: bench run 42");
  });

  it("refuse a name that is not an ONNX model of the catalog (exit 2)", () => {
    const measured: MeasuredMemory = { file: "m.json", byModel: new Map([["raft_512", { residentMiB: 1, peakMiB: 1, source: "x" }]]) };
    const e = thrown(() => planDeployment(catalog, gpuLocal, { measured }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("'raft_512' is not an ONNX model of the catalog");
  });

  it("are read from the JSON a bench writes; a bad value points at its line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "measured-"));
    try {
      const good = join(dir, "vram.json");
      writeFileSync(good, JSON.stringify({ yolo11x_960: { residentMiB: 200, peakMiB: 900, source: "bench 2026-01-08" } }, null, 2));
      const m = await loadMeasured(good);
      expect(m.byModel.get("yolo11x_960")).toEqual({ residentMiB: 200, peakMiB: 900, source: "bench 2026-01-08" });
      expect(planDeployment(catalog, gpuLocal, { measured: m }).excluded.map((e) => e.branch)).toEqual(["raft_512"]);
      const bad = join(dir, "bad.json");
      writeFileSync(bad, '{\n  "yolo11x_960": { "residentMiB": -4, "peakMiB": 900, "source": "x" }\n}\n');
      const e = await loadMeasured(bad).catch((x: unknown) => x);
      expect((e as UserError).message).toMatch(/bad\.json:2:\d+ yolo11x_960\.residentMiB/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
