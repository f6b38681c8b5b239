// bench:serve: what serve-local's HTTP layer costs, measured side by side in one run.
//  1. An ensemble (ONNX normalize step → a real-size conv net, 256² by default) over HTTP with binary
//     tensors, against the floor: the same two ONNX graphs run back to back in this process by
//     onnxruntime-node with the options serve-local uses (preprocess + model on both sides, so the
//     only difference is the protocol, the server and the ensemble scheduler). Also through the
//     client's fetch transport, the alternative to its default node:http one.
//  2. One 512×512×3 UINT8 tensor sent as JSON `data` against the binary tensor extension, to a model
//     whose compute is negligible (the image's mean), so the request's encoding is what is timed.
// serve-local runs as its own process. Writes benchmarks/out/serve-overhead.json.
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { InvalidArgumentError } from "commander";
import * as ort from "onnxruntime-node";
import { summarize } from "../src/bench/stats.ts";
import { writeJsonAtomic } from "../src/bench/run-store.ts";
import { command, runCli } from "../src/cli.ts";
import { KServeClient, type Tensor } from "../src/client/index.ts";
import { tritonDataType } from "../src/config/index.ts";
import { encodeInferRequest } from "../src/kserve/index.ts";
import { alternate, CONV_NET_OUT, convNet, image, imageBytes, meanOfImage, nchw, OUT, onnxConfig, round, startServeLocal, tempRepo, writeModel, writeOnnxNormalize } from "./serve-bench-repo.ts";

const int = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError("a positive integer");
  return Number(v);
};

const program = command("bench:serve", "serve-local's HTTP overhead: an ensemble over HTTP vs ONNX Runtime in-process, and JSON vs binary requests.")
  .option("--size <n>", "image side of the ensemble (the conv net's input is FP32 [1,3,S,S])", int, 256)
  .option("--runs <n>", "timed runs per side for the ensemble", int, 200)
  .option("--json-runs <n>", "timed runs per side for JSON vs binary (a JSON request of 512² takes ~100 ms)", int, 30)
  .option("--warmup <n>", "untimed runs per side first (ONNX Runtime takes a few dozen runs to settle)", int, 30)
  .option("--block <n>", "runs per side before switching sides", int, 5)
  .addHelpText("after", "\nGoals: ensemble over HTTP <= 1.05x in-process; binary request <= 0.2x JSON. Exit 1 when one is missed.\nWrites benchmarks/out/serve-overhead.json.");

interface Flags {
  size: number;
  runs: number;
  jsonRuns: number;
  warmup: number;
  block: number;
}

const MEAN_SIZE = 512;

async function buildRepo(repo: string, s: number): Promise<{ pre: string; net: string }> {
  const dir = (m: string) => path.join(repo, m, "1", "model.onnx");
  await writeOnnxNormalize(repo, `bench_pre_${s}`, image(s), nchw(s, "input"));
  await writeModel(repo, onnxConfig(`bench_net_${s}`, [nchw(s, "input")], [{ name: "embedding", dtype: "FP32", dims: [1, CONV_NET_OUT] }]), { "model.onnx": convNet(s, "input", "embedding") });
  await writeModel(repo, {
    name: `bench_${s}`,
    platform: "ensemble",
    max_batch_size: 0,
    input: [{ name: "INPUT__0", data_type: tritonDataType("UINT8"), dims: [1, s, s, 3] }],
    output: [{ name: "OUTPUT__0", data_type: tritonDataType("FP32"), dims: [1, CONV_NET_OUT] }],
    ensemble_scheduling: {
      step: [
        { model_name: `bench_pre_${s}`, model_version: -1, input_map: { INPUT__0: "INPUT__0" }, output_map: { input: "preprocessed" } },
        { model_name: `bench_net_${s}`, model_version: -1, input_map: { input: "preprocessed" }, output_map: { embedding: "OUTPUT__0" } },
      ],
    },
  });
  const mean = image(MEAN_SIZE);
  await writeModel(repo, onnxConfig(`bench_mean_${MEAN_SIZE}`, [mean], [{ name: "OUTPUT__0", dtype: "FP32", dims: [1] }]), { "model.onnx": meanOfImage(MEAN_SIZE, mean.name, "OUTPUT__0") });
  return { pre: dir(`bench_pre_${s}`), net: dir(`bench_net_${s}`) };
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  const s = f.size;
  const { repo, cleanup } = await tempRepo("bench-serve-");
  try {
    const files = await buildRepo(repo, s);
    const server = await startServeLocal(repo);
    const client = new KServeClient(server.url, { maxSockets: 1 });
    const viaFetch = new KServeClient(server.url, { transport: "fetch" });
    try {
      // The floor: the same graphs, the options serve-local gives ONNX Runtime, chained in this process.
      const opts: ort.InferenceSession.SessionOptions = { executionProviders: ["cpu"], graphOptimizationLevel: "all" };
      const pre = await ort.InferenceSession.create(files.pre, opts);
      const net = await ort.InferenceSession.create(files.net, opts);
      const pixels = imageBytes(s);
      const inProcess = async () => {
        const x = await pre.run({ INPUT__0: new ort.Tensor("uint8", pixels, [1, s, s, 3]) });
        const y = await net.run({ input: x.input! });
        return y.embedding!.data as Float32Array;
      };
      const input: Tensor = { name: "INPUT__0", datatype: "UINT8", shape: [1, s, s, 3], data: pixels };
      const http = async () => (await client.infer(`bench_${s}`, [input], ["OUTPUT__0"]))[0]!.data as Float32Array;
      const httpFetch = async () => (await viaFetch.infer(`bench_${s}`, [input], ["OUTPUT__0"]))[0]!.data as Float32Array;
      const agree = same(await http(), await inProcess()) && same(await httpFetch(), await inProcess());
      if (!agree) throw new Error("the ensemble over HTTP and the in-process chain disagree: the comparison would be meaningless");

      const load0 = loadavg()[0]!;
      console.log(`ensemble bench_${s}: UINT8 [1,${s},${s},3] → ONNX normalize → conv net (~2.1 GMAC) → FP32 [1,${CONV_NET_OUT}]; ${f.runs} runs per side, alternating blocks of ${f.block}`);
      // The floor of any exchange with another process on this machine: an empty GET round trip.
      const live = async () => client.live();
      const t1 = await alternate({ inProcess, http, httpFetch, live }, { runs: f.runs, warmup: f.warmup, block: f.block });

      const big = imageBytes(MEAN_SIZE, 3);
      const bigInput: Tensor = { name: "INPUT__0", datatype: "UINT8", shape: [1, MEAN_SIZE, MEAN_SIZE, 3], data: big };
      const model = `bench_mean_${MEAN_SIZE}`;
      const viaJson = async () => client.infer(model, [bigInput], ["OUTPUT__0"], { encoding: "json" });
      const viaBinary = async () => client.infer(model, [bigInput], ["OUTPUT__0"]);
      const [a, b] = [await viaJson(), await viaBinary()];
      if ((a[0]!.data as Float32Array)[0] !== (b[0]!.data as Float32Array)[0]) throw new Error("JSON and binary requests give different answers");
      console.log(`request of UINT8 [1,${MEAN_SIZE},${MEAN_SIZE},3] to ${model}: JSON vs binary, ${f.jsonRuns} runs per side`);
      const t2 = await alternate({ json: viaJson, binary: viaBinary }, { runs: f.jsonRuns, warmup: Math.min(f.warmup, 3), block: Math.min(f.block, 5) });
      // Where JSON's time goes: encoding alone, on the client (the server's parse is of the same order).
      const encodeMs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        encodeInferRequest({ inputs: [bigInput] }, { binaryInputs: false, binaryOutputs: false });
        encodeMs.push(performance.now() - t0);
      }

      const stats = await client.modelStats(`bench_${s}`);
      const st = stats.model_stats[0]!.inference_stats;
      const ens = { inProcess: summarize(t1.inProcess!), http: summarize(t1.http!), httpFetch: summarize(t1.httpFetch!), liveRoundTrip: summarize(t1.live!) };
      const req = { json: summarize(t2.json!), binary: summarize(t2.binary!), jsonEncodeOnlyMs: summarize(encodeMs).p50 };
      const ratios = {
        ensembleHttpOverInProcess: ens.http.p50 / ens.inProcess.p50,
        ensembleFetchOverInProcess: ens.httpFetch.p50 / ens.inProcess.p50,
        ensembleHttpOverInProcessMin: ens.http.min / ens.inProcess.min,
        fetchOverHttpTransport: ens.httpFetch.p50 / ens.http.p50,
        binaryOverJson: req.binary.p50 / req.json.p50,
      };
      const goals = { ensembleHttpAtMost105: ratios.ensembleHttpOverInProcess <= 1.05, binaryAtMost02OfJson: ratios.binaryOverJson <= 0.2 };
      const result = {
        benchmark: "serve-overhead",
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        loadAverage: [round(load0, 2), round(loadavg()[0]!, 2)],
        compared: {
          ensemble: `bench_${s} over HTTP (binary in and out, keep-alive, serve-local in its own process) vs pre.run + net.run of the same two ONNX files in this process`,
          request: `UINT8 [1,${MEAN_SIZE},${MEAN_SIZE},3] to a mean-of-image model: JSON data vs binary_data_size + raw bytes (output tiny in both)`,
        },
        ms: {
          ensembleInProcessP50: ens.inProcess.p50,
          ensembleHttpP50: ens.http.p50,
          ensembleHttpFetchP50: ens.httpFetch.p50,
          ensembleHttpOverheadP50: ens.http.p50 - ens.inProcess.p50,
          emptyRoundTripP50: ens.liveRoundTrip.p50,
          serverEnsembleComputeMean: st.success.ns / Math.max(1, st.success.count) / 1e6,
          requestJsonP50: req.json.p50,
          requestBinaryP50: req.binary.p50,
          requestJsonClientEncodeP50: req.jsonEncodeOnlyMs,
        },
        ensemble: ens,
        request: req,
        ratios,
        goals,
      };
      await writeJsonAtomic(path.join(OUT, "serve-overhead.json"), result);

      const ms = (v: number) => `${v.toFixed(2)} ms`;
      console.log(`  in-process ORT (pre + net)    p50 ${ms(ens.inProcess.p50)}  p95 ${ms(ens.inProcess.p95)}  min ${ms(ens.inProcess.min)}`);
      console.log(`  HTTP binary (node:http)       p50 ${ms(ens.http.p50)}  p95 ${ms(ens.http.p95)}  min ${ms(ens.http.min)}  → ${ratios.ensembleHttpOverInProcess.toFixed(3)}× (${result.ms.ensembleHttpOverheadP50 >= 0 ? "+" : ""}${ms(result.ms.ensembleHttpOverheadP50)}; min/min ${(ens.http.min / ens.inProcess.min).toFixed(3)}×)  goal <= 1.05× ${goals.ensembleHttpAtMost105 ? "PASS" : "MISS"}`);
      console.log(`  HTTP binary (fetch transport) p50 ${ms(ens.httpFetch.p50)}  → ${ratios.ensembleFetchOverInProcess.toFixed(3)}×; fetch / node:http ${ratios.fetchOverHttpTransport.toFixed(3)}×`);
      console.log(`  empty GET round trip          p50 ${ms(ens.liveRoundTrip.p50)}  (load average ${result.loadAverage.join(" → ")} on ${result.cpus} CPUs)`);
      console.log(`  512² UINT8 request: JSON p50 ${ms(req.json.p50)} (client encode alone ${ms(req.jsonEncodeOnlyMs)}), binary p50 ${ms(req.binary.p50)} → ${ratios.binaryOverJson.toFixed(4)}×  goal <= 0.2× ${goals.binaryAtMost02OfJson ? "PASS" : "MISS"}`);
      console.log(`wrote ${path.join(OUT, "serve-overhead.json")}`);
      console.log(JSON.stringify({ ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round(v, 4)])) }));
      await pre.release();
      await net.release();
      return goals.ensembleHttpAtMost105 && goals.binaryAtMost02OfJson ? 0 : 1;
    } finally {
      client.close();
      viaFetch.close();
      await server.stop();
    }
  } finally {
    await cleanup();
  }
});
