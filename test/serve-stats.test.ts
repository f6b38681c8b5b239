// A loaded model version's statistics as Triton 24.08 keeps them, over backends whose runs take a
// known time: queue time from arrival to the run (core src/infer_stats.cc), one execution at a time
// per instance (instance_group count), nothing counted for a request that fails the config check
// (core src/tritonserver.cc TRITONSERVER_ServerInferAsync), a failed run counted as a failure only
// (onnxruntime_backend src/onnxruntime.cc ProcessRequests reports no batch statistics for it), and
// warm-up runs counted as requests (core src/backend_model_instance.cc WarmUp, r24.08).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelConfig, ModelWarmup } from "../src/config/index.ts";
import type { Tensor } from "../src/kserve/index.ts";
import type { Backend, BackendKind } from "../src/serve/backend.ts";
import { EnsembleBackend } from "../src/serve/ensemble-backend.ts";
import { ServedModel } from "../src/serve/served-model.ts";
import { signatureOf } from "../src/serve/signature.ts";
import { ModelStats } from "../src/serve/stats.ts";
import { warmUp } from "../src/serve/warmup.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const MS = 1e6;

function config(name: string, o: Partial<ModelConfig> = {}): ModelConfig {
  return {
    name,
    platform: "onnxruntime_onnx",
    max_batch_size: 0,
    input: [{ name: "x", data_type: "TYPE_FP32", dims: [1, 4] }],
    output: [{ name: "y", data_type: "TYPE_FP32", dims: [1, 4] }],
    ...o,
  };
}

/** A backend whose every run takes `ms` and answers y = x (or fails with `fail`). */
function timed(ms: number, o: { kind?: BackendKind; fail?: string } = {}): Backend & { runs: number[][] } {
  const runs: number[][] = [];
  return {
    kind: o.kind ?? "onnxruntime",
    runs,
    async run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
      runs.push(inputs[0]!.shape);
      await sleep(ms);
      if (o.fail) throw new Error(o.fail);
      return outputs.map((name) => ({ ...inputs[0]!, name }));
    },
    close: async () => undefined,
  };
}

const x = (): Tensor[] => [{ name: "x", datatype: "FP32", shape: [1, 4], data: new Float32Array(4) }];
const served = (cfg: ModelConfig, backend: Backend) => new ServedModel(cfg.name!, "1", cfg, signatureOf(cfg.name!, cfg), backend);
const json = (m: ServedModel) => m.stats.toJson(m.name, m.version);

describe("queue and compute time", () => {
  it("a request waiting for the model's one instance counts the wait as queue time, not compute", async () => {
    const m = served(config("one"), timed(40));
    await Promise.all([m.execute(x(), ["y"]), m.execute(x(), ["y"])]);
    const s = json(m).inference_stats;
    expect(s.success.count).toBe(2);
    expect(s.queue.ns).toBeGreaterThanOrEqual(35 * MS); // the second waited for the first's run
    expect(s.compute_infer.ns).toBeGreaterThanOrEqual(2 * 35 * MS);
    expect(s.compute_infer.ns).toBeLessThan(s.success.ns); // each run once, not the wait as well
    expect(Math.abs(s.success.ns - s.queue.ns - s.compute_infer.ns)).toBeLessThanOrEqual(2);
    const c = m.stats.counters();
    expect(c.queueUs).toBeGreaterThanOrEqual(35_000);
  });

  it("with two instances (instance_group count 2) both run at once", async () => {
    const m = served(config("two", { instance_group: [{ count: 2, kind: "KIND_CPU" }] }), timed(40));
    await Promise.all([m.execute(x(), ["y"]), m.execute(x(), ["y"])]);
    expect(json(m).inference_stats.queue.ns).toBeLessThan(20 * MS);
  });

  it("the time before the request reached the model (its arrival) is queue time too", async () => {
    const m = served(config("late"), timed(1));
    const arrived = performance.now();
    await sleep(30); // e.g. reading the body, or a synchronous run of another model
    await m.execute(x(), ["y"], arrived);
    const s = json(m).inference_stats;
    expect(s.queue.ns).toBeGreaterThanOrEqual(25 * MS);
    expect(s.success.ns).toBeGreaterThanOrEqual(s.queue.ns);
  });

  it("an ensemble's compute is the sum of its steps' compute; its request time holds their queues as well", async () => {
    const stepCfg = config("step");
    const step = served(stepCfg, timed(30));
    const cfg = config("ens", { platform: "ensemble", ensemble_scheduling: { step: [{ model_name: "step", model_version: -1, input_map: { x: "x" }, output_map: { y: "y" } }] } });
    const ens = served(cfg, new EnsembleBackend("ens", cfg, () => step));
    await Promise.all([ens.execute(x(), ["y"]), ens.execute(x(), ["y"])]);
    const e = json(ens).inference_stats;
    const st = json(step).inference_stats;
    expect(Math.abs(e.compute_infer.ns - st.compute_infer.ns)).toBeLessThanOrEqual(2);
    expect(st.queue.ns).toBeGreaterThanOrEqual(25 * MS); // one step request waited for the other
    expect(e.success.ns).toBeGreaterThanOrEqual(e.compute_infer.ns + st.queue.ns - 2 * MS);
    expect(json(ens)).toMatchObject({ inference_count: 2, execution_count: 2 });
  });
});

describe("what is counted", () => {
  it("a request that fails the config check counts nowhere; a failed run counts as a failure only", async () => {
    const m = served(config("checked"), timed(1, { fail: "onnx runtime error 6: boom" }));
    await expect(m.execute([{ name: "x", datatype: "FP32", shape: [1, 5], data: new Float32Array(5) }], ["y"])).rejects.toThrow(/unexpected shape for input 'x'/);
    await expect(m.execute(x(), ["nope"])).rejects.toThrow(/unexpected inference output 'nope'/);
    expect(json(m).inference_stats.fail.count).toBe(0);
    expect(Object.values(m.stats.counters().failure)).toEqual([0, 0, 0, 0]);
    await expect(m.execute(x(), ["y"])).rejects.toThrow(/boom/);
    expect(json(m)).toMatchObject({ inference_count: 0, execution_count: 0, last_inference: 0, batch_stats: [], inference_stats: { success: { count: 0 }, fail: { count: 1 } } });
    expect(m.stats.counters().failure.BACKEND).toBe(1);
  });

  it("a batched request counts its rows as inferences and its batch size in batch_stats", async () => {
    const cfg = config("batched", { max_batch_size: 8, input: [{ name: "x", data_type: "TYPE_FP32", dims: [4] }], output: [{ name: "y", data_type: "TYPE_FP32", dims: [4] }] });
    const m = served(cfg, timed(1));
    await m.execute([{ name: "x", datatype: "FP32", shape: [3, 4], data: new Float32Array(12) }], ["y"]);
    expect(json(m)).toMatchObject({ inference_count: 3, execution_count: 1, inference_stats: { success: { count: 1 } }, batch_stats: [{ batch_size: 3, compute_infer: { count: 1 } }] });
    expect(m.stats.counters()).toMatchObject({ success: 1, inferences: 3, executions: 1 });
  });
});

describe("warm-up", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "warmup-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const sample = (o: { batch_size: number; count?: number; dims?: number[] }): ModelWarmup => ({ name: "w", batch_size: o.batch_size, count: o.count ?? 1, inputs: { x: { data_type: "TYPE_FP32", dims: o.dims ?? [1, 4], zero_data: true } } });

  it("each run counts as Triton's batch_size requests of one execution", async () => {
    const stats = new ModelStats();
    await warmUp(timed(1), dir, "m", config("m", { model_warmup: [sample({ batch_size: 1, count: 2 })] }), stats);
    expect(stats.toJson("m", "1")).toMatchObject({ inference_count: 2, execution_count: 2, inference_stats: { success: { count: 2 } }, batch_stats: [{ batch_size: 1 }] });
    expect(stats.counters()).toMatchObject({ success: 2, inferences: 2, executions: 2 });

    const batched = new ModelStats();
    const backend = timed(1);
    const cfg = config("b", { max_batch_size: 4, input: [{ name: "x", data_type: "TYPE_FP32", dims: [4] }], output: [{ name: "y", data_type: "TYPE_FP32", dims: [4] }], model_warmup: [sample({ batch_size: 3, dims: [4] })] });
    await warmUp(backend, dir, "b", cfg, batched);
    expect(backend.runs).toEqual([[3, 4]]);
    expect(batched.toJson("b", "1")).toMatchObject({ inference_count: 3, execution_count: 1, inference_stats: { success: { count: 3 } }, batch_stats: [{ batch_size: 3 }] });
  });

  it("a sample that does not fit the config fails the load with the check's words; ONNX Runtime refuses more rows than max_batch_size", async () => {
    const backend = timed(1);
    const wrong = warmUp(backend, dir, "m", config("m", { model_warmup: [sample({ batch_size: 1 }), sample({ batch_size: 1, dims: [1, 5] })] }), new ModelStats());
    await expect(wrong).rejects.toThrow(/^unexpected shape for input 'x' for model 'm'. Expected \[1,4\], got \[1,5\]$/);
    expect(backend.runs).toEqual([]); // every sample is checked before any runs
    const rows = warmUp(timed(1), dir, "m", config("m", { model_warmup: [sample({ batch_size: 2 })] }), new ModelStats());
    await expect(rows).rejects.toThrow("failed to run warmup sample 'w': batch size 2 for 'm', max allowed is 0; batch size 2 for 'm', max allowed is 0; ");
    const failing = warmUp(timed(1, { fail: "onnx runtime error 6: boom" }), dir, "m", config("m", { model_warmup: [sample({ batch_size: 1 })] }), new ModelStats());
    await expect(failing).rejects.toThrow("failed to run warmup sample 'w': onnx runtime error 6: boom; ");
  });
});
