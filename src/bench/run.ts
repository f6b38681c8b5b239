// npm run bench's run: per model and concurrency level, warm-up then timed requests with
// deterministic inputs of the model's exact shapes; results.jsonl appended per request, summary.json
// rewritten after each level (an interrupted run keeps a partial summary); then, where the server has
// GPU metrics, measured VRAM per ONNX model; finally the HTML report beside the summary.
import { isUnreachable, serverProblem, type PromSample } from "../client/index.ts";
import { elementCount, dtypeInfo } from "../dtype.ts";
import { UserError } from "../errors.ts";
import type { Catalog } from "../spec/catalog.ts";
import { measureLevel } from "./measure.ts";
import { measureMemory, measuredMemoryFile, memoryFigures, type MemoryTarget } from "./memory.ts";
import { benchHtml } from "./report.ts";
import { RunStore, runId } from "./run-store.ts";
import { REQUEST_SUCCESS, serverTime } from "./server-time.ts";
import { benchInputs, chooseModels, type BenchModel, type BenchServer, type IndexRow } from "./server.ts";
import { summarize } from "./stats.ts";
import { SUMMARY_KIND, type BenchSummary, type Measurement, type ResultLine } from "./summary.ts";

export interface BenchOptions {
  /** Models to bench. @default the catalog's entry models the server has READY */
  models?: string[];
  /** @default 30 */
  repeats?: number;
  /** @default 5 */
  warmup?: number;
  /** Requests in flight, one level each. @default [1] */
  concurrency?: number[];
  /** Parent of the run folder. @default benchmarks/out */
  outDir?: string;
  catalog?: Catalog;
  /** GPU memory measurement; skipped (and said so) when the endpoint has no GPU metrics. */
  memory?: { metricsUrl: string; scrape: () => Promise<PromSample[]>; settleMs?: number; runMs?: number };
  /** The server's Prometheus endpoint, read around each timed part for the server-side time split (serverTime.ts). */
  serverMetrics?: { url: string; scrape: () => Promise<PromSample[]> };
  /** Run id prefix. @default "bench" */
  prefix?: string;
  log?: (line: string) => void;
  /** Set when the user interrupts: the run stops after the current request and marks the summary. */
  signal?: AbortSignal;
}

export interface BenchRun {
  summary: BenchSummary;
  store: RunStore;
  htmlFile: string;
  measuredFile?: string;
}

/** Runs the bench; a server that cannot be reached, an unknown model and bad options are UserErrors. */
export async function runBench(server: BenchServer, o: BenchOptions = {}): Promise<BenchRun> {
  const repeats = o.repeats ?? 30;
  const warmup = o.warmup ?? 5;
  const concurrency = o.concurrency ?? [1];
  checkOptions(repeats, warmup, concurrency);
  const log = o.log ?? (() => undefined);

  const { info: serverInfo, index } = await reach(server);
  const models = chooseModels(index, o.models, o.catalog);
  const store = await RunStore.create(o.outDir ?? "benchmarks/out", runId(o.prefix ?? "bench"));
  const now = () => new Date().toISOString();
  const summary: BenchSummary = {
    kind: SUMMARY_KIND,
    version: 1,
    runId: store.id,
    status: "running",
    url: server.url,
    server: serverInfo,
    startedAt: now(),
    updatedAt: now(),
    config: { models: models.map((m) => m.name), repeats, warmup, concurrency },
    measurements: [],
  };
  const save = async () => {
    summary.updatedAt = now();
    await store.writeSummary(summary);
  };
  await save();
  log(`run ${store.id}: ${models.length} model(s) × concurrency ${concurrency.join(", ")}, ${repeats} repeats after ${warmup} warm-up → ${store.dir}`);
  const scrape = o.serverMetrics ? await metricsReader(o.serverMetrics, log) : undefined;

  try {
    for (const model of models) {
      for (const c of concurrency) {
        if (o.signal?.aborted) throw new Interrupted();
        const m = await measureModel(server, model, c, repeats, warmup, store, o.signal, scrape);
        summary.measurements.push(m);
        await save();
        const st = m.serverTime ? `; server ${(m.serverTime.requestUs / 1000).toFixed(2)} ms/request (compute ${(m.serverTime.computeInferUs / 1000).toFixed(2)} ms)` : "";
        log(`  ${model.name} c=${c}: ${m.latencyMs ? `p50 ${m.latencyMs.p50.toFixed(2)} ms, p95 ${m.latencyMs.p95.toFixed(2)} ms, ${m.throughput.toFixed(1)} req/s${st}` : `error: ${m.error}`}`);
      }
    }
    let measuredFile: string | undefined;
    if (o.memory) {
      if (o.signal?.aborted) throw new Interrupted();
      log(`GPU memory: ${o.memory.metricsUrl}`);
      const targets = await memoryTargets(server, models);
      summary.memory = await measureMemory(server, targets, { ...o.memory, log });
      if (summary.memory.status === "measured") {
        const onnx = new Set(o.catalog?.branches.map((b) => b.models.onnx) ?? []);
        const file = measuredMemoryFile(summary.memory, store.id, server.url, (m) => onnx.size === 0 || onnx.has(m));
        if (Object.keys(file).length > 0) {
          measuredFile = await store.writeFile("measured-memory.json", `${JSON.stringify(file, null, 2)}\n`);
          summary.memory.file = "measured-memory.json";
        }
      }
      log(`GPU memory: ${summary.memory.status === "measured" ? memoryFigures(summary.memory) : summary.memory.status}${summary.memory.reason ? ` (${summary.memory.status === "skipped" ? `looked at ${summary.memory.metricsUrl}: ` : ""}${summary.memory.reason})` : ""}`);
    }
    summary.status = "complete";
    summary.finishedAt = now();
    await save();
    const htmlFile = await store.writeFile("report.html", benchHtml(summary));
    return { summary, store, htmlFile, ...(measuredFile ? { measuredFile } : {}) };
  } catch (e) {
    summary.status = e instanceof Interrupted ? "interrupted" : "failed";
    summary.error = e instanceof Error ? e.message : String(e);
    summary.finishedAt = now();
    await save();
    await store.writeFile("report.html", benchHtml(summary));
    if (e instanceof Interrupted) throw new UserError({ message: `interrupted; the partial summary is in ${store.summaryFile}` }, 1);
    throw e;
  }
}

class Interrupted extends Error {}

function checkOptions(repeats: number, warmup: number, concurrency: readonly number[]): void {
  const bad = (field: string, v: unknown, want: string) => new UserError({ field, message: `must be ${want}, got ${String(v)}` }, 2);
  if (!Number.isInteger(repeats) || repeats < 1) throw bad("--repeats", repeats, "a positive integer");
  if (!Number.isInteger(warmup) || warmup < 0) throw bad("--warmup", warmup, "a non-negative integer");
  if (concurrency.length === 0 || concurrency.some((c) => !Number.isInteger(c) || c < 1)) throw bad("--concurrency", concurrency.join(","), "a list of positive integers, e.g. 1,4");
}

/** GET /v2 and the index first: an unreachable or restricted server is one clear error, not one per model. */
async function reach(server: BenchServer): Promise<{ info: { name: string; version: string }; index: IndexRow[] }> {
  try {
    return { info: await server.serverMetadata(), index: await server.repositoryIndex() };
  } catch (e) {
    throw new UserError({ message: serverProblem(server.url, e), ...(isUnreachable(e) ? { hint: "start one (npm run serve-local -- --repo triton/models) or pass --url http://HOST:PORT" } : {}) }, 1);
  }
}

/**
 * The metrics scrape for the server-side split, or undefined (said once) when the endpoint does not
 * answer with Triton's per-model counters.
 */
async function metricsReader(m: { url: string; scrape: () => Promise<PromSample[]> }, log: (line: string) => void): Promise<(() => Promise<PromSample[] | undefined>) | undefined> {
  try {
    const samples = await m.scrape();
    if (!samples.some((x) => x.name === REQUEST_SUCCESS)) {
      log(`server-side time: skipped (looked at ${m.url}: no ${REQUEST_SUCCESS} there)`);
      return undefined;
    }
  } catch (e) {
    log(`server-side time: skipped (looked at ${m.url}: ${e instanceof Error ? e.message : String(e)})`);
    return undefined;
  }
  log(`server-side time: from ${m.url}`);
  return () => m.scrape().catch(() => undefined);
}

async function measureModel(server: BenchServer, model: BenchModel, concurrency: number, repeats: number, warmup: number, store: RunStore, signal?: AbortSignal, scrape?: () => Promise<PromSample[] | undefined>): Promise<Measurement> {
  const cb = model.branch;
  const base = {
    model: model.name,
    ...(cb ? { family: cb.family, branch: cb.branch.name, size: cb.branch.size } : {}),
    ...(model.role ? { role: model.role } : {}),
    concurrency,
  };
  let inputs;
  let outputs: string[];
  try {
    const meta = await server.modelMetadata(model.name);
    inputs = benchInputs(meta);
    outputs = meta.outputs.map((t) => t.name);
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { ...base, requests: 0, ok: 0, errors: 1, wallMs: 0, throughput: 0, samplesMs: [], inputBytes: 0, status: "error", error };
  }
  const inputBytes = inputs.reduce((n, t) => n + elementCount(t.shape) * dtypeInfo(t.datatype).byteSize, 0);
  let before: PromSample[] | undefined;
  const r = await measureLevel(
    async () => {
      if (signal?.aborted) throw new Error("interrupted");
      await server.infer(model.name, inputs, outputs);
    },
    {
      concurrency,
      warmup,
      repeats,
      onSample: (s) => store.appendResult({ runId: store.id, model: model.name, concurrency, index: s.index, latencyMs: s.latencyMs, atMs: s.atMs, ok: s.ok, ...(s.error ? { error: s.error } : {}) } satisfies ResultLine),
      ...(scrape ? { beforeTimed: async () => void (before = await scrape()) } : {}),
    },
  );
  if (signal?.aborted) throw new Interrupted();
  const after = before && scrape ? await scrape() : undefined;
  const st = before && after ? serverTime(before, after, model.name) : undefined;
  const status = r.errors === 0 && r.ok > 0 ? "ok" : "error";
  return {
    ...base,
    requests: r.requests,
    ok: r.ok,
    errors: r.errors,
    wallMs: r.wallMs,
    throughput: r.throughput,
    ...(r.ok > 0 ? { latencyMs: summarize(r.latenciesMs) } : {}),
    samplesMs: r.latenciesMs,
    inputBytes,
    ...(st ? { serverTime: st } : {}),
    status,
    ...(status === "error" ? { error: r.firstError ?? "no request succeeded" } : {}),
  };
}

/** The ONNX models behind the benched models (where VRAM lives), with inputs for running each. */
async function memoryTargets(server: BenchServer, models: readonly BenchModel[]): Promise<MemoryTarget[]> {
  const names = [...new Set(models.map((m) => m.branch?.models.onnx ?? m.name))];
  const out: MemoryTarget[] = [];
  for (const name of names) {
    try {
      const meta = await server.modelMetadata(name);
      out.push({ model: name, inputs: benchInputs(meta), outputs: meta.outputs.map((t) => t.name) });
    } catch (e) {
      out.push({ model: name, inputs: [], outputs: [], error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}
