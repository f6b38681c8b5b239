// bench:serve: what an ensemble costs over the model it wraps, and what a request's encoding costs,
// measured side by side in one run against serve-local (its own process, as users start it).
//  1. Each ensemble against its bare model served by the same server (the floor a user compares
//     with: `<branch>` vs `<branch>_onnx`), with the same image, answers equal bit for bit. Built in:
//     a real-size conv net (~2.1 GMAC at 256²) behind both preprocess forms, the ONNX normalize graph
//     (`synth-repo --preprocess onnx`) and the Python step (the default); or, with --url and
//     --ensembles, any repository a server already runs (e.g. synth-repo over real exports).
//  2. One 512×512×3 UINT8 tensor sent as JSON `data` against the binary tensor extension, to a model
//     whose compute is negligible (the image's mean), so the request's encoding is what is timed.
// Writes benchmarks/out/serve-overhead.json (--out). --header reaches a server whose APIs are restricted.
import { mkdir } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { summarize, type LatencyStats } from "../src/bench/stats.ts";
import { writeJsonAtomic } from "../src/bench/run-store.ts";
import { command, HEADER_FLAG, headerFlag, numberFlag, runCli, serverHeaders } from "../src/cli.ts";
import { KServeClient, type Tensor } from "../src/client/index.ts";
import { UserError } from "../src/errors.ts";
import { encodeInferRequest } from "../src/kserve/index.ts";
import { ensembleAndFloor, type EnsembleAndFloor } from "./ensemble-floor.ts";
import { alternate, imageBytes, OUT, round, startServeLocal, tempRepo, writeEnsembleBenchRepo, type RunningServer } from "./serve-bench-repo.ts";

/** An ensemble may cost at most this much over its bare model (p50). */
const ENSEMBLE_GOAL = 1.1;
const MEAN_SIZE = 512;

const program = command("bench:serve", "An ensemble vs its bare model through serve-local (both preprocess forms), and JSON vs binary requests.")
  .option("--size <n>", "image side of the built-in ensembles (the conv net's input is FP32 [1,3,S,S])", (v) => numberFlag("--size", v, 1), 256)
  .option("--runs <n>", "timed runs per side for the ensembles", (v) => numberFlag("--runs", v, 1), 100)
  .option("--json-runs <n>", "timed runs per side for JSON vs binary (a JSON request of 512² takes ~100 ms)", (v) => numberFlag("--json-runs", v, 1), 30)
  .option("--warmup <n>", "untimed runs per side first (ONNX Runtime takes a few dozen runs to settle)", (v) => numberFlag("--warmup", v, 1), 20)
  .option("--block <n>", "runs per side before switching sides", (v) => numberFlag("--block", v, 1), 5)
  .option("--url <url>", "measure a server that already runs (serve-local or Triton) instead of the built-in repository")
  .option("--ensembles <list>", "with --url: comma-separated ensembles to compare with their bare models, e.g. places365_resnet50_224,midas_384")
  .option(HEADER_FLAG.flags, HEADER_FLAG.description, headerFlag, {} as Record<string, string>)
  .option("--out <dir>", "where serve-overhead.json goes", OUT)
  .addHelpText("after", `\nGoals: every ensemble <= ${ENSEMBLE_GOAL}x its bare model (p50); binary request <= 0.2x JSON (built-in repository only). Exit 1 when one is missed.\nWrites benchmarks/out/serve-overhead.json (--out DIR).`);

interface Flags {
  size: number;
  runs: number;
  jsonRuns: number;
  warmup: number;
  block: number;
  url?: string;
  ensembles?: string;
  header: Record<string, string>;
  out: string;
}

export interface EnsembleFigures {
  ensemble: string;
  bare: string;
  preprocess: EnsembleAndFloor["preprocess"];
  ensembleMs: LatencyStats;
  bareMs: LatencyStats;
  /** ensemble p50 / bare model p50. */
  ratio: number;
  overheadP50Ms: number;
  withinGoal: boolean;
}

/** Times every ensemble and every distinct bare model in one alternating loop, so drift hits all alike. */
async function measureEnsembles(client: KServeClient, pairs: readonly EnsembleAndFloor[], f: Flags): Promise<{ figures: EnsembleFigures[]; liveMs: LatencyStats }> {
  const sides: Record<string, () => Promise<unknown>> = {};
  for (const p of pairs) {
    sides[`bare:${p.bare}`] = p.callBare;
    sides[`ensemble:${p.ensemble}`] = p.callEnsemble;
  }
  // The floor of any exchange with another process on this machine: an empty GET round trip.
  sides.live = () => client.live();
  const t = await alternate(sides, { runs: f.runs, warmup: f.warmup, block: f.block });
  const figures = pairs.map((p): EnsembleFigures => {
    const ensembleMs = summarize(t[`ensemble:${p.ensemble}`]!);
    const bareMs = summarize(t[`bare:${p.bare}`]!);
    const ratio = ensembleMs.p50 / bareMs.p50;
    return { ensemble: p.ensemble, bare: p.bare, preprocess: p.preprocess, ensembleMs, bareMs, ratio, overheadP50Ms: ensembleMs.p50 - bareMs.p50, withinGoal: ratio <= ENSEMBLE_GOAL };
  });
  return { figures, liveMs: summarize(t.live!) };
}

/** JSON `data` vs the binary extension for one 512² UINT8 request to the mean-of-image model. */
async function measureEncoding(client: KServeClient, f: Flags) {
  const bigInput: Tensor = { name: "INPUT__0", datatype: "UINT8", shape: [1, MEAN_SIZE, MEAN_SIZE, 3], data: imageBytes(MEAN_SIZE, 3) };
  const model = `bench_mean_${MEAN_SIZE}`;
  const viaJson = async () => client.infer(model, [bigInput], ["OUTPUT__0"], { encoding: "json" });
  const viaBinary = async () => client.infer(model, [bigInput], ["OUTPUT__0"]);
  const [a, b] = [await viaJson(), await viaBinary()];
  if ((a[0]!.data as Float32Array)[0] !== (b[0]!.data as Float32Array)[0]) throw new Error("JSON and binary requests give different answers");
  console.log(`request of UINT8 [1,${MEAN_SIZE},${MEAN_SIZE},3] to ${model}: JSON vs binary, ${f.jsonRuns} runs per side`);
  const t = await alternate({ json: viaJson, binary: viaBinary }, { runs: f.jsonRuns, warmup: Math.min(f.warmup, 3), block: Math.min(f.block, 5) });
  // Where JSON's time goes: encoding alone, on the client (the server's parse is of the same order).
  const encodeMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    encodeInferRequest({ inputs: [bigInput] }, { binaryInputs: false, binaryOutputs: false });
    encodeMs.push(performance.now() - t0);
  }
  return { json: summarize(t.json!), binary: summarize(t.binary!), jsonEncodeOnlyMs: summarize(encodeMs).p50 };
}

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  if (Boolean(f.url) !== Boolean(f.ensembles)) {
    throw new UserError({ field: f.url ? "--ensembles" : "--url", message: "--url and --ensembles go together", hint: "e.g. --url http://127.0.0.1:8000 --ensembles places365_resnet50_224; without both, the built-in repository is measured" }, 2);
  }
  let server: RunningServer | undefined;
  let cleanup = async () => {};
  let ensembles: string[];
  let url: string;
  if (f.url) {
    url = f.url;
    ensembles = f.ensembles!.split(",").map((e) => e.trim()).filter(Boolean);
  } else {
    const t = await tempRepo("bench-serve-");
    cleanup = t.cleanup;
    ensembles = await writeEnsembleBenchRepo(t.repo, f.size, MEAN_SIZE);
    server = await startServeLocal(t.repo);
    url = server.url;
  }
  const client = new KServeClient(url, { maxSockets: 1, headers: serverHeaders(f.header) });
  try {
    const pairs: EnsembleAndFloor[] = [];
    for (const e of ensembles) pairs.push(await ensembleAndFloor(client, e));
    const load0 = loadavg()[0]!;
    for (const p of pairs) console.log(`ensemble ${p.ensemble} (preprocess: ${p.preprocess ? `${p.preprocess.model}, ${p.preprocess.kind}` : "none"}) vs its bare model ${p.bare}: same image, equal answers`);
    console.log(`${f.runs} runs per side, alternating blocks of ${f.block}, over HTTP with binary tensors (one keep-alive connection)`);
    const { figures, liveMs } = await measureEnsembles(client, pairs, f);
    const encoding = server ? await measureEncoding(client, f) : undefined;
    const load1 = loadavg()[0]!;
    const ratios: Record<string, number> = {};
    for (const x of figures) ratios[`${x.ensemble}OverBare`] = x.ratio;
    for (const form of ["onnx", "python"] as const) {
      const worst = Math.max(...figures.filter((x) => x.preprocess?.kind === form).map((x) => x.ratio));
      if (Number.isFinite(worst)) ratios[form === "onnx" ? "ensembleOnnxPreprocessOverBare" : "ensemblePythonPreprocessOverBare"] = worst;
    }
    if (encoding) ratios.binaryOverJson = encoding.binary.p50 / encoding.json.p50;
    const goals: Record<string, boolean> = { ensemblesAtMost110OverBare: figures.every((x) => x.withinGoal) };
    if (encoding) goals.binaryAtMost02OfJson = ratios.binaryOverJson! <= 0.2;
    const result = {
      benchmark: "serve-overhead",
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      loadAverage: [round(load0, 2), round(load1, 2)],
      server: server ? "serve-local, built-in repository, its own process" : url,
      compared: {
        ensemble: "each ensemble vs its bare model (the ensemble's last step) on the same server, same image, answers equal bit for bit; p50 over HTTP with binary tensors",
        ...(encoding ? { request: `UINT8 [1,${MEAN_SIZE},${MEAN_SIZE},3] to a mean-of-image model: JSON data vs binary_data_size + raw bytes (output tiny in both)` } : {}),
      },
      ensembles: figures,
      ms: {
        ...Object.fromEntries(figures.flatMap((x) => [[`${x.ensemble}P50`, x.ensembleMs.p50], [`${x.bare}P50`, x.bareMs.p50]])),
        emptyRoundTripP50: liveMs.p50,
        ...(encoding ? { requestJsonP50: encoding.json.p50, requestBinaryP50: encoding.binary.p50, requestJsonClientEncodeP50: encoding.jsonEncodeOnlyMs } : {}),
      },
      ...(encoding ? { request: encoding } : {}),
      ratios,
      goals,
    };
    const out = path.resolve(f.out);
    await mkdir(out, { recursive: true });
    await writeJsonAtomic(path.join(out, "serve-overhead.json"), result);

    const ms = (v: number) => `${v.toFixed(2)} ms`;
    for (const x of figures) {
      console.log(`  ${x.ensemble} p50 ${ms(x.ensembleMs.p50)} (p95 ${ms(x.ensembleMs.p95)}) vs ${x.bare} p50 ${ms(x.bareMs.p50)} (p95 ${ms(x.bareMs.p95)}) → ${x.ratio.toFixed(3)}× (${x.overheadP50Ms >= 0 ? "+" : ""}${ms(x.overheadP50Ms)})  goal <= ${ENSEMBLE_GOAL}× ${x.withinGoal ? "PASS" : "MISS"}`);
    }
    console.log(`  empty GET round trip p50 ${ms(liveMs.p50)}  (load average ${result.loadAverage.join(" → ")} on ${result.cpus} CPUs)`);
    if (encoding) console.log(`  512² UINT8 request: JSON p50 ${ms(encoding.json.p50)} (client encode alone ${ms(encoding.jsonEncodeOnlyMs)}), binary p50 ${ms(encoding.binary.p50)} → ${ratios.binaryOverJson!.toFixed(4)}×  goal <= 0.2× ${goals.binaryAtMost02OfJson ? "PASS" : "MISS"}`);
    console.log(`wrote ${path.join(out, "serve-overhead.json")}`);
    console.log(JSON.stringify({ ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round(v, 4)])) }));
    return Object.values(goals).every(Boolean) ? 0 : 1;
  } finally {
    client.close();
    await server?.stop();
    await cleanup();
  }
});
