// npm run serve-local: a KServe-v2 server over a Triton model repository, run on the CPU (ONNX Runtime,
// python3 for Python steps, ensembles stepped as Triton does), with Triton 24.08's defaults
// (--exit-on-error=true, metrics on 8002). Prints, when ready:
//   serve-local: metrics on http://127.0.0.1:MPORT/metrics        (unless --allow-metrics=false)
//   serve-local: listening on http://127.0.0.1:PORT (N models READY, M UNAVAILABLE)
// exits 1 naming each model that failed to load (--exit-on-error=true), and stops cleanly (exit 0)
// on SIGINT or SIGTERM. With --gpu PROFILE, a simulated card of that profile's size: one more line
//   serve-local: simulated GPU … (every figure on it says simulated)
// and, when it is told to stop, the most memory the card had in use at any moment.
import { InvalidArgumentError } from "commander";
import { command, runCli } from "../src/cli.ts";
import { UserError } from "../src/errors.ts";
import { DEFAULT_LOAD_THREADS, DEFAULT_METRICS_INTERVAL_MS, DEFAULT_METRICS_PORT, simulatedGpu, startServer, StartupError, type ApiCategory, type RestrictedApi, type SimulatedGpu } from "../src/serve/index.ts";
import { loadProblemLines } from "../src/serve/python-backend.ts";

interface Flags {
  repo: string;
  host: string;
  port: number;
  loadModel: string[];
  maxBodyMb: number;
  httpRestrictedApi: RestrictedApi[];
  exitOnError: boolean;
  metricsPort: number;
  allowMetrics: boolean;
  metricsIntervalMs: number;
  modelLoadThreadCount?: number;
  gpu?: string;
  specs: string;
  measured?: string;
}

const CATEGORIES: readonly ApiCategory[] = ["health", "metadata", "inference", "model-config", "model-repository", "statistics"];

function port(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError("a port is an integer 0..65535 (0: any free port)");
  return Number(v);
}

/** A boolean as tritonserver reads one (server src/command_line_parser.cc): true/on/1, false/off/0. */
function bool(v: string): boolean {
  const l = v.toLowerCase();
  if (["true", "on", "1"].includes(l)) return true;
  if (["false", "off", "0"].includes(l)) return false;
  throw new InvalidArgumentError("expected true or false (also on/off, 1/0), e.g. --exit-on-error=false");
}

function positive(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError("a positive integer");
  return Number(v);
}

function megabytes(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("a positive number of MiB");
  return n;
}

/** `<api>[,<api>…]:<header>=<value>`, as Triton's --http-restricted-api. */
function restricted(v: string, prev: RestrictedApi[]): RestrictedApi[] {
  const m = /^([a-z,-]+):([^=]+)=(.*)$/.exec(v);
  if (!m) throw new InvalidArgumentError("expected <api>[,<api>…]:<header>=<value>, e.g. model-repository:triton-repo-key=secret");
  const categories = m[1]!.split(",");
  const bad = categories.filter((c) => !CATEGORIES.includes(c as ApiCategory));
  if (bad.length) throw new InvalidArgumentError(`unknown API ${bad.join(", ")} (known: ${CATEGORIES.join(", ")})`);
  return [...prev, { categories: categories as ApiCategory[], header: m[2]!, value: m[3]! }];
}

const program = command("serve-local", "Serve a Triton model repository over KServe v2 HTTP on the CPU (design.md §3, §10).")
  .requiredOption("--repo <dir>", "model repository written by synth-repo")
  .option("--host <host>", "address to bind (keep it on loopback unless you mean to expose it)", "127.0.0.1")
  .option("--port <port>", "HTTP port; 0 picks a free one (the ready line says which)", port, 8000)
  .option("--load-model <name>", "load only this model, and an ensemble's step models (repeatable; explicit mode; '*' loads all). Default: every model directory", (v: string, p: string[]) => [...p, v], [] as string[])
  .option("--exit-on-error <bool>", "exit 1 when a model fails to load at start-up, as Triton does; false serves the rest with the failures UNAVAILABLE", bool, true)
  .option("--metrics-port <port>", `Prometheus metrics port (GET /metrics); 0 picks a free one (a line says which)`, port, DEFAULT_METRICS_PORT)
  .option("--allow-metrics <bool>", "serve metrics (false: no metrics endpoint)", bool, true)
  .option("--metrics-interval-ms <ms>", "GPU metrics refresh interval, as Triton's (the simulated card's gauge shows the most in use over each half interval)", positive, DEFAULT_METRICS_INTERVAL_MS)
  .option("--model-load-thread-count <n>", `models loaded at once, as Triton's flag (default ${DEFAULT_LOAD_THREADS}, as Triton; with --gpu, what the profile's plan tells Triton: 1 under the serial policy, so warm-ups do not meet)`, positive)
  .option("--gpu <profile>", "simulate that profile's GPU (VRAM, reserve): each ONNX Runtime model's memory accounted from the specs' estimates under its config's semantics; loads and runs that do not fit fail; nv_gpu_memory_* metrics; every figure simulated")
  .option("--specs <dir>", "with --gpu: the spec directory (profiles and estimates)", "model-specs")
  .option("--measured <file>", "with --gpu: measured VRAM per ONNX model (bench's measured-memory.json) instead of the estimates")
  .option("--max-body-mb <mib>", "refuse larger request bodies with 413", megabytes, 64)
  .option("--http-restricted-api <spec>", "<api>[,<api>…]:<header>=<value>: those APIs need that header (repeatable)", restricted, [] as RestrictedApi[]);

function gpuStartLine(gpu: SimulatedGpu, measured: string | undefined): string {
  const c = gpu.card.spec;
  return `simulated GPU ${c.product} (--gpu ${c.profile}, ${c.uuid}): ${c.totalMiB} MiB, ${c.reserveMiB} MiB reserved for the CUDA context and Triton; ONNX Runtime models counted from ${measured ? `${measured} (measured), else ` : ""}the specs' estimates; Python steps and ensembles run on the CPU (simulated)`;
}

function gpuLoadedLine(gpu: SimulatedGpu): string {
  const c = gpu.card;
  const floors = gpu.floorModels();
  const floor = floors.length ? `; no estimate for ${floors.join(", ")}: counted at a floor (files + I/O tensors)` : "";
  return `simulated GPU: ${c.usedMiB()} of ${c.spec.totalMiB} MiB used after loading (${c.holdings().length} ONNX Runtime model versions), ${c.freeMiB()} MiB free${floor} (simulated)`;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  if (!LOOPBACK.test(f.host)) process.stderr.write(`serve-local: warning: binding ${f.host}, not loopback: anyone who can reach this address can run and unload models\n`);
  if (f.measured && !f.gpu) throw new UserError({ field: "--measured", message: "--measured sets the simulated card's figures and needs --gpu PROFILE", hint: "add --gpu gpu-local (or another profile)" }, 2);
  const gpu = f.gpu ? await simulatedGpu({ specsDir: f.specs, profile: f.gpu, ...(f.measured ? { measuredFile: f.measured } : {}), metricsIntervalMs: f.metricsIntervalMs }) : undefined;
  // With a simulated card, load as that profile's deployment does (the stacks pass the plan's count).
  const loadThreads = f.modelLoadThreadCount ?? gpu?.planLoadThreads ?? DEFAULT_LOAD_THREADS;
  if (gpu) process.stdout.write(`serve-local: ${gpuStartLine(gpu, f.measured)}; loading ${loadThreads} model(s) at a time${f.modelLoadThreadCount === undefined ? ` as the ${gpu.card.spec.profile} plan tells Triton (--model-load-thread-count)` : ""}\n`);
  const server = await startServer({
    repo: f.repo,
    host: f.host,
    port: f.port,
    ...(f.loadModel.length ? { loadModels: f.loadModel } : {}),
    maxBodyBytes: Math.floor(f.maxBodyMb * 1024 * 1024),
    restrictedApis: f.httpRestrictedApi,
    exitOnError: f.exitOnError,
    metricsPort: f.allowMetrics ? f.metricsPort : null,
    loadThreads,
    ...(gpu ? { gpu } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  }).catch(async (e: unknown) => {
    if ((e as { code?: string }).code === "ENOENT") throw new UserError({ message: `repository ${f.repo} does not exist`, hint: "write one with npm run synth-repo -- --out DIR" });
    if (e instanceof StartupError) await printLoadFailures(e.failures);
    throw e;
  });
  await printLoadFailures(server.startupFailures);
  if (gpu) process.stdout.write(`serve-local: ${gpuLoadedLine(gpu)}\n`);
  if (server.metricsUrl) process.stdout.write(`serve-local: metrics on ${server.metricsUrl}\n`);
  const { ready, unavailable } = server.counts();
  process.stdout.write(`serve-local: listening on ${server.url} (${ready} models READY, ${unavailable} UNAVAILABLE)\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`serve-local: ${signal}: stopping\n`);
      // A second signal means "now": leave without waiting for requests or Python children.
      process.once("SIGINT", () => process.exit(1));
      process.once("SIGTERM", () => process.exit(1));
      if (gpu) process.stdout.write(`serve-local: simulated GPU: at most ${gpu.card.highWaterMiB()} of ${gpu.card.spec.totalMiB} MiB in use at any moment (simulated; reserve ${gpu.card.spec.reserveMiB} included)\n`);
      void server.close().then(resolve);
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  return 0;
});

/** Each model that failed to load, on stderr; those that failed for want of numpy as one line with the fix. */
async function printLoadFailures(failures: readonly { name: string; reason: string }[]): Promise<void> {
  for (const line of await loadProblemLines(failures)) process.stderr.write(`serve-local: ${line}\n`);
}
