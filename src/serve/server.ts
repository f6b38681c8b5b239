// serve-local's HTTP server: loads the repository (every model directory, or only the named ones and
// their ensembles' steps), stops there when a model failed and exitOnError is on (Triton's
// --exit-on-error, default true), then answers the KServe v2 endpoints on node:http with keep-alive,
// and Prometheus metrics on a port of their own. Every failure of a request ends as a 4xx/5xx
// `{"error": …}` answer, never as a crash; close() stops listening, lets requests in flight finish
// (bounded), and closes every backend (Python children, ONNX sessions).
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { UserError } from "../errors.ts";
import { isProtocolError } from "../kserve/index.ts";
import { BodyTooLargeError } from "./body.ts";
import { handlers } from "./handlers.ts";
import { MetricsRegistry, modelMetricFamilies, startMetricsServer, type MetricFamily, type MetricsServer } from "./metrics.ts";
import type { SimulatedGpu } from "./gpu-sim.ts";
import { ModelRegistry } from "./registry.ts";
import { sendError, sendErrorAndClose } from "./reply.ts";
import { checkMethod, route, type ApiCategory } from "./router.ts";

/** Like Triton's --http-restricted-api: these API categories answer only requests carrying header=value. */
export interface RestrictedApi {
  categories: ApiCategory[];
  header: string;
  value: string;
}

export interface ServeLocalOptions {
  /** A repository written by synth-repo (any Triton model repository of onnxruntime, python and ensemble models). */
  repo: string;
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 8000 */
  port?: number;
  /** Load only these models and their ensembles' step models (explicit mode); every model directory when omitted or "*". */
  loadModels?: readonly string[];
  /**
   * Like Triton's --exit-on-error: a model that fails to load at start-up makes startServer throw a
   * StartupError naming each failing model and its reason (the process exits, a pod crash-loops).
   * false: serve the rest, with the failures as UNAVAILABLE rows. @default true
   */
  exitOnError?: boolean;
  /**
   * Port of the Prometheus endpoint (GET /metrics); 0 picks a free one; null turns it off (Triton's
   * --allow-metrics=false). @default 8002, as Triton's --metrics-port
   */
  metricsPort?: number | null;
  /** More families for the metrics endpoint, beside the per-model ones (e.g. a simulated GPU's memory). */
  metricFamilies?: readonly MetricFamily[];
  /**
   * A simulated card (serve-local --gpu PROFILE, src/serve/gpu-sim.ts): every ONNX Runtime model's
   * memory is accounted on it, loads and runs that do not fit fail, and its memory gauges join the
   * metrics.
   */
  gpu?: SimulatedGpu;
  /** Models loaded at once, as Triton's --model-load-thread-count. @default 4 */
  loadThreads?: number;
  /** Larger request bodies are refused with 413 before they are read. @default 64 MiB */
  maxBodyBytes?: number;
  restrictedApis?: readonly RestrictedApi[];
  /** How long close() lets requests in flight finish. @default 5000 */
  shutdownGraceMs?: number;
  /** Where internal errors (500s) are reported. @default nowhere */
  log?: (line: string) => void;
}

export interface ServeLocal {
  /** e.g. http://127.0.0.1:8000 */
  url: string;
  host: string;
  port: number;
  registry: ModelRegistry;
  /** The families the metrics endpoint serves; register() more at any time. */
  metrics: MetricsRegistry;
  /** e.g. http://127.0.0.1:8002/metrics; undefined when metrics are off. */
  metricsUrl?: string;
  /** Models asked to be loaded, READY and not. */
  counts(): { ready: number; unavailable: number };
  /** The models that failed to load at start-up, with their reasons (served on with exitOnError false). */
  startupFailures: readonly { name: string; reason: string }[];
  /** The simulated card, when there is one. */
  gpu?: SimulatedGpu;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Triton's --metrics-port default. */
export const DEFAULT_METRICS_PORT = 8002;

/** Start-up ended because models failed to load and exitOnError is on; `failures` name each one. */
export class StartupError extends UserError {
  constructor(readonly failures: readonly { name: string; reason: string }[]) {
    super(
      {
        message: `creating server: failed to load all models: ${failures.map((f) => f.name).join(", ")} (--exit-on-error=true, as Triton's default: Triton exits too, and its pod crash-loops)`,
        hint: "fix the models named above, or pass --exit-on-error=false to serve the rest with those UNAVAILABLE",
      },
      1,
    );
    this.name = "StartupError";
  }
}

function restrictedFor(o: ServeLocalOptions, category: ApiCategory, req: IncomingMessage): RestrictedApi | undefined {
  return o.restrictedApis?.find((r) => r.categories.includes(category) && req.headers[r.header.toLowerCase()] !== r.value);
}

export async function startServer(o: ServeLocalOptions): Promise<ServeLocal> {
  const host = o.host ?? "127.0.0.1";
  const gpu = o.gpu;
  const registry = new ModelRegistry(resolve(o.repo), { ...(o.loadThreads ? { loadThreads: o.loadThreads } : {}), ...(gpu ? { wrap: (b, at) => gpu.attach(b, at) } : {}) });
  gpu?.start();
  const failures = await registry.loadInitial(o.loadModels);
  if (failures.length > 0 && (o.exitOnError ?? true)) {
    await registry.close();
    gpu?.stop();
    throw new StartupError(failures);
  }
  const metrics = new MetricsRegistry();
  for (const f of [...modelMetricFamilies(() => registry.servedModels()), ...(o.metricFamilies ?? []), ...(gpu?.metricFamilies() ?? [])]) metrics.register(f);
  const metricsPort = o.metricsPort === undefined ? DEFAULT_METRICS_PORT : o.metricsPort;
  let metricsServer: MetricsServer | undefined;
  if (metricsPort !== null) {
    try {
      metricsServer = await startMetricsServer(metrics, host, metricsPort);
    } catch (e) {
      await registry.close();
      gpu?.stop();
      throw e;
    }
  }
  const table = handlers({ registry, maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });
  const log = o.log ?? (() => undefined);
  let inflight = 0;
  let idle: (() => void) | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      // Triton's order: the path, then the restriction (403 before anything else), then the method.
      const m = route(req);
      const r = restrictedFor(o, m.category, req);
      if (r) return sendError(res, 403, `This API is restricted, expecting header '${r.header}'`);
      checkMethod(req, m);
      await table[m.name](req, res, m.params);
    } catch (e) {
      if (res.headersSent || res.destroyed) return void res.destroy();
      if (e instanceof BodyTooLargeError) return sendErrorAndClose(res, e.status, e.message);
      if (isProtocolError(e)) return sendError(res, e.status, e.message, "allow" in e ? { allow: String(e.allow) } : {});
      const status = typeof (e as { status?: unknown }).status === "number" ? (e as { status: number }).status : 500;
      if (status >= 500) log(`serve-local: ${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      sendError(res, status, e instanceof Error ? e.message : String(e));
    }
  }

  const server = createServer({ keepAliveTimeout: 60_000, headersTimeout: 65_000 }, (req, res) => {
    inflight++;
    res.once("close", () => {
      if (--inflight === 0) idle?.();
    });
    void handle(req, res);
  });
  server.listen(o.port ?? 8000, host);
  try {
    await Promise.race([once(server, "listening"), once(server, "error").then(([e]) => Promise.reject(e as Error))]);
  } catch (e) {
    await Promise.all([registry.close(), metricsServer?.close()]);
    gpu?.stop();
    const code = (e as { code?: string }).code;
    throw new UserError({ message: `cannot listen on ${host}:${o.port ?? 8000}: ${code === "EADDRINUSE" ? "the port is in use" : (e as Error).message}`, hint: "pick another --port, or 0 for any free one" });
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      server.close();
      server.closeIdleConnections();
      if (inflight > 0) {
        const grace = new Promise<void>((r) => setTimeout(r, o.shutdownGraceMs ?? 5000).unref());
        await Promise.race([new Promise<void>((r) => (idle = r)), grace]);
      }
      server.closeAllConnections();
      await Promise.all([registry.close(), metricsServer?.close()]);
      gpu?.stop();
    })());

  return { url: `http://${urlHost}:${port}`, host, port, registry, metrics, ...(metricsServer ? { metricsUrl: metricsServer.url } : {}), counts: () => registry.counts(), startupFailures: failures, ...(gpu ? { gpu } : {}), close };
}
