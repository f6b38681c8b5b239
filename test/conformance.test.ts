// serve-local against Triton 24.08 as its own source behaves: one test per behaviour, each naming the
// upstream file and release it encodes (server v2.49.0 = r24.08; core r24.08). serve-local runs
// in-process over a repository synth-repo wrote from fixture exports (ONNX preprocess steps), and is
// spoken to over raw HTTP so every status, body and header is the one on the wire.
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KServeClient, parsePrometheus, promValue } from "../src/client/index.ts";
import { encodeInferRequest, concatParts, type Tensor } from "../src/kserve/index.ts";
import { attr, i64, writeOnnxModel } from "../src/onnx/build.ts";
import { startServer, StartupError, type ServeLocal, type ServeLocalOptions } from "../src/serve/index.ts";
import { entryInputs, makeServeRepo, type ServeRepo } from "./support/serve-repo.ts";

let r: ServeRepo;
const servers: ServeLocal[] = [];

beforeAll(async () => {
  r = await makeServeRepo(["clip_text", "midas_256"], "onnx");
  // a model with two served versions
  const two = join(r.repo, "two_versions");
  await cp(join(r.repo, "clip_text_onnx"), two, { recursive: true });
  const cfg = await readFile(join(two, "config.pbtxt"), "utf8");
  await writeFile(join(two, "config.pbtxt"), `${cfg.replace('name: "clip_text_onnx"', 'name: "two_versions"')}\nversion_policy { all { } }\n`);
  await cp(join(two, "1"), join(two, "2"), { recursive: true });
  // an ONNX model whose output ONNX Runtime still declares symbolic after optimizing (the target shape
  // of its Reshape depends on the input's values), served under a config with fixed output dims
  const open = join(r.repo, "open_output_dims");
  await cp(join(r.repo, "midas_256_onnx"), open, { recursive: true });
  await writeFile(join(open, "config.pbtxt"), (await readFile(join(open, "config.pbtxt"), "utf8")).replace('name: "midas_256_onnx"', 'name: "open_output_dims"').replace(/model_warmup \{[\s\S]*$/, ""));
  await writeOnnxModel(join(open, "1", "model.onnx"), {
    opset: 17,
    inputs: [{ name: "input", dtype: "FP32", dims: [1, 3, 256, 256] }],
    outputs: [{ name: "depth", dtype: "FP32", dims: ["d0", "d1", "d2"] }],
    initializers: [i64("base", [3], [1, 256, 256])],
    nodes: [
      { op: "ReduceMean", inputs: ["input"], outputs: ["mean"], attributes: { axes: attr.ints([1]), keepdims: attr.int(0) } },
      { op: "ReduceMin", inputs: ["input"], outputs: ["lowest"], attributes: { keepdims: attr.int(0) } },
      { op: "Cast", inputs: ["lowest"], outputs: ["zero"], attributes: { to: attr.int(7) } },
      { op: "Add", inputs: ["base", "zero"], outputs: ["shape"] },
      { op: "Reshape", inputs: ["mean", "shape"], outputs: ["depth"] },
    ],
  });
  // a model that cannot load
  await mkdir(join(r.repo, "broken/1"), { recursive: true });
  await writeFile(join(r.repo, "broken/config.pbtxt"), 'name: "broken"\nbackend: "tensorflow"\n');
  // an ensemble whose step model is not in the repository
  await mkdir(join(r.repo, "orphan/1"), { recursive: true });
  await writeFile(join(r.repo, "orphan/config.pbtxt"), (await readFile(join(r.repo, "clip_text/config.pbtxt"), "utf8")).replace('name: "clip_text"', 'name: "orphan"').replaceAll('model_name: "clip_text_onnx"', 'model_name: "gone_onnx"'));
  // an ensemble over the model that cannot load
  await mkdir(join(r.repo, "over_broken/1"), { recursive: true });
  await writeFile(join(r.repo, "over_broken/config.pbtxt"), (await readFile(join(r.repo, "clip_text/config.pbtxt"), "utf8")).replace('name: "clip_text"', 'name: "over_broken"').replaceAll('model_name: "clip_text_onnx"', 'model_name: "broken"'));
  // a model whose config cannot be read (the repository poll fails)
  await mkdir(join(r.repo, "unreadable/1"), { recursive: true });
  await writeFile(join(r.repo, "unreadable/config.pbtxt"), 'name: "unreadable"\nplatform: "onnxruntime_onnx"\ninput [ { name: "x" \n');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await r?.cleanup();
});

async function serve(o: Partial<ServeLocalOptions> = {}): Promise<ServeLocal> {
  const s = await startServer({ repo: r.repo, port: 0, metricsPort: 0, loadModels: ["clip_text"], ...o });
  servers.push(s);
  return s;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json?: Record<string, unknown> & { error?: string };
}

async function http(base: string, method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: typeof body === "string" ? body : Buffer.from(body) } : {}) });
  const buf = Buffer.from(await res.arrayBuffer());
  const hl = res.headers.get("inference-header-content-length");
  const text = buf.subarray(0, hl ? Number(hl) : buf.length).toString("utf8");
  let json: Answer["json"];
  try {
    json = text ? (JSON.parse(text) as Answer["json"]) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, ...(json ? { json } : {}) };
}

const tokens = (): Tensor[] => entryInputs(r.branch("clip_text"), 3);
const inferBody = (outputs: { name: string; parameters?: Record<string, boolean> }[] | undefined, parameters?: Record<string, boolean>) =>
  JSON.stringify({ ...(parameters ? { parameters } : {}), inputs: [{ name: "INPUT__0", datatype: "INT64", shape: [1, 77], data: Array.from(tokens()[0]!.data as BigInt64Array, Number) }], ...(outputs ? { outputs } : {}) });

describe("item 1: binary outputs", () => {
  // server src/http_server.cc (v2.49.0): a listed output is JSON unless it carries
  // parameters.binary_data; binary_data_output covers only outputs the request does not list
  // (qa/L0_http/test.sh asserts both). Only the JSON part is decoded here: binary parts show as binary_data_size.
  it("a listed output without binary_data is JSON even with binary_data_output: true", async () => {
    const s = await serve();
    const a = await http(s.url, "POST", "/v2/models/clip_text/infer", inferBody([{ name: "OUTPUT__0" }], { binary_data_output: true }));
    expect(a.status).toBe(200);
    expect(a.headers.get("inference-header-content-length")).toBeNull();
    const out = (a.json!.outputs as { data?: number[]; parameters?: object }[])[0]!;
    expect(out.data).toHaveLength(77 * 512);
    expect(out.parameters).toBeUndefined();
  });

  it("a listed output with binary_data: true is binary; with no outputs listed, binary_data_output decides", async () => {
    const s = await serve();
    const listed = await http(s.url, "POST", "/v2/models/clip_text/infer", inferBody([{ name: "OUTPUT__0", parameters: { binary_data: true } }]));
    expect(listed.headers.get("inference-header-content-length")).not.toBeNull();
    expect((listed.json!.outputs as { parameters: object }[])[0]!.parameters).toEqual({ binary_data_size: 77 * 512 * 4 });
    const unlisted = await http(s.url, "POST", "/v2/models/clip_text/infer", inferBody(undefined, { binary_data_output: true }));
    expect((unlisted.json!.outputs as { parameters: object }[])[0]!.parameters).toEqual({ binary_data_size: 77 * 512 * 4 });
    const plain = await http(s.url, "POST", "/v2/models/clip_text/infer", inferBody(undefined));
    expect((plain.json!.outputs as { data: number[] }[])[0]!.data).toHaveLength(77 * 512);
  });
});

describe("item 2: restricted APIs", () => {
  // server src/http_server.cc (v2.49.0) RETURN_AND_RESPOND_IF_RESTRICTED: the first thing each
  // handler does, before the method check; 403 {"error":"This API is restricted, expecting header '…'"}.
  it("a restricted API answers 403 before anything else (even a wrong method), and serves with the header", async () => {
    const s = await serve({ restrictedApis: [{ categories: ["model-repository"], header: "triton-repository-key", value: "k1" }] });
    const wrongMethod = await http(s.url, "GET", "/v2/repository/index");
    expect(wrongMethod.status).toBe(403);
    expect(wrongMethod.json).toEqual({ error: "This API is restricted, expecting header 'triton-repository-key'" });
    const wrongValue = await http(s.url, "POST", "/v2/repository/index", "{}", { "triton-repository-key": "k2" });
    expect(wrongValue.status).toBe(403);
    const keyed = await http(s.url, "POST", "/v2/repository/index", "{}", { "triton-repository-key": "k1" });
    expect(keyed.status).toBe(200);
    expect((await http(s.url, "GET", "/v2/health/ready")).status).toBe(200); // other categories are open
  });
});

describe("item 3: exit on error", () => {
  // server src/command_line_parser.h (v2.49.0): exit_on_error_ defaults to true; core
  // src/model_repository_manager/model_repository_manager.cc (r24.08): a start-up model that fails
  // makes creating the server fail ("failed to load all models"), and src/main.cc exits.
  it("a model that fails at start-up ends start-up naming it and its reason; exitOnError false serves the rest", async () => {
    const e = await startServer({ repo: r.repo, port: 0, metricsPort: null, loadModels: ["clip_text", "broken"] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StartupError);
    expect((e as StartupError).failures).toEqual([{ name: "broken", reason: expect.stringMatching(/^Invalid argument: model 'broken' has backend "tensorflow"/) }]);
    expect((e as Error).message).toMatch(/failed to load all models: broken/);
    const s = await serve({ loadModels: ["clip_text", "broken"], exitOnError: false });
    expect(s.startupFailures.map((f) => f.name)).toEqual(["broken"]);
    expect((await http(s.url, "GET", "/v2/models/clip_text/ready")).status).toBe(200);
  });
});

describe("item 4: metrics", () => {
  // core src/metrics.cc and src/metric_model_reporter.cc (r24.08): per model version counters with
  // labels model and version (failures also by reason), created at load, removed at unload; server
  // src/http_server.cc HTTPMetricsServer (v2.49.0): GET /metrics, other paths 200 empty, other methods 405.
  it("exports Triton's per-model families with its label names, moving with each request", async () => {
    const s = await serve();
    const c = new KServeClient(s.url);
    await c.infer("clip_text", tokens(), ["OUTPUT__0"]);
    await http(s.url, "POST", "/v2/models/clip_text/infer", JSON.stringify({ inputs: [{ name: "INPUT__0", datatype: "INT64", shape: [1, 76], data: new Array(76).fill(1) }] }));
    c.close();
    const a = await http(s.metricsUrl!.replace(/\/metrics$/, ""), "GET", "/metrics");
    expect(a.status).toBe(200);
    expect(a.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(a.text).toContain("# HELP nv_inference_request_success Number of successful inference requests, all batch sizes\n# TYPE nv_inference_request_success counter\n");
    const samples = parsePrometheus(a.text);
    for (const name of ["nv_inference_request_success", "nv_inference_count", "nv_inference_exec_count", "nv_inference_request_duration_us", "nv_inference_queue_duration_us", "nv_inference_compute_input_duration_us", "nv_inference_compute_infer_duration_us", "nv_inference_compute_output_duration_us"]) {
      expect(samples.filter((x) => x.name === name).map((x) => Object.keys(x.labels).sort().join(","))).toEqual(["model,version", "model,version"]);
    }
    expect(promValue(samples, "nv_inference_request_success", { model: "clip_text", version: "1" })).toBe(1);
    expect(promValue(samples, "nv_inference_request_success", { model: "clip_text_onnx", version: "1" })).toBe(2); // its warm-up and the step
    expect(promValue(samples, "nv_inference_compute_infer_duration_us", { model: "clip_text_onnx" })).toBeGreaterThan(0);
    // the second request failed the config check, before Triton queues a request: counted nowhere (item 9)
    const failures = samples.filter((x) => x.name === "nv_inference_request_failure" && x.labels.model === "clip_text");
    expect(failures.map((x) => `${x.labels.reason} ${x.value}`).sort()).toEqual(["BACKEND 0", "CANCELED 0", "OTHER 0", "REJECTED 0"]);
  });

  it("an unloaded model's series go; other paths answer 200 empty, other methods 405", async () => {
    const s = await serve();
    const base = s.metricsUrl!.replace(/\/metrics$/, "");
    await http(s.url, "POST", "/v2/repository/models/clip_text/unload", "{}");
    const after = parsePrometheus((await http(base, "GET", "/metrics")).text);
    expect(after.some((x) => x.labels.model === "clip_text")).toBe(false);
    expect(after.some((x) => x.labels.model === "clip_text_onnx")).toBe(true);
    expect(await http(base, "GET", "/other")).toMatchObject({ status: 200, text: "" });
    expect((await http(base, "POST", "/metrics", "")).status).toBe(405);
  });

  it("more families plug in (a simulated card's memory, label gpu_uuid)", async () => {
    const s = await serve({ metricFamilies: [{ name: "nv_gpu_memory_used_bytes", help: "GPU used memory, in bytes", type: "gauge", collect: () => [{ labels: { gpu_uuid: "GPU-sim-0" }, value: 1024 }] }] });
    const samples = parsePrometheus((await http(s.metricsUrl!.replace(/\/metrics$/, ""), "GET", "/metrics")).text);
    expect(promValue(samples, "nv_gpu_memory_used_bytes", { gpu_uuid: "GPU-sim-0" })).toBe(1024);
  });
});

describe("item 5: ensembles in explicit mode", () => {
  // core src/model_repository_manager/model_repository_manager.cc (r24.08): PollModels follows an
  // ensemble's steps and loads them; DependencyGraph unloads an ensemble whose step goes (reason
  // "unloaded", model_lifecycle.cc); server.cc IsReady ignores "unloaded" models, so the server
  // stays ready; qa/L0_lifecycle/lifecycle_test.py test_model_control_ensemble (v2.49.0).
  it("loading an ensemble loads its steps", async () => {
    const s = await serve({ loadModels: [] });
    expect((await http(s.url, "POST", "/v2/repository/models/midas_256/load", "{}")).status).toBe(200);
    for (const m of ["midas_256", "preprocess_midas_256", "midas_256_onnx"]) expect((await http(s.url, "GET", `/v2/models/${m}/ready`)).status).toBe(200);
  });

  it("unloading a step unloads the ensembles over it (reason unloaded) and the server stays ready; loading it again brings them back", async () => {
    const s = await serve();
    await http(s.url, "POST", "/v2/repository/models/clip_text_onnx/unload", "{}");
    const index = (await http(s.url, "POST", "/v2/repository/index", "{}")).json as unknown as { name: string }[];
    expect(index.find((e) => e.name === "clip_text")).toEqual({ name: "clip_text", version: "1", state: "UNAVAILABLE", reason: "unloaded" });
    expect((await http(s.url, "GET", "/v2/health/ready")).status).toBe(200);
    await http(s.url, "POST", "/v2/repository/models/clip_text_onnx/load", "{}");
    expect((await http(s.url, "GET", "/v2/models/clip_text/ready")).status).toBe(200);
  });

  it("unload_dependents unloads the steps nobody asked for; without it they stay", async () => {
    const s = await serve({ loadModels: ["midas_256"] });
    await http(s.url, "POST", "/v2/repository/models/midas_256/unload", "{}");
    expect((await http(s.url, "GET", "/v2/models/midas_256_onnx/ready")).status).toBe(200);
    await http(s.url, "POST", "/v2/repository/models/midas_256/load", "{}");
    await http(s.url, "POST", "/v2/repository/models/midas_256/unload", JSON.stringify({ parameters: { unload_dependents: true } }));
    for (const m of ["midas_256", "midas_256_onnx", "preprocess_midas_256"]) expect((await http(s.url, "GET", `/v2/models/${m}/ready`)).status).toBe(400);
  });

  it("loading an unchanged, loaded model is a no-op (its statistics go on)", async () => {
    const s = await serve();
    const c = new KServeClient(s.url);
    await c.infer("clip_text", tokens(), ["OUTPUT__0"]);
    await c.load("clip_text_onnx");
    expect((await c.modelStats("clip_text_onnx")).model_stats[0]!.inference_count).toBe(2); // its warm-up and the request
    c.close();
  });
});

describe("item 6: repository index rows", () => {
  // core src/tritonserver.cc TRITONSERVER_ServerModelIndex and model_repository_manager.cc
  // RepositoryIndex (r24.08): never-loaded models by name only; others per version with state, and a
  // reason only when there is one (READY has none); a failed load's reason is the status text with
  // its code prefix (model_lifecycle.cc); {"ready": true} lists READY rows only.
  it("rows as Triton writes them", async () => {
    const s = await serve({ loadModels: ["clip_text", "midas_256_onnx", "broken"], exitOnError: false });
    await http(s.url, "POST", "/v2/repository/models/midas_256_onnx/unload", "{}");
    const index = (await http(s.url, "POST", "/v2/repository/index", "{}")).json as unknown as Record<string, string>[];
    const row = (n: string) => index.filter((e) => e.name === n);
    expect(row("clip_text")).toEqual([{ name: "clip_text", version: "1", state: "READY" }]);
    expect(row("preprocess_midas_256")).toEqual([{ name: "preprocess_midas_256" }]);
    expect(row("midas_256_onnx")).toEqual([{ name: "midas_256_onnx", version: "1", state: "UNAVAILABLE", reason: "unloaded" }]);
    expect(row("broken")).toEqual([{ name: "broken", version: "1", state: "UNAVAILABLE", reason: expect.stringMatching(/^Invalid argument: /) }]);
    const ready = (await http(s.url, "POST", "/v2/repository/index", JSON.stringify({ ready: true }))).json as unknown as Record<string, string>[];
    expect(ready.map((e) => e.name)).toEqual(["clip_text", "clip_text_onnx"]);
  });
});

describe("item 7: status codes and their order", () => {
  it("an unknown or not-ready model on metadata and infer is a 404 'Request for unknown model'", async () => {
    // core src/model_repository_manager/model_lifecycle.cc GetModel and model_repository_manager.cc (r24.08)
    const s = await serve({ loadModels: ["clip_text", "broken"], exitOnError: false });
    expect(await http(s.url, "GET", "/v2/models/nope")).toMatchObject({ status: 404, json: { error: "Request for unknown model: 'nope' is not found" } });
    expect(await http(s.url, "GET", "/v2/models/broken")).toMatchObject({ status: 404, json: { error: "Request for unknown model: 'broken' has no available versions" } });
    expect(await http(s.url, "POST", "/v2/models/broken/infer", inferBody(undefined))).toMatchObject({ status: 404, json: { error: "Request for unknown model: 'broken' has no available versions" } });
    expect(await http(s.url, "GET", "/v2/models/clip_text/versions/9")).toMatchObject({ status: 404, json: { error: "Request for unknown model: 'clip_text' version 9 is not found" } });
  });

  it("a version that is there but not READY is a 503 'is not at ready state'; its ready endpoint a 400", async () => {
    // core src/model_repository_manager/model_lifecycle.cc GetModel (r24.08): a version in the
    // lifecycle that is not READY is UNAVAILABLE, "'m' version v is not at ready state", and
    // model_repository_manager.cc prefixes "Request for unknown model: "; server src/http_server.cc
    // HttpCodeFromError (v2.49.0) answers UNAVAILABLE with 503
    const s = await serve({ loadModels: ["clip_text", "broken"], exitOnError: false });
    const notReady = (m: string) => ({ status: 503, json: { error: `Request for unknown model: '${m}' version 1 is not at ready state` } });
    expect(await http(s.url, "GET", "/v2/models/broken/versions/1")).toMatchObject(notReady("broken"));
    expect(await http(s.url, "POST", "/v2/models/broken/versions/1/infer", inferBody(undefined))).toMatchObject(notReady("broken"));
    await http(s.url, "POST", "/v2/repository/models/clip_text_onnx/unload", "{}");
    expect(await http(s.url, "GET", "/v2/models/clip_text_onnx/versions/1")).toMatchObject(notReady("clip_text_onnx"));
    expect(await http(s.url, "GET", "/v2/models/clip_text_onnx/versions/1/config")).toMatchObject(notReady("clip_text_onnx"));
    expect(await http(s.url, "GET", "/v2/models/clip_text_onnx/versions/1/ready")).toMatchObject({ status: 400, json: { error: "Model version not ready" } });
  });

  it("an ONNX output dim left symbolic after optimizing fails the load against the config's fixed dim (outputs compare exactly, inputs let -1 through)", async () => {
    // onnxruntime_backend r24.08 src/onnxruntime.cc ValidateOutputs → src/onnxruntime_utils.cc
    // CompareDimsSupported(..., compare_exact = true); ValidateInputs passes compare_exact = false
    const s = await serve({ loadModels: ["open_output_dims"], exitOnError: false });
    const row = ((await http(s.url, "POST", "/v2/repository/index", "{}")).json as unknown as { name: string; state?: string; reason?: string }[]).find((x) => x.name === "open_output_dims");
    expect(row).toMatchObject({ state: "UNAVAILABLE", reason: expect.stringMatching(/output 'depth': configuration dims \[1,256,256\], the ONNX model \[d0,d1,d2\]/) });
  });

  it("model ready false is a 400 with an error body; server not ready is a 400 with an empty body", async () => {
    // server src/http_server.cc HandleModelReady and HandleServerHealth (v2.49.0)
    const s = await serve({ loadModels: ["clip_text", "broken"], exitOnError: false });
    expect(await http(s.url, "GET", "/v2/models/broken/ready")).toMatchObject({ status: 400, json: { error: "Model version not ready" } });
    expect(await http(s.url, "GET", "/v2/health/ready")).toMatchObject({ status: 400, text: "" });
  });

  it("unload of an unknown model is 200; load of one is 500 'failed to load'; a failed load is 400 naming the version", async () => {
    // core src/model_repository_manager/model_repository_manager.cc LoadUnloadModel(s) and
    // model_lifecycle.cc OnLoadComplete (r24.08)
    const s = await serve();
    expect((await http(s.url, "POST", "/v2/repository/models/nope/unload", "{}")).status).toBe(200);
    // the text stops there: the reason goes to Triton's log only
    expect(await http(s.url, "POST", "/v2/repository/models/nope/load", "{}")).toMatchObject({ status: 500, json: { error: "failed to load 'nope', failed to poll from model repository" } });
    const failed = await http(s.url, "POST", "/v2/repository/models/broken/load", "{}");
    expect(failed.status).toBe(400);
    expect(failed.json!.error).toMatch(/^load failed for model 'broken': version 1 is at UNAVAILABLE state: Invalid argument: /);
  });

  it("a version segment must be digits: /versions/-1 is 404", async () => {
    // server src/http_server.cc model_regex_ "(?:/versions/([0-9]+))?" (v2.49.0)
    const s = await serve();
    expect((await http(s.url, "GET", "/v2/models/clip_text/versions/-1")).status).toBe(404);
    expect((await http(s.url, "GET", "/v2/models/clip_text/versions/1")).status).toBe(200);
  });

  it("the model is looked up before the body is read: an unknown model with a malformed body is 404", async () => {
    // server src/http_server.cc HandleInfer: CheckTransactionPolicy (the model lookup) precedes
    // parsing the request (v2.49.0)
    const s = await serve();
    expect(await http(s.url, "POST", "/v2/models/nope/infer", "{ not json")).toMatchObject({ status: 404, json: { error: "Request for unknown model: 'nope' is not found" } });
    expect((await http(s.url, "POST", "/v2/models/clip_text/infer", "{ not json")).status).toBe(400);
  });

  it("a shape whose element count does not match the data is a 400 naming both counts, never a 500", async () => {
    // server src/http_server.cc "Unable to parse 'data': Shape does not match true shape of 'data'
    // field" (v2.49.0; qa/L0_http/test.sh)
    const s = await serve();
    const a = await http(s.url, "POST", "/v2/models/clip_text/infer", JSON.stringify({ inputs: [{ name: "INPUT__0", datatype: "INT64", shape: [1e9, 256, 256, 3], data: [1, 2, 3] }] }));
    expect(a.status).toBe(400);
    expect(a.json!.error).toMatch(/Shape does not match true shape of 'data' field: data holds 3 elements, shape \[1000000000, 256, 256, 3\] needs 196608000000000/);
  });
});

describe("item 8: metadata and statistics", () => {
  it("a versioned metadata request lists that version only", async () => {
    // core src/tritonserver.cc TRITONSERVER_ServerModelMetadata (r24.08)
    const s = await serve({ loadModels: ["two_versions"] });
    expect((await http(s.url, "GET", "/v2/models/two_versions")).json!.versions).toEqual(["1", "2"]);
    expect((await http(s.url, "GET", "/v2/models/two_versions/versions/1")).json!.versions).toEqual(["1"]);
  });

  it("stats carry response_stats and memory_usage; /v2/models/stats lists READY models only; an unavailable model's stats are a 400", async () => {
    // core src/tritonserver.cc TRITONSERVER_ServerModelStatistics (r24.08)
    const s = await serve({ loadModels: ["clip_text", "broken"], exitOnError: false });
    await http(s.url, "POST", "/v2/repository/models/clip_text/unload", "{}");
    const all = (await http(s.url, "GET", "/v2/models/stats")).json!.model_stats as Record<string, unknown>[];
    expect(all.map((m) => m.name)).toEqual(["clip_text_onnx"]);
    // its batch_stats hold its warm-up's one execution of batch size 1 (max_batch_size 0 counts as 1)
    expect(all[0]).toMatchObject({ response_stats: {}, memory_usage: [], batch_stats: [{ batch_size: 1, compute_input: { count: 1 }, compute_infer: { count: 1 }, compute_output: { count: 1 } }] });
    expect(await http(s.url, "GET", "/v2/models/broken/stats")).toMatchObject({ status: 400, json: { error: "requested model 'broken' is not available" } });
    expect(await http(s.url, "GET", "/v2/models/clip_text_onnx/versions/3/stats")).toMatchObject({ status: 400, json: { error: "requested model version is not available for model 'clip_text_onnx'" } });
  });
});

describe("item 9: statistics count what Triton counts", () => {
  it("warm-up runs count; a request that fails the config check counts nowhere", async () => {
    // core src/backend_model_instance.cc WarmUp and src/infer_request.cc (r24.08): warm-up requests
    // keep collect_stats_ and the backend reports them as any other; core src/tritonserver.cc
    // TRITONSERVER_ServerInferAsync: PrepareForInference (Normalize: names, dtypes, shapes) fails a
    // request before InferAsync stamps and queues it, so no failure is reported
    const s = await serve();
    const stats = async (m: string) => (await http(s.url, "GET", `/v2/models/${m}/stats`)).json!.model_stats as Record<string, unknown>[];
    const loaded = (await stats("clip_text_onnx"))[0]!;
    expect(loaded).toMatchObject({ inference_count: 1, execution_count: 1, inference_stats: { success: { count: 1 }, fail: { count: 0 }, queue: { count: 1 }, compute_infer: { count: 1 } } });
    expect(loaded.last_inference).toBeGreaterThan(0);
    expect((await stats("clip_text"))[0]).toMatchObject({ inference_count: 0, execution_count: 0 }); // an ensemble has no warm-up
    const badShape = (m: string) => JSON.stringify({ inputs: [{ name: "INPUT__0", datatype: "INT64", shape: [1, 76], data: new Array(76).fill(1) }] });
    const badOutput = JSON.stringify({ inputs: [{ name: "INPUT__0", datatype: "INT64", shape: [1, 77], data: new Array(77).fill(1) }], outputs: [{ name: "nope" }] });
    for (const m of ["clip_text", "clip_text_onnx"]) {
      expect((await http(s.url, "POST", `/v2/models/${m}/infer`, badShape(m))).status).toBe(400);
      expect((await http(s.url, "POST", `/v2/models/${m}/infer`, badOutput)).status).toBe(400);
    }
    expect((await stats("clip_text_onnx"))[0]).toMatchObject({ inference_count: 1, inference_stats: { fail: { count: 0 } } });
    expect((await stats("clip_text"))[0]).toMatchObject({ inference_count: 0, inference_stats: { fail: { count: 0 } } });
    const samples = parsePrometheus((await http(s.metricsUrl!.replace(/\/metrics$/, ""), "GET", "/metrics")).text);
    expect(samples.filter((x) => x.name === "nv_inference_request_failure").every((x) => x.value === 0)).toBe(true);
    expect(promValue(samples, "nv_inference_request_success", { model: "clip_text_onnx" })).toBe(1);
  });

  it("queue time runs from arrival to the run; an ensemble's compute is its steps' compute", async () => {
    // core src/infer_stats.cc UpdateSuccessWithDuration (queue = compute start − queue start) and
    // src/ensemble_scheduler/ensemble_scheduler.cc RequestTracker (r24.08): the ensemble reports the
    // compute its steps reported into its context aggregator
    const s = await serve();
    type S = { inference_stats: Record<string, { count: number; ns: number }> };
    const stats = async (m: string) => ((await http(s.url, "GET", `/v2/models/${m}/stats`)).json!.model_stats as S[])[0]!.inference_stats;
    const warmUp = await stats("clip_text_onnx");
    const c = new KServeClient(s.url);
    await Promise.all([1, 2, 3].map(() => c.infer("clip_text", tokens(), ["OUTPUT__0"])));
    c.close();
    const [ens, step] = [await stats("clip_text"), await stats("clip_text_onnx")];
    expect(ens.success!.count).toBe(3);
    expect(ens.queue!.ns).toBeGreaterThan(0); // at least reading the body
    // a model's request is its queue and its run; an ensemble's also holds its steps' queues
    expect(Math.abs(step.success!.ns - (step.queue!.ns + step.compute_infer!.ns))).toBeLessThanOrEqual(step.success!.count);
    expect(ens.success!.ns).toBeGreaterThanOrEqual(ens.queue!.ns + ens.compute_infer!.ns);
    // the ensemble's compute is what its one step's three requests computed, not its own wall time
    expect(Math.abs(ens.compute_infer!.ns - (step.compute_infer!.ns - warmUp.compute_infer!.ns))).toBeLessThanOrEqual(2);
    expect(ens.compute_infer!.ns).toBeGreaterThan(0);
  });
});

describe("item 10: a model whose config cannot be read", () => {
  // core src/model_repository_manager/model_repository_manager.cc Poll (r24.08): a model whose config
  // cannot be read fails the poll ("Poll failed for model directory", logged) and is not added to the
  // model infos, so it never enters the lifecycle: the index lists it by name only, server.cc IsReady
  // (which walks the lifecycle's ModelStates) does not see it, and LoadUnloadModel answers
  // "failed to load 'x', failed to poll from model repository" (500); at start-up "failed to load all models"
  it("is never in the lifecycle: a name-only index row, the server ready, its load a 500 in Triton's words", async () => {
    const e = await startServer({ repo: r.repo, port: 0, metricsPort: null, loadModels: ["clip_text", "unreadable"] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StartupError);
    expect((e as StartupError).failures).toEqual([{ name: "unreadable", reason: expect.stringMatching(/invalid config: .*unreadable\/config\.pbtxt/) }]);
    const s = await serve({ loadModels: ["clip_text", "unreadable"], exitOnError: false });
    const index = (await http(s.url, "POST", "/v2/repository/index", "{}")).json as unknown as Record<string, string>[];
    expect(index.filter((x) => x.name === "unreadable")).toEqual([{ name: "unreadable" }]);
    expect(await http(s.url, "GET", "/v2/health/ready")).toMatchObject({ status: 200, text: "" });
    expect(await http(s.url, "POST", "/v2/repository/models/unreadable/load", "{}")).toMatchObject({ status: 500, json: { error: "failed to load 'unreadable', failed to poll from model repository" } });
    expect((await http(s.url, "GET", "/v2/health/ready")).status).toBe(200);
    expect(await http(s.url, "GET", "/v2/models/unreadable")).toMatchObject({ status: 404, json: { error: "Request for unknown model: 'unreadable' is not found" } });
  });

  it("an ensemble whose step model cannot be polled: its load is the same 500, and it never enters the lifecycle either", async () => {
    // LoadUnloadModel's `polled` is false when any model of the poll chain (the ensemble's steps
    // included) failed its poll; the ensemble's node is invalid (DependencyGraph: "contains models
    // that are not available or ambiguous"), and LoadModelByDependency only unloads an invalid node,
    // which for a model the lifecycle never held does nothing (model_lifecycle.cc AsyncUnload)
    const s = await serve();
    expect(await http(s.url, "POST", "/v2/repository/models/orphan/load", "{}")).toMatchObject({ status: 500, json: { error: "failed to load 'orphan', failed to poll from model repository" } });
    const index = (await http(s.url, "POST", "/v2/repository/index", "{}")).json as unknown as Record<string, string>[];
    expect(index.filter((x) => x.name === "orphan")).toEqual([{ name: "orphan" }]);
    expect((await http(s.url, "GET", "/v2/health/ready")).status).toBe(200);
    expect(await http(s.url, "GET", "/v2/models/orphan")).toMatchObject({ status: 404, json: { error: "Request for unknown model: 'orphan' is not found" } });
  });

  it("an ensemble that fails its check is never in the lifecycle: a name-only row; its load is a 400 with Triton's status message", async () => {
    // core model_repository_manager.cc CheckNode (r24.08): "ensemble 'x' depends on 'y' which has no
    // loaded version. Model 'y' loading failed with error: …" makes the node invalid; LoadUnloadModels
    // answers "load failed for model 'x': <message>"
    const s = await serve();
    const load = await http(s.url, "POST", "/v2/repository/models/over_broken/load", "{}");
    expect(load.status).toBe(400);
    expect(load.json!.error).toMatch(/^load failed for model 'over_broken': ensemble 'over_broken' depends on 'broken' which has no loaded version. Model 'broken' loading failed with error: /);
    const index = (await http(s.url, "POST", "/v2/repository/index", "{}")).json as unknown as Record<string, string>[];
    expect(index.filter((x) => x.name === "over_broken")).toEqual([{ name: "over_broken" }]);
    expect(index.filter((x) => x.name === "broken")).toEqual([{ name: "broken", version: "1", state: "UNAVAILABLE", reason: expect.stringMatching(/^Invalid argument: /) }]);
  });
});

describe("the client asks every listed output for binary data", () => {
  // server src/http_server.cc (v2.49.0): without the per-output flag Triton would answer JSON
  it("encodes binary_data: true on each listed output and binary_data_output for the rest", () => {
    const enc = encodeInferRequest({ inputs: tokens(), outputs: [{ name: "OUTPUT__0" }] });
    const header = JSON.parse(Buffer.from(concatParts(enc).subarray(0, enc.headerLength)).toString("utf8")) as { outputs: unknown[]; parameters: unknown };
    expect(header.outputs).toEqual([{ name: "OUTPUT__0", parameters: { binary_data: true } }]);
    expect(header.parameters).toEqual({ binary_data_output: true });
  });
});
