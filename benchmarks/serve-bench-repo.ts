// What the serve-local benchmarks share: model repositories written in code (config.pbtxt through the
// project's config writer, ONNX graphs through src/onnx/build.ts, the Python step rendered from the
// real template), serve-local started as users start it (its own process, ready line awaited, so the
// server never shares an event loop or a CPU thread pool with the measuring side), and the timing
// loop that alternates the compared sides in short blocks so that drift hits both alike.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { tritonDataType, writeModelConfig, type ModelConfig } from "../src/config/index.ts";
import type { DType } from "../src/dtype.ts";
import { attr, encodeOnnxModel, f32, type InitializerSpec, type NodeSpec } from "../src/onnx/build.ts";
import { buildNormalizeGraph } from "../src/onnx/preprocess-graph.ts";
import { renderPythonStep } from "../src/repo/python-step.ts";
import type { NormalizePreprocess, TensorSpec } from "../src/spec/schema.ts";

export const ROOT = path.join(import.meta.dirname, "..");
export const OUT = path.join(ROOT, "benchmarks", "out");

/** ImageNet normalization, as the MiDaS small and Places365 branches use it. */
export const IMAGENET: NormalizePreprocess = { kind: "normalize", divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

const tensor = (name: string, dtype: DType, dims: number[]): TensorSpec => ({ name, dtype, dims });
const io = (t: TensorSpec) => ({ name: t.name, data_type: tritonDataType(t.dtype), dims: [...t.dims] });

export const image = (size: number, name = "INPUT__0") => tensor(name, "UINT8", [1, size, size, 3]);
export const nchw = (size: number, name: string) => tensor(name, "FP32", [1, 3, size, size]);

/** A model folder as synth-repo lays it out: config.pbtxt and version 1 with its files. */
export async function writeModel(repo: string, cfg: ModelConfig, files: Record<string, Uint8Array | string> = {}): Promise<void> {
  const dir = path.join(repo, cfg.name!);
  await mkdir(path.join(dir, "1"), { recursive: true });
  await writeFile(path.join(dir, "config.pbtxt"), writeModelConfig(cfg));
  for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(dir, "1", name), bytes);
}

export function onnxConfig(name: string, inputs: TensorSpec[], outputs: TensorSpec[]): ModelConfig {
  return { name, platform: "onnxruntime_onnx", max_batch_size: 0, input: inputs.map(io), output: outputs.map(io), instance_group: [{ count: 1, kind: "KIND_CPU" }], default_model_filename: "model.onnx" };
}

/** The ONNX normalize step (the project's own graph): UINT8 NHWC in, FP32 NCHW out. */
export async function writeOnnxNormalize(repo: string, name: string, input: TensorSpec, output: TensorSpec, p: NormalizePreprocess = IMAGENET): Promise<void> {
  const onnx = buildNormalizeGraph({ inputs: [input], outputs: [output], divisor: p.divisor, mean: p.mean, std: p.std });
  await writeModel(repo, onnxConfig(name, [input], [output]), { "model.onnx": onnx });
}

/** The Python normalize step: model.py rendered from templates/preprocess_model.py.hbs, run by python3 + numpy. */
export async function writePythonNormalize(repo: string, name: string, input: TensorSpec, output: TensorSpec, p: NormalizePreprocess = IMAGENET): Promise<void> {
  const modelPy = renderPythonStep({ model: name, branch: "bench", specFile: "benchmarks/serve-bench-repo.ts", preprocess: p, inputs: [input], outputs: [output] });
  const cfg: ModelConfig = { name, backend: "python", max_batch_size: 0, input: [io(input)], output: [io(output)], instance_group: [{ count: 1, kind: "KIND_CPU" }] };
  await writeModel(repo, cfg, { "model.py": modelPy });
}

/**
 * bench:serve's repository: the conv net (`bench_net_S`) behind both preprocess forms, as ensembles
 * `bench_onnx_S` and `bench_python_S`, and a mean-of-image model (`bench_mean_M`). Returns the ensembles.
 */
export async function writeEnsembleBenchRepo(repo: string, s: number, meanSize: number): Promise<string[]> {
  const net = `bench_net_${s}`;
  await writeModel(repo, onnxConfig(net, [nchw(s, "input")], [{ name: "embedding", dtype: "FP32", dims: [1, CONV_NET_OUT] }]), { "model.onnx": convNet(s, "input", "embedding") });
  await writeOnnxNormalize(repo, `bench_pre_onnx_${s}`, image(s), nchw(s, "input"));
  await writePythonNormalize(repo, `bench_pre_python_${s}`, image(s), nchw(s, "input"));
  const ensembles: string[] = [];
  for (const form of ["onnx", "python"]) {
    const name = `bench_${form}_${s}`;
    ensembles.push(name);
    await writeModel(repo, {
      name,
      platform: "ensemble",
      max_batch_size: 0,
      input: [{ name: "INPUT__0", data_type: tritonDataType("UINT8"), dims: [1, s, s, 3] }],
      output: [{ name: "OUTPUT__0", data_type: tritonDataType("FP32"), dims: [1, CONV_NET_OUT] }],
      ensemble_scheduling: {
        step: [
          { model_name: `bench_pre_${form}_${s}`, model_version: -1, input_map: { INPUT__0: "INPUT__0" }, output_map: { input: "preprocessed" } },
          { model_name: net, model_version: -1, input_map: { input: "preprocessed" }, output_map: { embedding: "OUTPUT__0" } },
        ],
      },
    });
  }
  const mean = image(meanSize);
  await writeModel(repo, onnxConfig(`bench_mean_${meanSize}`, [mean], [{ name: "OUTPUT__0", dtype: "FP32", dims: [1] }]), { "model.onnx": meanOfImage(meanSize, mean.name, "OUTPUT__0") });
  return ensembles;
}

/** Deterministic small weights (no randomness: every run measures the same arithmetic). */
function weights(name: string, dims: number[], seed: number): InitializerSpec {
  const n = dims.reduce((a, b) => a * b, 1);
  const fan = dims.slice(1).reduce((a, b) => a * b, 1);
  const scale = Math.sqrt(2 / fan);
  return f32(name, dims, Array.from({ length: n }, (_, i) => ((((i * 7919 + seed * 104729) % 2001) - 1000) / 1000) * scale));
}

/** Channels of the stand-in backbone's output embedding. */
export const CONV_NET_OUT = 256;

/**
 * A real-size CPU network (stand-in for a vision backbone of ResNet-18's cost): FP32 [1,3,S,S] → six
 * 3×3 conv + ReLU layers (32, 64, 128, 128, 256, 256 channels; strides 2, 1, 2, 1, 2, 1) → global
 * average pool → FP32 [1,256]. About 2.1 G multiply-adds at S = 256 (ResNet-18 at 224: 1.8 G), so the
 * comparison is made at the cost of a model this tool actually deploys, not of a toy.
 */
export function convNet(size: number, input: string, output: string): Uint8Array {
  const layers = [
    { cin: 3, cout: 32, stride: 2 },
    { cin: 32, cout: 64, stride: 1 },
    { cin: 64, cout: 128, stride: 2 },
    { cin: 128, cout: 128, stride: 1 },
    { cin: 128, cout: 256, stride: 2 },
    { cin: 256, cout: CONV_NET_OUT, stride: 1 },
  ];
  const nodes: NodeSpec[] = [];
  const initializers: InitializerSpec[] = [];
  let prev = input;
  layers.forEach((l, i) => {
    initializers.push(weights(`w${i}`, [l.cout, l.cin, 3, 3], i + 1), f32(`b${i}`, [l.cout], Array.from({ length: l.cout }, (_, j) => (j % 5) / 100)));
    nodes.push(
      { op: "Conv", inputs: [prev, `w${i}`, `b${i}`], outputs: [`c${i}`], attributes: { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([l.stride, l.stride]) } },
      { op: "Relu", inputs: [`c${i}`], outputs: [`r${i}`] },
    );
    prev = `r${i}`;
  });
  nodes.push({ op: "GlobalAveragePool", inputs: [prev], outputs: ["pooled"] }, { op: "Flatten", inputs: ["pooled"], outputs: [output], attributes: { axis: attr.int(1) } });
  return encodeOnnxModel({
    inputs: [{ name: input, dtype: "FP32", dims: [1, 3, size, size] }],
    outputs: [{ name: output, dtype: "FP32", dims: [1, CONV_NET_OUT] }],
    nodes,
    initializers,
    graphName: "bench_convnet",
  }).onnx;
}

/** UINT8 [1,S,S,3] → its mean as FP32 [1]: a model whose cost is the request, not the compute. */
export function meanOfImage(size: number, input: string, output: string): Uint8Array {
  return encodeOnnxModel({
    inputs: [{ name: input, dtype: "UINT8", dims: [1, size, size, 3] }],
    outputs: [{ name: output, dtype: "FP32", dims: [1] }],
    nodes: [
      { op: "Cast", inputs: [input], outputs: ["as_float"], attributes: { to: attr.int(1) } },
      { op: "ReduceMean", inputs: ["as_float"], outputs: [output], attributes: { axes: attr.ints([1, 2, 3]), keepdims: attr.int(0) } },
    ],
    graphName: "bench_mean",
  }).onnx;
}

/** Deterministic image bytes with every value present. */
export function imageBytes(size: number, seed = 1): Uint8Array {
  const n = size * size * 3;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + seed * 17 + (i >> 7)) & 255;
  return out;
}

export async function tempRepo(prefix: string): Promise<{ repo: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  const repo = path.join(root, "models");
  await mkdir(repo);
  return { repo, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export interface RunningServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** `node --import tsx scripts/serve-local.ts --repo R --port 0 --metrics-port 0`, resolved once its ready line is printed. */
export async function startServeLocal(repo: string, timeoutMs = 120_000): Promise<RunningServer> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/serve-local.ts"), "--repo", repo, "--port", "0", "--metrics-port", "0"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /listening on (http:\/\/\S+) \((\d+) models READY, (\d+) UNAVAILABLE\)/.exec(out);
    if (m) {
      if (m[3] !== "0") {
        await stop();
        throw new Error(`serve-local could not load every benchmark model:\n${err}`);
      }
      return { url: m[1]!, pid: child.pid!, stop };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`serve-local did not start:\n${out}\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Times each side `runs` times, alternating in blocks of `block` (the first of each block not kept:
 * it pays for the switch, e.g. another process's threads waking), after `warmup` untimed runs each.
 */
export async function alternate(sides: Record<string, () => Promise<unknown>>, o: { runs: number; warmup: number; block: number }): Promise<Record<string, number[]>> {
  const names = Object.keys(sides);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) for (let i = 0; i < o.warmup; i++) await sides[n]!();
  while (names.some((n) => times[n]!.length < o.runs)) {
    for (const n of names) {
      await sides[n]!();
      for (let i = 0; i < o.block && times[n]!.length < o.runs; i++) {
        const t0 = performance.now();
        await sides[n]!();
        times[n]!.push(performance.now() - t0);
      }
    }
  }
  return times;
}

export const round = (v: number, digits = 3): number => Number(v.toFixed(digits));
