// npm run bench: latency and throughput of a KServe-v2 server's models (design.md §3), or --compare
// of two earlier runs. Flags only; the work is src/bench.
import { existsSync } from "node:fs";
import { command, HEADER_FLAG, headerFlag, numberFlag, runCli, serverHeaders } from "../src/cli.ts";
import { UserError } from "../src/errors.ts";
import { compareSummaries, formatComparison } from "../src/bench/compare.ts";
import { memoryFigures } from "../src/bench/memory.ts";
import { formatBenchTable } from "../src/bench/report.ts";
import { runBench } from "../src/bench/run.ts";
import { readSummary } from "../src/bench/summary.ts";
import { benchMetricsUrl } from "../src/bench/metrics-url.ts";
import { httpBenchServer, metricsScraper } from "../src/bench/target.ts";
import { loadCatalog } from "../src/spec/catalog.ts";

interface Flags {
  url: string;
  models?: string[];
  repeats: string;
  warmup: string;
  concurrency: string;
  out: string;
  specs: string;
  metricsUrl?: string;
  memory: boolean;
  settleMs: string;
  compare?: string[];
  header: Record<string, string>;
}

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(",").map((s) => s.trim()).filter(Boolean)];

const program = command("bench", "Latency and throughput per model and concurrency against any KServe-v2 server; results.jsonl, summary.json and report.html under --out/<run-id>/.")
  .option("--url <url>", "server (env TRITON_HTTP_URL)", process.env.TRITON_HTTP_URL ?? "http://localhost:8000")
  .option("--models <names>", "models to bench, comma-separated or repeated (default: the catalog's entry models the server has READY)", list)
  .option("--repeats <n>", "timed requests per model and concurrency level", "30")
  .option("--warmup <n>", "untimed requests first", "5")
  .option("--concurrency <list>", "requests in flight, one level each, e.g. 1,4", "1")
  .option("--out <dir>", "parent of the run folder", "benchmarks/out")
  .option("--specs <dir>", "model spec directory (names branches and sizes; optional)", "model-specs")
  .option(HEADER_FLAG.flags, HEADER_FLAG.description, headerFlag, {} as Record<string, string>)
  .option("--metrics-url <url>", "Prometheus endpoint for the server-side time split and GPU memory (default: a profile's metrics NodePort when --url is its HTTP NodePort, else the --url host on port 8002)")
  .option("--no-memory", "skip the GPU memory measurement (it unloads and loads each ONNX model)")
  .option("--settle-ms <ms>", "wait after each load/unload before reading GPU memory (Triton refreshes metrics every 2 s)", "2500")
  .option("--compare <runs...>", "print the change between two runs (summary.json files or run folders) and exit");

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  if (f.compare) {
    if (f.compare.length !== 2) throw new UserError({ field: "--compare", message: `--compare takes two runs (before, after), got ${f.compare.length}` }, 2);
    const [a, b] = await Promise.all(f.compare.map(readSummary));
    process.stdout.write(`${formatComparison(a!, b!, compareSummaries(a!, b!))}\n`);
    return 0;
  }
  const concurrency = f.concurrency.split(",").map((c) => numberFlag("--concurrency", c.trim(), 1));
  const repeats = numberFlag("--repeats", f.repeats, 1);
  const warmup = numberFlag("--warmup", f.warmup, 0);
  let url: URL;
  try {
    url = new URL(f.url);
  } catch {
    throw new UserError({ field: "--url", message: `not a URL: '${f.url}'`, hint: "e.g. --url http://localhost:8000" }, 2);
  }
  const catalog = existsSync(f.specs) ? await loadCatalog(f.specs) : undefined;
  const metrics = f.metricsUrl ? { url: f.metricsUrl, why: "--metrics-url" } : await benchMetricsUrl(url.toString(), f.specs);
  const metricsUrl = metrics.url;
  process.stdout.write(`metrics: ${metricsUrl} (${metrics.why})\n`);
  const controller = new AbortController();
  process.once("SIGINT", () => {
    process.stderr.write("\ninterrupted: finishing the current request and writing the partial summary (Ctrl-C again to quit at once)\n");
    controller.abort();
    process.once("SIGINT", () => process.exit(130));
  });
  const server = httpBenchServer(url.toString(), serverHeaders(f.header));
  const scrape = metricsScraper(server, metricsUrl);
  const run = await runBench(server, {
    ...(f.models ? { models: f.models } : {}),
    repeats,
    warmup,
    concurrency,
    outDir: f.out,
    ...(catalog ? { catalog } : {}),
    serverMetrics: { url: metricsUrl, scrape },
    ...(f.memory ? { memory: { metricsUrl, scrape, settleMs: numberFlag("--settle-ms", f.settleMs, 0) } } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
    signal: controller.signal,
  });
  process.stdout.write(`\n${formatBenchTable(run.summary)}\n`);
  process.stdout.write(`\nwrote ${run.store.summaryFile}\n      ${run.store.resultsFile}\n      ${run.htmlFile}\n`);
  const simulated = run.summary.memory?.simulatedProfile;
  if (run.measuredFile) process.stdout.write(`      ${run.measuredFile}  (npm run plan -- --profile NAME --measured ${run.measuredFile})${simulated !== undefined ? `: ${memoryFigures({ simulatedProfile: simulated })} figures, not a GPU's` : ""}\n`);
  const failed = run.summary.measurements.filter((m) => m.status !== "ok");
  if (failed.length > 0) process.stderr.write(`error: ${failed.length} measurement(s) failed: ${failed.map((m) => `${m.model} (c=${m.concurrency}): ${m.error}`).join("; ")}\n`);
  return failed.length > 0 ? 1 : 0;
});
