// synth-repo writes the plan's ONNX Runtime settings into every ONNX Runtime config it writes (read
// back from disk here), records them in manifest.json, and refuses a repository whose configs would
// contradict the plan, naming the spec field, leaving the previous repository as it was.
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseModelConfig } from "../src/config/index.ts";
import { ortMemorySemantics } from "../src/config/ort-memory.ts";
import { UserError } from "../src/errors.ts";
import { profileSelection } from "../src/repo/profile-selection.ts";
import { KServeClient } from "../src/client/index.ts";
import { modelConfigToJson } from "../src/config/index.ts";
import { startServer } from "../src/serve/index.ts";
import { findBranch, loadCatalog } from "../src/spec/catalog.ts";
import { buildFixtureModel } from "../src/fixtures/build.ts";
import { writeOnnxModel } from "../src/onnx/build.ts";
import { entryInputs } from "./support/serve-repo.ts";
import { makeWorkspace, snapshot, type Workspace } from "./support/synth-workspace.ts";

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.cleanup();
  ws = undefined;
});

async function onnxRuntimeConfigs(dir: string, models: readonly string[]) {
  const out = [];
  for (const m of models) {
    const cfg = parseModelConfig(await readFile(join(dir, m, "config.pbtxt"), "utf8"), `${m}/config.pbtxt`);
    if (cfg.platform === "onnxruntime_onnx") out.push(cfg);
  }
  return out;
}

describe("synth-repo --profile writes the plan's memory settings", () => {
  it("gpu-local: every ONNX Runtime model shrinks its arena, searches cuDNN heuristically, warms up and holds gpu_serial; no TensorRT", async () => {
    ws = await makeWorkspace();
    const r = await ws.synth({ select: profileSelection(ws.specs, "gpu-local"), preprocess: "onnx" });
    const configs = await onnxRuntimeConfigs(ws.out, r.plan.models);
    expect(configs).toHaveLength(12 + 9); // 12 branch models and the ONNX preprocess steps of 9 (clip_text and YOLO have none)
    for (const cfg of configs) {
      expect(ortMemorySemantics(cfg), cfg.name).toMatchObject({ arenaShrinkage: true, arenaExtendStrategy: "kSameAsRequested", cudnnConvAlgoSearch: "HEURISTIC", warmupRuns: 1, gpuSerial: true, problems: [] });
      expect(ortMemorySemantics(cfg).tensorrt, cfg.name).toBeUndefined();
    }
    const manifest = JSON.parse(await readFile(join(ws.out, "manifest.json"), "utf8"));
    expect(manifest.origin.plan.onnxRuntime).toMatchObject({ policy: "serial", cudnnConvAlgoSearch: "heuristic", tensorrt: false });
    expect(r.report!.hashedBytes).toBeGreaterThan(0); // the exports, hashed while they were copied
  });

  it("gpu-a100-80 (resident): no shrinkage, no rate limiter, exhaustive search; TensorRT where the spec asks", async () => {
    ws = await makeWorkspace();
    const r = await ws.synth({ select: profileSelection(ws.specs, "gpu-a100-80") });
    const configs = await onnxRuntimeConfigs(ws.out, r.plan.models);
    expect(configs).toHaveLength(14);
    for (const cfg of configs) expect(ortMemorySemantics(cfg), cfg.name).toMatchObject({ arenaShrinkage: false, gpuSerial: false, cudnnConvAlgoSearch: "EXHAUSTIVE", warmupRuns: 1 });
    const trt = configs.filter((c) => ortMemorySemantics(c).tensorrt).map((c) => c.name);
    expect(trt).not.toContain("clip_text_onnx");
    expect(trt).toContain("raft_512_onnx");
    expect(trt).toHaveLength(12);
  });
});

describe("TensorRT engine caches keyed by the export's content", () => {
  const cachePath = async (w: Workspace, model: string) =>
    parseModelConfig(await readFile(join(w.out, model, "config.pbtxt"), "utf8")).optimization!.execution_accelerators!.gpu_execution_accelerator![0]!.parameters!.trt_engine_cache_path!;

  it("a retrained export (same path, new weights) gets a new engine cache folder; an unchanged one keeps its folder and is not hashed again", async () => {
    ws = await makeWorkspace();
    const prod = () => ws!.synth({ select: profileSelection(ws!.specs, "gpu-prod") });
    const cold = await prod();
    // every export read once: the TensorRT ones hashed for their keys before planning, then copied without hashing again
    const sources = cold.plan.files.filter((f) => f.kind === "source").map((f) => (f as { source: string }).source);
    const sizes = await Promise.all(sources.map(async (f) => (await stat(f)).size));
    expect(cold.report!.hashedBytes).toBe(sizes.reduce((a, b) => a + b, 0));
    const places = await cachePath(ws, "places365_resnet50_224_onnx");
    const raft = await cachePath(ws, "raft_384_onnx");
    expect(places).toMatch(/^\/var\/cache\/triton-deploy\/trt-engines\/places365_resnet50_224_onnx\/[0-9a-f]{16}$/);
    const before = await snapshot(ws.out);
    const warm = await prod();
    expect(warm.report!.changed).toBe(false);
    expect(warm.report!.hashedBytes).toBe(0); // the keys came from the repository's hash cache
    expect(await snapshot(ws.out)).toEqual(before); // nothing written, the hash cache's file included
    expect(await cachePath(ws, "places365_resnet50_224_onnx")).toBe(places);
    // "retrain" places365_resnet50_224 (weights inline in the .onnx): the same graph written to the same path with new weights
    const cb = findBranch(await loadCatalog(ws.specs), "places365_resnet50_224")!;
    const { model } = buildFixtureModel(cb.branch, { externalData: false });
    const w = model.initializers!.find((i) => i.dtype === "FP32" && i.data.length > 0)!;
    w.data = (w.data as Float32Array).map((x) => x + 0.001);
    await writeOnnxModel(join(ws.onnxRoot, cb.branch.onnx.file), model);
    await prod();
    expect(await cachePath(ws, "places365_resnet50_224_onnx")).not.toBe(places);
    expect(await cachePath(ws, "raft_384_onnx")).toBe(raft);
  });

  it("a change to an export's external-data file alone changes its key too", async () => {
    ws = await makeWorkspace();
    const prod = () => ws!.synth({ select: profileSelection(ws!.specs, "gpu-prod") });
    const first = await prod();
    const data = first.plan.files.find((f) => f.kind === "source" && f.model === "midas_384_onnx" && !f.path.endsWith("model.onnx"));
    expect(data, "midas_384's fixture keeps its weights in external data").toBeDefined();
    const before = await cachePath(ws, "midas_384_onnx");
    const src = (data as { source: string }).source;
    await writeFile(src, (await readFile(src)).map((b) => b ^ 0x5a)); // new weights, same size
    await prod();
    expect(await cachePath(ws, "midas_384_onnx")).not.toBe(before);
  });
});

describe("synth-repo refuses configs that contradict the plan", () => {
  async function refused(edit: (w: Workspace) => Promise<void>): Promise<UserError> {
    ws = await makeWorkspace();
    await ws.synth({ select: profileSelection(ws.specs, "gpu-local") });
    const before = await snapshot(ws.out);
    await edit(ws);
    const err = await ws.synth({ select: profileSelection(ws.specs, "gpu-local") }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(await snapshot(ws.out), "the previous repository must be untouched").toEqual(before);
    return err as UserError;
  }

  const spec = (extra: string) => (w: Workspace) => w.editSpec("midas.yaml", "  - name: midas_256\n    size: 256\n", `  - name: midas_256\n    size: 256\n${extra}`);

  it("a spec parameter that would undo the serial policy's shrinkage", async () => {
    const e = await refused(spec('    triton: { parameters: { memory.enable_memory_arena_shrinkage: "" } }\n'));
    expect(e.message).toContain('specs/midas.yaml branches[0].triton.parameters["memory.enable_memory_arena_shrinkage"]: midas_256_onnx: the GPU arena would keep every peak');
    expect(e.message).toContain("so the plan (policy serial) would not hold on Triton");
    expect(e.message).toContain("fix: remove it: the plan sets memory.enable_memory_arena_shrinkage, arena_extend_strategy, cudnn_conv_algo_search");
  });

  it("a spec parameter that changes the arena growth or the cuDNN search, all reported at once", async () => {
    const e = await refused(spec('    triton: { parameters: { arena_extend_strategy: "0", cudnn_conv_algo_search: "0" } }\n'));
    expect(e.problems.map((p) => p.field)).toEqual(['branches[0].triton.parameters["arena_extend_strategy"]', 'branches[0].triton.parameters["cudnn_conv_algo_search"]']);
    expect(e.message).toContain("cuDNN would search EXHAUSTIVE, but the profile chose HEURISTIC");
  });

  it("two GPU instances, which the plan counts as one", async () => {
    const e = await refused(spec("    triton: { instanceCount: 2 }\n"));
    expect(e.message).toContain("specs/midas.yaml branches[0].triton.instanceCount: midas_256_onnx: 2 GPU instances each hold their own session and arena");
    expect(e.message).toContain("fix: set it to 1");
  });
});

describe("serve-local and the new config blocks", () => {
  // serve-local runs one ONNX Runtime session at a time on its one thread (onnxruntime-node runs a
  // session synchronously), so the gpu_serial resource changes nothing there; it loads such configs
  // and shows them, as Triton does.
  it("loads models whose configs carry parameters, warm-up, the rate limiter and TensorRT, serves them, and prints those blocks in /config", async () => {
    ws = await makeWorkspace();
    const prod = profileSelection(ws.specs, "gpu-prod");
    await ws.synth({ preprocess: "onnx", select: async (c) => {
      const s = await prod(c);
      return { ...s, branches: s.branches.filter((b) => ["midas_256", "clip_text"].includes(b.branch.name)) };
    } });
    const server = await startServer({ repo: ws.out, port: 0 });
    const client = new KServeClient(server.url);
    try {
      for (const m of ["midas_256", "midas_256_onnx", "preprocess_midas_256", "clip_text", "clip_text_onnx"]) expect(await client.modelReady(m), m).toBe(true);
      const written = parseModelConfig(await readFile(join(ws.out, "midas_256_onnx", "config.pbtxt"), "utf8"));
      expect(written.optimization?.execution_accelerators?.gpu_execution_accelerator?.[0]?.name).toBe("tensorrt");
      expect(written.instance_group?.[0]?.rate_limiter).toEqual({ resources: [{ name: "gpu_serial", global: true, count: 1 }] });
      const shown = await client.modelConfig("midas_256_onnx");
      const want = modelConfigToJson(written);
      expect(shown.parameters).toEqual(want.parameters);
      expect(shown.model_warmup).toEqual(want.model_warmup);
      expect(shown.optimization).toEqual(want.optimization);
      expect((shown.instance_group as { rate_limiter?: unknown }[])[0]!.rate_limiter).toEqual({ resources: [{ name: "gpu_serial", global: true, count: 1 }], priority: 0 });
      const catalog = await loadCatalog(ws.specs);
      const out = await client.infer("midas_256", entryInputs(findBranch(catalog, "midas_256")!));
      expect(out[0]!.shape).toEqual([1, 256, 256]);
    } finally {
      client.close();
      await server.close();
    }
  });
});
