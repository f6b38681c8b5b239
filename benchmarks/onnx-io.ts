// bench:onnx-io: reading a ~1 GiB ONNX file's I/O, header walk vs full protobufjs decode, in one run.
// The model is an MLP-shaped chain whose weights are inline raw_data (like an export without external
// data), built once and cached under benchmarks/out/. Both readers run on a warm page cache, so the
// figures compare parsing work, not disk speed.
import { existsSync, statSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { isDeepStrictEqual } from "node:util";
import { median } from "../src/bench/stats.ts";
import { encodeOnnxModel, writeFileAtomic, type InitializerSpec, type NodeSpec } from "../src/onnx/build.ts";
import { readOnnxIO, readOnnxIOFull, type WalkStats } from "../src/onnx/read-io.ts";
import { ModelProto } from "../src/onnx/schema.ts";

const HELP = `Usage: npm run bench:onnx-io -- [options]

Measures reading a ~1 GiB ONNX file's graph I/O: the header walk (readOnnxIO) against a full
protobufjs decode (readOnnxIOFull), median of several runs each, in one run.

Options:
  --layers N      weight layers of 4 MiB each (default 256: 1 GiB of inline weights)
  --fast-runs N   header-walk runs (default 31)
  --full-runs N   full-decode runs (default 5)
  --rebuild       rebuild the cached model under benchmarks/out/
  --help          this text

Goals: header walk < 20 ms and <= 1 % of the full decode. Exit 1 when a goal is missed.
Writes benchmarks/out/onnx-io.json.`;

const OUT = path.join(import.meta.dirname, "out");
const WIDTH = 1024; // a [1024, 1024] float32 weight is 4 MiB

function options() {
  const { values } = parseArgs({
    options: {
      layers: { type: "string", default: "256" },
      "fast-runs": { type: "string", default: "31" },
      "full-runs": { type: "string", default: "5" },
      rebuild: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const int = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`--${name} must be a positive integer, got "${v}"\n\n${HELP}`);
      process.exit(2);
    }
    return n;
  };
  return { layers: int("layers", values.layers), fastRuns: int("fast-runs", values["fast-runs"]), fullRuns: int("full-runs", values["full-runs"]), rebuild: values.rebuild };
}

/** x → (MatMul w_i → Add b_i) × layers → y; every weight shares one buffer to keep memory flat. */
async function buildModel(file: string, layers: number): Promise<void> {
  const weight = new Float32Array(WIDTH * WIDTH).map((_, i) => ((i % 97) - 48) / 4096);
  const bias = new Float32Array(WIDTH).fill(0.001);
  const nodes: NodeSpec[] = [];
  const initializers: InitializerSpec[] = [];
  let prev = "x";
  for (let i = 0; i < layers; i++) {
    const out = i === layers - 1 ? "y" : `h${i}`;
    nodes.push({ op: "MatMul", inputs: [prev, `w${i}`], outputs: [`m${i}`] }, { op: "Add", inputs: [`m${i}`, `b${i}`], outputs: [out] });
    initializers.push({ name: `w${i}`, dtype: "FP32", dims: [WIDTH, WIDTH], data: weight }, { name: `b${i}`, dtype: "FP32", dims: [WIDTH], data: bias });
    prev = out;
  }
  const { onnx } = encodeOnnxModel({
    inputs: [{ name: "x", dtype: "FP32", dims: [1, WIDTH] }],
    outputs: [{ name: "y", dtype: "FP32", dims: [1, WIDTH] }],
    nodes,
    initializers,
    metadata: { "triton_deploy.bench": `onnx-io.v1 layers=${layers}` },
  });
  await writeFileAtomic(file, onnx);
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function main(): Promise<void> {
  const o = options();
  await mkdir(OUT, { recursive: true });
  const file = path.join(OUT, `onnx-io-${o.layers}-layers.onnx`);
  if (o.rebuild || !existsSync(file)) {
    console.log(`building ${file} (once; cached) ...`);
    const built = await time(() => buildModel(file, o.layers));
    console.log(`  built in ${(built.ms / 1000).toFixed(1)} s`);
  }
  const bytes = statSync(file).size;
  console.log(`file: ${file} (${(bytes / 2 ** 30).toFixed(2)} GiB, ${2 * o.layers} inline initializers, ${2 * o.layers} nodes)`);

  // Warm-up both (page cache, JIT), and check that they agree before timing anything.
  const stats: WalkStats = { reads: 0 };
  const walked = await readOnnxIO(file, stats);
  const full = await readOnnxIOFull(file);
  if (!isDeepStrictEqual(walked, full)) throw new Error("header walk and full decode disagree on the benchmark model");

  const fast: number[] = [];
  for (let i = 0; i < o.fastRuns; i++) fast.push((await time(() => readOnnxIO(file))).ms);
  const slow: number[] = [];
  for (let i = 0; i < o.fullRuns; i++) slow.push((await time(() => readOnnxIOFull(file))).ms);

  // Where the full decode's time goes: the same decode on bytes already in memory.
  const inMemory = await readFile(file);
  const decodeOnly: number[] = [];
  for (let i = 0; i < Math.min(3, o.fullRuns); i++) decodeOnly.push((await time(async () => ModelProto.decode(inMemory))).ms);

  const walkMs = median(fast);
  const fullMs = median(slow);
  const ratio = walkMs / fullMs;
  const goals = { walkUnder20ms: walkMs < 20, walkAtMost1PercentOfFull: ratio <= 0.01 };
  const result = {
    benchmark: "onnx-io",
    date: new Date().toISOString(),
    node: process.version,
    file: path.relative(process.cwd(), file),
    fileBytes: bytes,
    initializers: 2 * o.layers,
    nodes: 2 * o.layers,
    headerWalk: { runs: fast.length, medianMs: walkMs, minMs: Math.min(...fast), maxMs: Math.max(...fast), positionedReads: stats.reads },
    fullDecode: { runs: slow.length, medianMs: fullMs, minMs: Math.min(...slow), maxMs: Math.max(...slow), decodeOnlyMedianMs: median(decodeOnly) },
    ratio,
    speedup: fullMs / walkMs,
    goals,
  };
  await writeFile(path.join(OUT, "onnx-io.json"), `${JSON.stringify(result, null, 2)}\n`);

  console.log(`header walk : median ${walkMs.toFixed(2)} ms over ${fast.length} runs (${stats.reads} positioned reads)`);
  console.log(`full decode : median ${fullMs.toFixed(1)} ms over ${slow.length} runs (of which protobufjs decode of bytes in memory: ${median(decodeOnly).toFixed(1)} ms)`);
  console.log(`ratio       : ${(ratio * 100).toFixed(3)} % of the full decode (${result.speedup.toFixed(0)}× faster)`);
  console.log(`goals       : walk < 20 ms ${goals.walkUnder20ms ? "PASS" : "FAIL"}; walk <= 1 % of full ${goals.walkAtMost1PercentOfFull ? "PASS" : "FAIL"}`);
  console.log(`wrote ${path.join(OUT, "onnx-io.json")}`);
  if (!goals.walkUnder20ms || !goals.walkAtMost1PercentOfFull) process.exitCode = 1;
}

await main();
