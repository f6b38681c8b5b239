// The simulated card's accounting on its own (src/serve/gpu-card.ts): what a config's semantics make
// a model hold (onnxruntime_backend src/onnxruntime.cc r24.08, read through ortMemorySemantics), the
// card's answers to loads and runs, and the plan's own arithmetic reproduced on the card of each
// profile from the configs synth-repo writes.
import { beforeAll, describe, expect, it } from "vitest";
import { ARENA_SHRINKAGE, ortMemorySemantics, type OrtSettings } from "../src/config/ort-memory.ts";
import type { ModelConfig } from "../src/config/index.ts";
import { selectedBranches } from "../src/plan/load.ts";
import { planDeployment, type Plan } from "../src/plan/plan.ts";
import { onnxModelConfig } from "../src/repo/model-configs.ts";
import { modelInstances } from "../src/serve/model-loader.ts";
import { cardSpec, catalogEstimates, floorEstimate, footprint, GpuCard, GpuOutOfMemory, ortOutOfMemoryMessage, type Footprint, type MemoryEstimate } from "../src/serve/gpu-card.ts";
import { loadCatalog, findBranch, type Catalog } from "../src/spec/catalog.ts";
import { loadProfile } from "../src/spec/profile.ts";

let catalog: Catalog;
beforeAll(async () => {
  catalog = await loadCatalog("model-specs");
});

const serial: OrtSettings = { policy: "serial", cudnnConvAlgoSearch: "heuristic", tensorrt: false };
/** As gpu-prod writes its configs: TensorRT where the spec has it. */
const serialTrt: OrtSettings = { ...serial, tensorrt: true };
const KEY = "0123456789abcdef";
const est = (residentMiB: number, peakMiB: number, tensorRtIncluded = false): MemoryEstimate => ({ residentMiB, peakMiB, source: "test", tensorRtIncluded });
const card = (totalMiB = 6144, reserveMiB = 1024) => new GpuCard({ profile: "t", product: "TEST", totalMiB, reserveMiB, uuid: "GPU-simulated-t" });
const fp = (residentMiB: number, runPeakMiB: number, shrinks = true, instances = 1): Footprint => ({ residentMiB, runPeakMiB, shrinks, instances, summary: "" });

function branchConfig(branch: string, settings: OrtSettings = serialTrt): ModelConfig {
  return onnxModelConfig(findBranch(catalog, branch)!, settings, KEY);
}

describe("footprint: what a config makes a model hold", () => {
  it("midas_512 as gpu-prod writes it: shrinkage, TensorRT FP16 whose context memory is held while loaded, the peak per run", () => {
    const f = footprint(est(540, 1400), ortMemorySemantics(branchConfig("midas_512")));
    expect(f).toMatchObject({ residentMiB: 540 + 256, runPeakMiB: 1400, shrinks: true, instances: 1 });
    expect(f.summary).toBe("resident 796 MiB (540 + 256 TensorRT context memory, held while loaded), +1400 MiB per run, given back after each run");
    // As gpu-local writes it: no TensorRT block, nothing added.
    expect(footprint(est(540, 1400), ortMemorySemantics(branchConfig("midas_512", serial)))).toMatchObject({ residentMiB: 540, runPeakMiB: 1400 });
  });

  it("TensorRT's context memory is held whether or not contexts share it (ONNX Runtime keeps the shared block for the session's life); without shrinkage the peak is kept", () => {
    const cfg = branchConfig("midas_512");
    delete cfg.parameters![ARENA_SHRINKAGE];
    const trt = cfg.optimization!.execution_accelerators!.gpu_execution_accelerator![0]!;
    delete trt.parameters!.trt_context_memory_sharing_enable;
    const f = footprint(est(540, 1400), ortMemorySemantics(cfg));
    expect(f).toMatchObject({ residentMiB: 540 + 256, runPeakMiB: 1400, shrinks: false });
    expect(f.summary).toContain("kept after the first run (no arena shrinkage)");
  });

  it("measured figures already hold TensorRT's memory; kNextPowerOfTwo rounds a run's growth up; instances multiply; CPU instances hold nothing", () => {
    const cfg = branchConfig("midas_512");
    expect(footprint(est(560, 1700, true), ortMemorySemantics(cfg))).toMatchObject({ residentMiB: 560, runPeakMiB: 1700 });
    cfg.parameters!.arena_extend_strategy = { string_value: "0" };
    expect(footprint(est(540, 1400), ortMemorySemantics(cfg)).runPeakMiB).toBe(2048);
    const two = branchConfig("clip_text");
    two.instance_group = [{ count: 2, kind: "KIND_GPU" }];
    expect(footprint(est(260, 250), ortMemorySemantics(two))).toMatchObject({ residentMiB: 520, runPeakMiB: 250, instances: 2 });
    const twoTrt = branchConfig("midas_512");
    twoTrt.instance_group = [{ count: 2, kind: "KIND_GPU" }];
    expect(footprint(est(540, 1400), ortMemorySemantics(twoTrt))).toMatchObject({ residentMiB: 2 * (540 + 256), instances: 2 }); // a session, and its engines' context memory, per instance
    two.instance_group = [{ count: 1, kind: "KIND_CPU" }];
    expect(footprint(est(260, 250), ortMemorySemantics(two))).toMatchObject({ residentMiB: 0, runPeakMiB: 0, instances: 0 });
  });

  it("a model with no estimate counts at a floor: its files while loaded, its I/O tensors per run", () => {
    const cfg: ModelConfig = { name: "preprocess_midas_512", platform: "onnxruntime_onnx", max_batch_size: 0, input: [{ name: "in", data_type: "TYPE_UINT8", dims: [1, 512, 512, 3] }], output: [{ name: "out", data_type: "TYPE_FP32", dims: [1, 3, 512, 512] }] };
    expect(floorEstimate(cfg, 3 * 1024 * 1024 + 1)).toMatchObject({ residentMiB: 4, peakMiB: 4, tensorRtIncluded: false, source: expect.stringContaining("floor") });
  });

  it("estimates are the specs' figures for ONNX Runtime's CUDA provider (TensorRT's memory comes from each config)", () => {
    const e = catalogEstimates(catalog);
    expect(e.get("midas_512_onnx")).toMatchObject({ residentMiB: 540, peakMiB: 1400, tensorRtIncluded: false });
    expect(e.get("clip_text_onnx")).toMatchObject({ residentMiB: 260, peakMiB: 250 });
    expect(e.has("preprocess_midas_512")).toBe(false);
    // a plan --measured file's figures replace them as they are: measured on the config as written, TensorRT included
    const measured = catalogEstimates(catalog, { file: "m.json", byModel: new Map([["midas_512_onnx", { residentMiB: 600, peakMiB: 1500, source: "bench-1" }]]) });
    expect(measured.get("midas_512_onnx")).toEqual({ residentMiB: 600, peakMiB: 1500, source: "measured: bench-1", tensorRtIncluded: true });
    expect(footprint(measured.get("midas_512_onnx")!, ortMemorySemantics(branchConfig("midas_512")))).toMatchObject({ residentMiB: 600, runPeakMiB: 1500 });
    expect(measured.get("midas_256_onnx")).toMatchObject({ residentMiB: 120, tensorRtIncluded: false });
  });
});

describe("GpuCard: loads and runs", () => {
  it("starts at the reserve; resident while loaded; the peak only while running with shrinkage", () => {
    const c = card();
    expect(c.usedMiB()).toBe(1024);
    c.load("a/1", "a", fp(500, 1000));
    expect(c.usedMiB()).toBe(1524);
    const end = c.beginRun("a/1");
    expect(c.usedMiB()).toBe(2524);
    const end2 = c.beginRun("a/1"); // one instance: a second request waits in Triton's queue, no second peak
    expect(c.usedMiB()).toBe(2524);
    end();
    end2();
    expect(c.usedMiB()).toBe(1524);
    expect(c.highWaterMiB()).toBe(2524);
    c.unload("a/1");
    expect(c.usedMiB()).toBe(1024);
  });

  it("the sampled gauge's window: the most in use since the previous sample, however short the run", () => {
    const c = card();
    c.load("a/1", "a", fp(500, 1000));
    expect(c.takeWindowHighMiB()).toBe(1524);
    c.beginRun("a/1")(); // over before the next sample
    expect(c.usedMiB()).toBe(1524);
    expect(c.takeWindowHighMiB()).toBe(2524);
    expect(c.takeWindowHighMiB()).toBe(1524); // the next window saw no run
    const end = c.beginRun("a/1");
    expect(c.takeWindowHighMiB()).toBe(2524);
    expect(c.takeWindowHighMiB()).toBe(2524); // still running at the sample
    end();
    c.unload("a/1");
    expect(c.takeWindowHighMiB()).toBe(2524);
    expect(c.takeWindowHighMiB()).toBe(1024);
  });

  it("two GPU instances run two requests at once, each with its own peak", () => {
    const c = card();
    c.load("a/1", "a", fp(1000, 1000, true, 2));
    const e1 = c.beginRun("a/1");
    const e2 = c.beginRun("a/1");
    expect(c.usedMiB()).toBe(1024 + 1000 + 2000);
    e1();
    expect(c.usedMiB()).toBe(1024 + 1000 + 1000);
    e2();
  });

  it("without shrinkage each instance's arena keeps its peak after Triton warms it: two GPU instances keep two peaks", () => {
    const c = card();
    c.load("a/1", "a", fp(1000, 1000, false, 2)); // 500 MiB resident per instance
    c.beginRun("a/1", 0)(); // Triton warms every instance (core src/backend_model_instance.cc, r24.08)
    expect(c.usedMiB()).toBe(1024 + 1000 + 1000);
    c.beginRun("a/1", 1)();
    expect(c.usedMiB()).toBe(1024 + 1000 + 2000);
    c.beginRun("a/1")(); // a later request lands on a warmed instance: nothing more
    expect(c.usedMiB()).toBe(1024 + 1000 + 2000);
    expect(c.beginRun("a/1", 2)).not.toThrow(); // a third (CPU) instance of the model holds nothing on the GPU
    expect(c.usedMiB()).toBe(1024 + 1000 + 2000);
    // With shrinkage each warm-up gives its peak back.
    const s = card();
    s.load("a/1", "a", fp(1000, 1000, true, 2));
    s.beginRun("a/1", 0)();
    s.beginRun("a/1", 1)();
    expect(s.usedMiB()).toBe(1024 + 1000);
    expect(s.highWaterMiB()).toBe(1024 + 1000 + 1000);
  });

  it("without shrinkage the arena keeps its largest size; a failed run keeps what it grew (the worst case: all that was free)", () => {
    const c = card(4096, 1024);
    c.load("a/1", "a", fp(500, 1000, false));
    c.beginRun("a/1")();
    expect(c.usedMiB()).toBe(2524);
    c.beginRun("a/1")(); // nothing more: the arena already has it
    expect(c.usedMiB()).toBe(2524);
    c.load("b/1", "b", fp(100, 2000, false));
    expect(() => c.beginRun("b/1")).toThrow("out of memory (simulated): needs 2000 MiB, 1472 MiB free");
    expect(c.usedMiB()).toBe(4096);
    expect(c.freeMiB()).toBe(0);
    c.unload("b/1");
    expect(c.usedMiB()).toBe(2524);
  });

  it("a run that does not fit fails and, with shrinkage, holds nothing after", () => {
    const c = card(4096, 1024);
    c.load("a/1", "a", fp(500, 1000));
    c.load("b/1", "b", fp(500, 2000));
    const end = c.beginRun("a/1");
    let err: unknown;
    try {
      c.beginRun("b/1");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GpuOutOfMemory);
    expect(err).toMatchObject({ model: "b", phase: "run", needMiB: 2000, freeMiB: 1072 });
    end();
    expect(c.usedMiB()).toBe(2024);
    expect(() => c.beginRun("b/1")).not.toThrow(); // alone it fits
  });

  it("a load that does not fit holds nothing and says what it needed and what was free", () => {
    const c = card(2048, 1024);
    c.load("a/1", "a", fp(900, 0));
    expect(() => c.load("b/1", "b", fp(200, 0))).toThrow(new GpuOutOfMemory("b", "load", 200, 124));
    expect(c.usedMiB()).toBe(1924);
    expect(c.holdings().map((h) => h.key)).toEqual(["a/1"]);
  });

  it("ONNX Runtime's words for it, as Triton 24.08's onnxruntime backend passes them on (onnx runtime error 6 = ORT_RUNTIME_EXCEPTION)", () => {
    expect(ortOutOfMemoryMessage(new GpuOutOfMemory("raft_512_onnx", "run", 3516, 2340))).toBe(
      "onnx runtime error 6: Non-zero status code returned while running model 'raft_512_onnx' on the simulated card: onnxruntime::BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer of size 3686793216: out of memory (simulated): needs 3516 MiB, 2340 MiB free",
    );
    expect(ortOutOfMemoryMessage(new GpuOutOfMemory("m", "load", 10, 5))).toMatch(/^onnx runtime error 6: Exception during initialization: .*out of memory \(simulated\): needs 10 MiB, 5 MiB free$/);
  });
});

/** Loads the plan's ONNX models as Triton would (each instance warmed up once at load), then runs each once. */
function runPlanOnCard(plan: Plan, settings: OrtSettings, branches: readonly string[]): { card: GpuCard; failures: string[] } {
  const c = new GpuCard(cardSpec({ name: plan.profile.name, gpu: plan.profile.gpu, reserveMiB: plan.profile.reserveMiB }));
  const estimates = catalogEstimates(catalog);
  const failures: string[] = [];
  const attempt = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof GpuOutOfMemory)) throw e;
      failures.push(`${what}: ${e.message}`);
    }
  };
  for (const b of branches) {
    const cb = findBranch(catalog, b)!;
    const name = cb.models.onnx;
    const cfg = onnxModelConfig(cb, settings, KEY);
    const f = footprint(estimates.get(name)!, ortMemorySemantics(cfg));
    attempt(`load ${name}`, () => {
      c.load(name, name, f);
      try {
        for (const i of modelInstances(cfg)) if (i.kind === "gpu") c.beginRun(name, i.index)(); // the warm-ups: when one fails, so does the load
      } catch (e) {
        c.unload(name);
        throw e;
      }
    });
  }
  for (const b of branches) {
    const name = findBranch(catalog, b)!.models.onnx;
    if (c.holdings().some((h) => h.key === name)) attempt(`run ${name}`, () => c.beginRun(name)());
  }
  return { card: c, failures };
}

describe("the plan's arithmetic on the card of its profile", () => {
  for (const profile of ["gpu-local", "gpu-prod", "gpu-a100-80"]) {
    it(`${profile}: the selected set loads, warms up and runs one model at a time within the budget; the most in use is reserve + the plan's need`, async () => {
      const p = await loadProfile("model-specs", profile);
      const plan = planDeployment(catalog, p);
      const settings = { policy: plan.onnxRuntime.policy, cudnnConvAlgoSearch: plan.onnxRuntime.cudnnConvAlgoSearch, tensorrt: plan.onnxRuntime.tensorrt };
      const { card: c, failures } = runPlanOnCard(plan, settings, selectedBranches(catalog, plan).map((cb) => cb.branch.name));
      expect(failures).toEqual([]);
      expect(c.highWaterMiB()).toBe(plan.profile.reserveMiB + plan.totals.needMiB);
      expect(c.highWaterMiB()).toBeLessThanOrEqual(c.spec.totalMiB);
    });
  }

  it("gpu-local's card is the size an RTX 2060 reports (5926 MiB), not its nominal 6144", async () => {
    const plan = planDeployment(catalog, await loadProfile("model-specs", "gpu-local"));
    expect(cardSpec({ name: plan.profile.name, gpu: plan.profile.gpu, reserveMiB: plan.profile.reserveMiB }).totalMiB).toBe(5926);
  });

  it("gpu-local: loading the excluded raft_512 after the plan's set fails at its warm-up: its peak does not fit beside the set's residents", async () => {
    const plan = planDeployment(catalog, await loadProfile("model-specs", "gpu-local"));
    const names = [...selectedBranches(catalog, plan).map((cb) => cb.branch.name), "raft_512"];
    // 5926 - 1024 reserve - 2780 resident - its own 60 = 2062 free for a 3200 peak
    const { failures } = runPlanOnCard(plan, serial, names);
    expect(failures).toEqual(["load raft_512_onnx: out of memory (simulated): needs 3200 MiB, 2062 MiB free"]);
  });

  it("gpu-local without shrinkage: every warm-up keeps its peak, and the set stops fitting long before the plan's last branch", async () => {
    const plan = planDeployment(catalog, await loadProfile("model-specs", "gpu-local"));
    const { failures } = runPlanOnCard(plan, { policy: "resident", cudnnConvAlgoSearch: "heuristic", tensorrt: false }, selectedBranches(catalog, plan).map((cb) => cb.branch.name));
    // midas 256/384/512 keep 420 + 1420 + 1940 MiB and raft_256 740 beside the 1024 reserve (5544);
    // clip_image_224 adds its 360 and finds 22 of the card's 5926 MiB free for its 250 MiB warm-up.
    expect(failures.length).toBeGreaterThan(1);
    expect(failures[0]).toBe("load clip_image_224_onnx: out of memory (simulated): needs 250 MiB, 22 MiB free");
  });
});
