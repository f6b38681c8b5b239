// serve-local over a repository synth-repo wrote (fixture exports, Python preprocess steps), started
// in-process on port 0 with --exit-on-error=false and driven through the project's client: every
// endpoint, ensembles that give the fixture function of the normalized input, models that fail to
// load reported UNAVAILABLE with their reason while the others serve, and the Triton-like strict
// readiness. (conformance.test.ts holds one test per Triton behaviour, each naming its source.)
import { cp, mkdir, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KServeClient, KServeHttpError } from "../src/client/index.ts";
import { modelConfigToJson, parseModelConfig } from "../src/config/index.ts";
import { firstMismatch } from "../src/fixtures/tensor.ts";
import type { Tensor } from "../src/kserve/index.ts";
import { startServer, type ServeLocal } from "../src/serve/index.ts";
import { FIXTURE_TOLERANCE } from "../src/verify/expected.ts";
import { entryInputs, expectedOutputs, makeServeRepo, type ServeRepo } from "./support/serve-repo.ts";

let r: ServeRepo;
let server: ServeLocal;
let client: KServeClient;

/** Models that cannot load, each for another reason, beside the good ones. */
async function addBrokenModels(repo: string): Promise<void> {
  // config.pbtxt fine, model.onnx missing
  await cp(join(repo, "yolo11x_320"), join(repo, "no_onnx"), { recursive: true });
  await writeFile(join(repo, "no_onnx/config.pbtxt"), readFileSync(join(repo, "yolo11x_320/config.pbtxt"), "utf8").replace('name: "yolo11x_320"', 'name: "no_onnx"'));
  await writeFile(join(repo, "no_onnx/1/model.onnx"), "");
  await writeFile(join(repo, "no_onnx/1/model.onnx"), "not an onnx file");
  // a syntax error on line 3
  await mkdir(join(repo, "bad_config/1"), { recursive: true });
  await writeFile(join(repo, "bad_config/config.pbtxt"), 'name: "bad_config"\nplatform: "onnxruntime_onnx"\nmax_batch_size: [\n');
  // an ensemble whose step model is not in the repository
  await mkdir(join(repo, "orphan_ensemble/1"), { recursive: true });
  await writeFile(
    join(repo, "orphan_ensemble/config.pbtxt"),
    readFileSync(join(repo, "clip_text/config.pbtxt"), "utf8").replace('name: "clip_text"', 'name: "orphan_ensemble"').replaceAll('model_name: "clip_text_onnx"', 'model_name: "gone_onnx"'),
  );
}

beforeAll(async () => {
  r = await makeServeRepo(["midas_256", "raft_256", "clip_text", "yolo11x_320"], "python");
  await addBrokenModels(r.repo);
  server = await startServer({ repo: r.repo, port: 0, metricsPort: null, exitOnError: false });
  client = new KServeClient(server.url);
});

afterAll(async () => {
  client?.close();
  await server?.close();
  await r?.cleanup();
});

function expectFixture(model: string, got: readonly Tensor[], inputs: readonly Tensor[]): void {
  const cb = r.branch(model);
  const want = expectedOutputs(cb, inputs);
  expect(got.length).toBe(want.length);
  got.forEach((t, i) => {
    const spec = cb.branch.contract?.outputs[i] ?? cb.branch.onnx.outputs[i]!;
    expect(t.datatype).toBe(spec.dtype);
    expect(t.shape).toEqual(spec.dims);
    expect(firstMismatch(t.datatype, t.data, want[i]!, FIXTURE_TOLERANCE), `${model} ${t.name}`).toBeUndefined();
  });
}

describe("serve-local endpoints", () => {
  it("health: live, and not ready while some loaded model is UNAVAILABLE (strict readiness)", async () => {
    expect(await client.live()).toBe(true);
    expect(await client.ready()).toBe(false);
    // bad_config's poll failed: it never entered the lifecycle, so it neither counts nor keeps the server unready
    expect(server.counts()).toEqual({ ready: 9, unavailable: 2 });
    expect(server.startupFailures.find((f) => f.name === "bad_config")).toMatchObject({ reason: expect.stringMatching(/bad_config\/config\.pbtxt:3:\d+/) });
  });

  it("server metadata names the extensions it speaks", async () => {
    const m = await client.serverMetadata();
    expect(m.name).toBe("serve-local");
    expect(m.extensions).toEqual(expect.arrayContaining(["binary_tensor_data", "model_repository", "model_configuration", "statistics"]));
  });

  it("model metadata for an ensemble, an ONNX model and a Python step, also by version", async () => {
    expect(await client.modelMetadata("midas_256")).toEqual({
      name: "midas_256",
      versions: ["1"],
      platform: "ensemble",
      inputs: [{ name: "INPUT__0", datatype: "UINT8", shape: [1, 256, 256, 3] }],
      outputs: [{ name: "OUTPUT__0", datatype: "FP32", shape: [1, 256, 256] }],
    });
    expect(await client.modelMetadata("midas_256_onnx", { version: "1" })).toMatchObject({ platform: "onnxruntime_onnx", inputs: [{ name: "input", datatype: "FP32", shape: [1, 3, 256, 256] }] });
    expect(await client.modelMetadata("preprocess_raft_256")).toMatchObject({ platform: "python", outputs: [{ name: "input0" }, { name: "input1" }] });
    await expect(client.modelMetadata("midas_256", { version: "2" })).rejects.toMatchObject({ status: 404, serverError: expect.stringContaining("'midas_256' version 2 is not found") });
  });

  it("model readiness, per model and version", async () => {
    expect(await client.modelReady("raft_256")).toBe(true);
    expect(await client.modelReady("raft_256", { version: "1" })).toBe(true);
    expect(await client.modelReady("raft_256", { version: "3" })).toBe(false);
    expect(await client.modelReady("no_onnx")).toBe(false);
  });

  it("config: the config.pbtxt as Triton prints it", async () => {
    const want = modelConfigToJson(parseModelConfig(readFileSync(join(r.repo, "raft_256/config.pbtxt"), "utf8")));
    expect(await client.modelConfig("raft_256")).toEqual(JSON.parse(JSON.stringify(want)));
  });

  it("ensembles (Python step + ONNX) give the fixture function of the normalized input", async () => {
    for (const model of ["midas_256", "raft_256", "clip_text"]) {
      const inputs = entryInputs(r.branch(model), 3);
      const outputs = (await client.modelMetadata(model)).outputs.map((o) => o.name);
      expectFixture(model, await client.infer(model, inputs, outputs), inputs);
    }
  });

  it("a plain ONNX model (YOLO) gives the fixture function of its input", async () => {
    const inputs = entryInputs(r.branch("yolo11x_320"), 5);
    expectFixture("yolo11x_320", await client.infer("yolo11x_320", inputs, ["output0"]), inputs);
  });

  it("JSON both ways equals binary; JSON in with binary out; the id is echoed", async () => {
    const inputs = entryInputs(r.branch("clip_text"), 9);
    const [binary] = await client.infer("clip_text", inputs, ["OUTPUT__0"]);
    const json = await client.inferRequest("clip_text", { id: "abc-1", inputs }, { encoding: "json" });
    expect(json.id).toBe("abc-1");
    expect(json).toMatchObject({ model_name: "clip_text", model_version: "1" });
    expect(Array.from(json.outputs[0]!.data as Float32Array)).toEqual(Array.from(binary!.data as Float32Array));
    const mixed = await client.inferRequest("clip_text", { inputs, outputs: [{ name: "OUTPUT__0", binary: true }] }, { encoding: "json" });
    expect(Array.from(mixed.outputs[0]!.data as Float32Array)).toEqual(Array.from(binary!.data as Float32Array));
  });

  it("outputs selection returns only the outputs asked for", async () => {
    const inputs = entryInputs(r.branch("raft_256"), 2);
    const res = await client.inferRequest("preprocess_raft_256", { inputs, outputs: [{ name: "input1" }] });
    expect(res.outputs.map((o) => o.name)).toEqual(["input1"]);
    const all = await client.inferRequest("preprocess_raft_256", { inputs });
    expect(all.outputs.map((o) => o.name)).toEqual(["input0", "input1"]);
    expect(Array.from(all.outputs[1]!.data as Float32Array)).toEqual(Array.from(res.outputs[0]!.data as Float32Array));
  });

  it("statistics count the ensemble and its step models", async () => {
    const before = (await client.modelStats("midas_256_onnx")).model_stats[0]!;
    await client.infer("midas_256", entryInputs(r.branch("midas_256")), ["OUTPUT__0"]);
    const after = (await client.modelStats("midas_256_onnx")).model_stats[0]!;
    expect(after.inference_stats.success.count).toBe(before.inference_stats.success.count + 1);
    expect(after.inference_stats.compute_infer.ns).toBeGreaterThan(before.inference_stats.compute_infer.ns);
    const ens = (await client.modelStats("midas_256")).model_stats[0]!;
    expect(ens).toMatchObject({ name: "midas_256", version: "1" });
    expect(ens.inference_stats.success.count).toBeGreaterThanOrEqual(2);
    const all = await client.modelStats();
    expect(all.model_stats.map((s) => s.name)).toEqual(expect.arrayContaining(["midas_256", "preprocess_midas_256", "yolo11x_320"]));
  });

  it("the index lists every model directory with its state; broken models say why, one whose config cannot be read is listed by name only", async () => {
    const index = await client.repositoryIndex();
    const row = (n: string) => index.find((e) => e.name === n);
    expect(index.map((e) => e.name)).toEqual([...index.map((e) => e.name)].sort());
    expect(index).toHaveLength(12);
    expect(row("midas_256")).toEqual({ name: "midas_256", version: "1", state: "READY" });
    expect(row("no_onnx")).toMatchObject({ state: "UNAVAILABLE", reason: expect.stringMatching(/ONNX Runtime cannot load .*no_onnx\/1\/model\.onnx/) });
    expect(row("bad_config")).toEqual({ name: "bad_config" });
    // an ensemble whose step is missing is invalid in Triton's dependency graph and never handed to the lifecycle
    expect(row("orphan_ensemble")).toEqual({ name: "orphan_ensemble" });
    expect(server.startupFailures.find((f) => f.name === "orphan_ensemble")).toEqual({ name: "orphan_ensemble", reason: "Invalid argument: ensemble orphan_ensemble contains models that are not available or ambiguous: gone_onnx" });
    const ready = await client.repositoryIndex({ ready: true });
    expect(ready.every((e) => e.state === "READY")).toBe(true);
    expect(ready).toHaveLength(9);
  });

  it("a broken model answers with its reason; the others keep serving", async () => {
    const e = await client.infer("no_onnx", entryInputs(r.branch("yolo11x_320")), ["output0"]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KServeHttpError);
    expect(e).toMatchObject({ status: 404, serverError: "Request for unknown model: 'no_onnx' has no available versions" });
    await expect(client.modelMetadata("bad_config")).rejects.toMatchObject({ status: 404 });
    const inputs = entryInputs(r.branch("midas_256"), 4);
    expectFixture("midas_256", await client.infer("midas_256", inputs, ["OUTPUT__0"]), inputs);
  });

  it("once the broken models are unloaded, every loaded model is READY and so is the server", async () => {
    for (const m of ["no_onnx", "bad_config", "orphan_ensemble"]) await client.unload(m);
    expect(await client.ready()).toBe(true);
    expect((await client.repositoryIndex()).find((e) => e.name === "no_onnx")).toEqual({ name: "no_onnx", version: "1", state: "UNAVAILABLE", reason: "unloaded" });
    expect((await client.repositoryIndex()).find((e) => e.name === "bad_config")).toEqual({ name: "bad_config" });
  });
});
