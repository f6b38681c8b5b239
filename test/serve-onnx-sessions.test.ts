// serve-local's ONNX Runtime sessions: options read from config.pbtxt as Triton's onnxruntime backend
// reads them (onnxruntime_backend r24.08 src/onnxruntime.cc ModelState::ModelState, with
// backend r24.08 src/backend_common.cc TryParseModelStringParameter → ParseIntValue → std::stoi), and
// thread pools that do not spin, so one session's idle pool does not take the CPU from the next.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelConfig } from "../src/config/index.ts";
import { attr, encodeOnnxModel, f32 } from "../src/onnx/build.ts";
import { LoadError } from "../src/serve/model-dir.ts";
import { OnnxBackend } from "../src/serve/onnx-backend.ts";
import { onnxSessionOptions, stoi } from "../src/serve/onnx-session-options.ts";
import { signatureOf } from "../src/serve/signature.ts";

const cfg = (parameters: Record<string, string> = {}, level?: number): ModelConfig => ({
  name: "m",
  platform: "onnxruntime_onnx",
  parameters: Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, { string_value: v }])),
  ...(level === undefined ? {} : { optimization: { graph: { level } } }),
});

describe("ONNX Runtime session options from the config", () => {
  it("thread counts as Triton parses them: std::stoi, a value <= 0 leaves ONNX Runtime's default", () => {
    expect(onnxSessionOptions("m", cfg({ intra_op_thread_count: "2", inter_op_thread_count: "1" }))).toMatchObject({ intraOpNumThreads: 2, interOpNumThreads: 1 });
    expect(onnxSessionOptions("m", cfg({ intra_op_thread_count: " 3 threads" }))).toMatchObject({ intraOpNumThreads: 3 });
    const dflt = onnxSessionOptions("m", cfg({ intra_op_thread_count: "0", inter_op_thread_count: "-4" }));
    expect(dflt).not.toHaveProperty("intraOpNumThreads");
    expect(dflt).not.toHaveProperty("interOpNumThreads");
    expect([stoi("12"), stoi("+7x"), stoi("  -1"), stoi("x1"), stoi(""), stoi("99999999999")]).toEqual([12, 7, -1, undefined, undefined, undefined]);
  });

  it("a thread count or execution mode Triton cannot parse fails the load with Triton's words", () => {
    expect(() => onnxSessionOptions("m", cfg({ intra_op_thread_count: "four" }))).toThrow(new LoadError("model 'm': parameter intra_op_thread_count: failed to convert 'four' to integral number"));
    expect(() => onnxSessionOptions("m", cfg({ execution_mode: "2" }))).toThrow(/Expected values for {2}execution_mode are 0 or 1 but got 2/);
    expect(onnxSessionOptions("m", cfg({ execution_mode: "1" }))).toMatchObject({ executionMode: "parallel" });
  });

  it("graph optimization level as Triton maps optimization.graph.level; thread pools never spin", () => {
    expect([undefined, 0, -1, 1, 2].map((l) => onnxSessionOptions("m", cfg({}, l)).graphOptimizationLevel)).toEqual(["all", "all", "basic", "extended", "disabled"]);
    expect(onnxSessionOptions("m", cfg()).extra).toEqual({ session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } });
  });
});

describe("OnnxBackend sessions", () => {
  let dir: string;
  const net = encodeOnnxModel({
    inputs: [{ name: "x", dtype: "FP32", dims: [1, 8, 64, 64] }],
    outputs: [{ name: "y", dtype: "FP32", dims: [1, 8, 64, 64] }],
    initializers: [f32("w", [8, 8, 3, 3], Array.from({ length: 576 }, (_, i) => ((i % 7) - 3) / 30))],
    nodes: [{ op: "Conv", inputs: ["x", "w"], outputs: ["y"], attributes: { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) } }],
  }).onnx;
  const io = (parameters: Record<string, string>): ModelConfig => ({
    ...cfg(parameters),
    max_batch_size: 0,
    input: [{ name: "x", data_type: "TYPE_FP32", dims: [1, 8, 64, 64] }],
    output: [{ name: "y", data_type: "TYPE_FP32", dims: [1, 8, 64, 64] }],
    default_model_filename: "model.onnx",
  });
  const load = (parameters: Record<string, string>) => OnnxBackend.create(dir, "", "m", io(parameters), signatureOf("m", io(parameters)));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "td-ort-sessions-"));
    await writeFile(join(dir, "model.onnx"), net);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("a bad thread count makes the model fail to load, naming model and parameter", async () => {
    await expect(load({ inter_op_thread_count: "many" })).rejects.toThrow(/model 'm': parameter inter_op_thread_count: failed to convert 'many' to integral number/);
  });

  it("after a run the session's threads sit idle instead of spinning (ONNX Runtime's default spins)", async () => {
    // CPU time this process burns while it waits, after each of 10 runs: the idle pool's share.
    const idleCpuMs = async (s: { run(): Promise<unknown> }) => {
      let ms = 0;
      for (let i = 0; i < 10; i++) {
        await s.run();
        const c0 = process.cpuUsage();
        await new Promise((r) => setTimeout(r, 20));
        const c = process.cpuUsage(c0);
        ms += (c.user + c.system) / 1000;
      }
      return ms;
    };
    const backend = await load({ intra_op_thread_count: "2" });
    const x = { name: "x", datatype: "FP32" as const, shape: [1, 8, 64, 64], data: new Float32Array(8 * 64 * 64).fill(0.5) };
    const quiet = await idleCpuMs({ run: () => backend.run([x], ["y"]) });
    await backend.close();
    const spinning = await ort.InferenceSession.create(join(dir, "model.onnx"), { executionProviders: ["cpu"], intraOpNumThreads: 2 });
    const loud = await idleCpuMs({ run: () => spinning.run({ x: new ort.Tensor("float32", x.data, x.shape) }) });
    await spinning.release();
    // 10 gaps of 20 ms: a spinning pool burns tens of ms of CPU in them; an idle one next to nothing.
    expect(quiet).toBeLessThan(loud / 3);
  });
});
