// synth-repo writes the plan's ONNX Runtime settings into every ONNX Runtime config it writes (read
// back from disk here), records them in manifest.json, and refuses a repository whose configs would
// contradict the plan, naming the spec field, leaving the previous repository as it was.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseModelConfig } from "../src/config/index.ts";
import { ortMemorySemantics } from "../src/config/ort-memory.ts";
import { UserError } from "../src/errors.ts";
import { profileSelection } from "../src/repo/profile-selection.ts";
import { KServeClient } from "../src/client/index.ts";
import { modelConfigToJson } from "../src/config/index.ts";
import { startServer } from "../src/serve/index.ts";
import { entryInputs, makeServeRepo } from "./support/serve-repo.ts";
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
  it("gpu-local: every ONNX Runtime model shrinks its arena, searches cuDNN heuristically and warms up", async () => {
    ws = await makeWorkspace();
    const r = await ws.synth({ select: profileSelection(ws.specs, "gpu-local"), preprocess: "onnx" });
    const configs = await onnxRuntimeConfigs(ws.out, r.plan.models);
    expect(configs).toHaveLength(12 + 9); // 12 branch models and the ONNX preprocess steps of 9 (clip_text and YOLO have none)
    for (const cfg of configs) {
      expect(ortMemorySemantics(cfg), cfg.name).toMatchObject({ arenaShrinkage: true, arenaExtendStrategy: "kSameAsRequested", cudnnConvAlgoSearch: "HEURISTIC", warmupRuns: 1, problems: [] });
    }
    const manifest = JSON.parse(await readFile(join(ws.out, "manifest.json"), "utf8"));
    expect(manifest.origin.plan.onnxRuntime).toMatchObject({ policy: "serial", cudnnConvAlgoSearch: "heuristic" });
  });

  it("gpu-a100-80 (resident): no shrinkage, exhaustive search; TensorRT where the spec asks", async () => {
    ws = await makeWorkspace();
    const r = await ws.synth({ select: profileSelection(ws.specs, "gpu-a100-80") });
    const configs = await onnxRuntimeConfigs(ws.out, r.plan.models);
    expect(configs).toHaveLength(14);
    for (const cfg of configs) expect(ortMemorySemantics(cfg), cfg.name).toMatchObject({ arenaShrinkage: false, cudnnConvAlgoSearch: "EXHAUSTIVE", warmupRuns: 1 });
    const trt = configs.filter((c) => ortMemorySemantics(c).tensorrt).map((c) => c.name);
    expect(trt).not.toContain("clip_text_onnx");
    expect(trt).toContain("raft_512_onnx");
    expect(trt).toHaveLength(12);
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
  it("loads models whose configs carry parameters, warm-up and TensorRT, serves them, and prints those blocks in /config", async () => {
    const r = await makeServeRepo(["midas_256", "clip_text"], "onnx");
    const server = await startServer({ repo: r.repo, port: 0 });
    const client = new KServeClient(server.url);
    try {
      for (const m of ["midas_256", "midas_256_onnx", "preprocess_midas_256", "clip_text", "clip_text_onnx"]) expect(await client.modelReady(m), m).toBe(true);
      const written = parseModelConfig(await readFile(join(r.repo, "midas_256_onnx", "config.pbtxt"), "utf8"));
      expect(written.optimization?.execution_accelerators?.gpu_execution_accelerator?.[0]?.name).toBe("tensorrt");
      const shown = await client.modelConfig("midas_256_onnx");
      const want = modelConfigToJson(written);
      expect(shown.parameters).toEqual(want.parameters);
      expect(shown.model_warmup).toEqual(want.model_warmup);
      expect(shown.optimization).toEqual(want.optimization);
      const out = await client.infer("midas_256", entryInputs(r.branch("midas_256")));
      expect(out[0]!.shape).toEqual([1, 256, 256]);
    } finally {
      client.close();
      await server.close();
      await r.cleanup();
    }
  });
});
