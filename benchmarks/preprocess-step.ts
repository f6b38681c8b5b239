// bench:preprocess: the two forms of the normalize preprocess step at 512², side by side in one run,
// both through serve-local over HTTP with binary tensors (UINT8 [1,512,512,3] in, FP32 [1,3,512,512]
// out): the Python-backend step (model.py from the real template, run by python3 + numpy in
// serve-local's persistent child) and the ONNX step (the project's normalize graph on ONNX Runtime).
// Both must return the same bytes; the server's own per-model compute time and numpy's time for the
// bare arithmetic (timeit, no transport) say where the Python step's time goes.
// Writes benchmarks/out/preprocess-step.json.
import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { InvalidArgumentError } from "commander";
import { summarize } from "../src/bench/stats.ts";
import { writeJsonAtomic } from "../src/bench/run-store.ts";
import { command, runCli } from "../src/cli.ts";
import { KServeClient, type Tensor } from "../src/client/index.ts";
import { alternate, IMAGENET, image, imageBytes, nchw, OUT, round, startServeLocal, tempRepo, writeOnnxNormalize, writePythonNormalize } from "./serve-bench-repo.ts";

const int = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError("a positive integer");
  return Number(v);
};

const program = command("bench:preprocess", "Python preprocess step vs ONNX preprocess step through serve-local, at 512x512.")
  .option("--size <n>", "image side", int, 512)
  .option("--runs <n>", "timed runs per side", int, 60)
  .option("--warmup <n>", "untimed runs per side first", int, 5)
  .option("--block <n>", "runs per side before switching sides", int, 5)
  .addHelpText("after", "\nGoal: ONNX step <= 0.2x the Python step (p50). Exit 1 when missed.\nWrites benchmarks/out/preprocess-step.json.");

interface Flags {
  size: number;
  runs: number;
  warmup: number;
  block: number;
}

/** numpy's own time for the step's arithmetic on one image (median of timeit repeats), in ms. */
function numpyFloorMs(size: number): number | undefined {
  const code = [
    "import numpy as np, timeit",
    `x = (np.arange(${size * size * 3}, dtype=np.uint32) * 131 % 256).astype(np.uint8).reshape(1, ${size}, ${size}, 3)`,
    `M = np.array(${JSON.stringify(IMAGENET.mean)}, dtype=np.float32).reshape(1, 3, 1, 1)`,
    `S = np.array(${JSON.stringify(IMAGENET.std)}, dtype=np.float32).reshape(1, 3, 1, 1)`,
    `D = np.float32(${IMAGENET.divisor})`,
    "def f():  # as the generated model.py does it: in place on one float32 buffer",
    "    y = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).astype(np.float32); y /= D; y -= M; y /= S",
    "    return y",
    "t = sorted(timeit.repeat(f, number=5, repeat=9))",
    "print(t[len(t) // 2] / 5 * 1000)",
  ].join("\n");
  const r = spawnSync(process.env.PYTHON ?? "python3", ["-c", code], { encoding: "utf8" });
  const v = Number(r.stdout.trim());
  return r.status === 0 && Number.isFinite(v) ? v : undefined;
}

const sameBytes = (a: Tensor, b: Tensor) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  const s = f.size;
  const py = `preprocess_python_${s}`;
  const ox = `preprocess_onnx_${s}`;
  const { repo, cleanup } = await tempRepo("bench-preprocess-");
  try {
    await writePythonNormalize(repo, py, image(s), nchw(s, "input"));
    await writeOnnxNormalize(repo, ox, image(s), nchw(s, "input"));
    const server = await startServeLocal(repo);
    const client = new KServeClient(server.url, { maxSockets: 1 });
    try {
      const input: Tensor = { name: "INPUT__0", datatype: "UINT8", shape: [1, s, s, 3], data: imageBytes(s) };
      const python = async () => (await client.infer(py, [input], ["input"]))[0]!;
      const onnx = async () => (await client.infer(ox, [input], ["input"]))[0]!;
      if (!sameBytes(await python(), await onnx())) throw new Error("the Python and ONNX steps disagree: comparing their speed would be meaningless");
      const load0 = loadavg()[0]!;
      console.log(`normalize step at ${s}²: UINT8 [1,${s},${s},3] → FP32 [1,3,${s},${s}] over HTTP (binary both ways); ${f.runs} runs per side, alternating blocks of ${f.block}`);
      const t = await alternate({ python, onnx }, { runs: f.runs, warmup: f.warmup, block: f.block });
      const computeMs = async (m: string) => {
        const st = (await client.modelStats(m)).model_stats[0]!.inference_stats.compute_infer;
        return st.ns / Math.max(1, st.count) / 1e6;
      };
      const sides = { python: summarize(t.python!), onnx: summarize(t.onnx!) };
      const server = { pythonComputeMeanMs: await computeMs(py), onnxComputeMeanMs: await computeMs(ox), numpyArithmeticP50Ms: numpyFloorMs(s) ?? null };
      const ratios = { onnxOverPython: sides.onnx.p50 / sides.python.p50 };
      const goals = { onnxAtMost02OfPython: ratios.onnxOverPython <= 0.2 };
      const result = {
        benchmark: "preprocess-step",
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        loadAverage: [round(load0, 2), round(loadavg()[0]!, 2)],
        compared: `${py} (python3 + numpy via serve-local's step host) vs ${ox} (ONNX Runtime), same request, same server, outputs equal bit for bit`,
        ms: { pythonP50: sides.python.p50, onnxP50: sides.onnx.p50, ...server },
        steps: sides,
        ratios,
        goals,
      };
      await writeJsonAtomic(path.join(OUT, "preprocess-step.json"), result);
      const ms = (v: number) => `${v.toFixed(2)} ms`;
      console.log(`  Python step  p50 ${ms(sides.python.p50)}  p95 ${ms(sides.python.p95)}  (server compute mean ${ms(server.pythonComputeMeanMs)}; numpy arithmetic alone ${server.numpyArithmeticP50Ms === null ? "n/a" : ms(server.numpyArithmeticP50Ms)})`);
      console.log(`  ONNX step    p50 ${ms(sides.onnx.p50)}  p95 ${ms(sides.onnx.p95)}  (server compute mean ${ms(server.onnxComputeMeanMs)})`);
      console.log(`  ONNX / Python ${ratios.onnxOverPython.toFixed(3)}×  goal <= 0.2× ${goals.onnxAtMost02OfPython ? "PASS" : "MISS"}   (load average ${result.loadAverage.join(" → ")} on ${result.cpus} CPUs)`);
      console.log(`wrote ${path.join(OUT, "preprocess-step.json")}`);
      return goals.onnxAtMost02OfPython ? 0 : 1;
    } finally {
      client.close();
      await server.stop();
    }
  } finally {
    await cleanup();
  }
});
