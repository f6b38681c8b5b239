// serve-local's repository API in explicit mode (--load-model): models never loaded are listed by
// name only, loading an ensemble loads its steps, load re-reads config.pbtxt from disk, a failed
// reload keeps the loaded version serving, unloading a step model unloads its ensemble; the
// restricted API header; and the two preprocess forms (Python step, ONNX step) serving the same numbers.
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KServeClient } from "../src/client/index.ts";
import { startServer, type ServeLocal } from "../src/serve/index.ts";
import { entryInputs, expectedOutputs, makeServeRepo, type ServeRepo } from "./support/serve-repo.ts";
import { firstMismatch } from "../src/fixtures/tensor.ts";
import { FIXTURE_TOLERANCE } from "../src/verify/expected.ts";

let py: ServeRepo;
let onnx: ServeRepo;
const servers: ServeLocal[] = [];
const clients: KServeClient[] = [];

beforeAll(async () => {
  [py, onnx] = await Promise.all([makeServeRepo(["midas_256", "clip_text"], "python"), makeServeRepo(["midas_256"], "onnx")]);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all([py?.cleanup(), onnx?.cleanup()]);
});

async function serve(repo: string, o: Partial<Parameters<typeof startServer>[0]> = {}, headers?: Record<string, string>): Promise<KServeClient> {
  const s = await startServer({ repo, port: 0, metricsPort: null, ...o });
  servers.push(s);
  const c = new KServeClient(s.url, headers ? { headers } : {});
  clients.push(c);
  return c;
}

describe("explicit model control", () => {
  it("loads only the named models; the rest are UNAVAILABLE 'unloaded'; load, reload and unload work as in Triton", async () => {
    const c = await serve(py.repo, { loadModels: ["clip_text_onnx", "clip_text"] });
    expect(await c.ready()).toBe(true);
    const index = await c.repositoryIndex();
    expect(index.filter((e) => e.state === "READY").map((e) => e.name)).toEqual(["clip_text", "clip_text_onnx"]);
    expect(index.find((e) => e.name === "midas_256")).toEqual({ name: "midas_256" });

    // Loading an ensemble loads its step models first.
    await c.load("midas_256");
    expect((await c.repositoryIndex()).filter((e) => e.name.includes("midas_256")).map((e) => `${e.name}:${e.state}`)).toEqual(["midas_256:READY", "midas_256_onnx:READY", "preprocess_midas_256:READY"]);
    expect(await c.ready()).toBe(true);
    const inputs = entryInputs(py.branch("midas_256"), 2);
    const [depth] = await c.infer("midas_256", inputs, ["OUTPUT__0"]);
    expect(firstMismatch("FP32", depth!.data, expectedOutputs(py.branch("midas_256"), inputs)[0]!, FIXTURE_TOLERANCE)).toBeUndefined();

    // Unloading a step model unloads the ensemble ("unloaded"), the server stays ready; loading it
    // again brings the ensemble back.
    await c.unload("midas_256_onnx");
    expect((await c.repositoryIndex()).find((e) => e.name === "midas_256")).toEqual({ name: "midas_256", version: "1", state: "UNAVAILABLE", reason: "unloaded" });
    await expect(c.infer("midas_256", inputs, ["OUTPUT__0"])).rejects.toMatchObject({ status: 404, serverError: "Request for unknown model: 'midas_256' has no available versions" });
    expect(await c.ready()).toBe(true);
    await c.load("midas_256_onnx");
    expect(await c.modelReady("midas_256")).toBe(true);
  });

  it("load re-reads config.pbtxt; a reload that fails leaves the loaded version serving (an ensemble that fails its check is unloaded)", async () => {
    const c = await serve(py.repo, { loadModels: ["clip_text_onnx", "clip_text"] });
    const file = join(py.repo, "clip_text/config.pbtxt");
    const original = await readFile(file, "utf8");
    try {
      // A config that no longer fits its step model: refused with the ensemble check's words, and,
      // unlike a model whose reload fails, the ensemble is unloaded: its node is invalid now, and
      // Triton unloads an invalid node (core model_repository_manager.cc LoadModelByDependency and
      // CheckNode → ValidateEnsembleConfig, r24.08: "the ensemble will not be available afterwards").
      await writeFile(file, original.replace("dims: [ 1, 77 ]", "dims: [ 1, 78 ]"));
      await expect(c.load("clip_text")).rejects.toMatchObject({ status: 400, serverError: expect.stringMatching(/^load failed for model 'clip_text': .*shape mismatch on tensor "INPUT__0"/) });
      expect(await c.modelReady("clip_text")).toBe(false);
      expect((await c.repositoryIndex()).find((e) => e.name === "clip_text")).toEqual({ name: "clip_text", version: "1", state: "UNAVAILABLE", reason: "unloaded" });
      // A config changed on disk is what a load serves afterwards.
      await writeFile(file, original.replace('max_batch_size: 0', 'max_batch_size: 0\nversion_policy { latest { num_versions: 1 } }'));
      await c.load("clip_text");
      expect((await c.modelConfig("clip_text")).version_policy).toEqual({ latest: { num_versions: 1 } });
      // A broken file: the old version keeps serving.
      await writeFile(file, `${original}\noops {`);
      await expect(c.load("clip_text")).rejects.toMatchObject({ status: 500, serverError: "failed to load 'clip_text', failed to poll from model repository" });
      expect(await c.modelReady("clip_text")).toBe(true);
      const out = await c.infer("clip_text", entryInputs(py.branch("clip_text")), ["OUTPUT__0"]);
      expect(out[0]!.shape).toEqual([1, 77, 512]);
    } finally {
      await writeFile(file, original);
    }
  });

  it("a model whose model.onnx is missing fails to load with the path; unknown names are refused", async () => {
    const c = await serve(py.repo, { loadModels: [] });
    const model = join(py.repo, "clip_text_onnx/1/model.onnx");
    await rename(model, `${model}.away`);
    try {
      await expect(c.load("clip_text_onnx")).rejects.toMatchObject({ status: 400, serverError: expect.stringMatching(/^load failed for model 'clip_text_onnx': version 1 is at UNAVAILABLE state: Invalid argument: .*clip_text_onnx\/1\/model\.onnx is missing/) });
      expect((await c.repositoryIndex()).find((e) => e.name === "clip_text_onnx")).toMatchObject({ version: "1", state: "UNAVAILABLE", reason: expect.stringContaining("is missing") });
    } finally {
      await rename(`${model}.away`, model);
    }
    await c.load("clip_text_onnx");
    expect(await c.modelReady("clip_text_onnx")).toBe(true);
    await expect(c.load("no_such_model")).rejects.toMatchObject({ status: 500, serverError: expect.stringContaining("failed to load 'no_such_model', failed to poll from model repository") });
    await c.unload("no_such_model"); // Triton answers 200
  });
});

describe("restricted API", () => {
  it("the repository API answers only requests that carry the header; the client sends it on every call", async () => {
    const s = await startServer({ repo: py.repo, port: 0, metricsPort: null, loadModels: ["clip_text_onnx"], restrictedApis: [{ categories: ["model-repository"], header: "triton-repo-key", value: "s3cret" }] });
    servers.push(s);
    const anonymous = new KServeClient(s.url);
    const keyed = new KServeClient(s.url, { headers: { "triton-repo-key": "s3cret" } });
    clients.push(anonymous, keyed);
    await expect(anonymous.repositoryIndex()).rejects.toMatchObject({ status: 403, serverError: "This API is restricted, expecting header 'triton-repo-key'", message: expect.stringContaining("this API is restricted: pass --header triton-repo-key=…") });
    expect(await anonymous.live()).toBe(true);
    expect((await keyed.repositoryIndex()).find((e) => e.name === "clip_text_onnx")).toMatchObject({ state: "READY" });
  });
});

describe("preprocess forms", () => {
  it("the Python step and the ONNX step serve midas_256 with the same numbers, both the fixture's", async () => {
    const [a, b] = await Promise.all([serve(py.repo, { loadModels: ["preprocess_midas_256", "midas_256_onnx", "midas_256"] }), serve(onnx.repo)]);
    expect((await a.modelMetadata("preprocess_midas_256")).platform).toBe("python");
    expect((await b.modelMetadata("preprocess_midas_256")).platform).toBe("onnxruntime_onnx");
    const inputs = entryInputs(py.branch("midas_256"), 11);
    const [x] = await a.infer("midas_256", inputs, ["OUTPUT__0"]);
    const [y] = await b.infer("midas_256", inputs, ["OUTPUT__0"]);
    expect(Buffer.from(x!.data.buffer, x!.data.byteOffset, x!.data.byteLength).equals(Buffer.from(y!.data.buffer, y!.data.byteOffset, y!.data.byteLength))).toBe(true);
    expect(firstMismatch("FP32", y!.data, expectedOutputs(py.branch("midas_256"), inputs)[0]!, FIXTURE_TOLERANCE)).toBeUndefined();
    // and the step alone: bit-for-bit the same normalized tensor
    const [px] = await a.infer("preprocess_midas_256", inputs, ["input"]);
    const [ox] = await b.infer("preprocess_midas_256", inputs, ["input"]);
    expect(Array.from(px!.data as Float32Array).every((v, i) => v === (ox!.data as Float32Array)[i])).toBe(true);
  });
});
