// serve-local's Prometheus endpoint, as Triton's metrics server answers it (server
// src/http_server.cc HTTPMetricsServer, core src/metrics.cc and src/metric_model_reporter.cc, r24.08):
// GET /metrics on its own port (--metrics-port, default 8002) in the text exposition format, one family
// per metric with Triton's names, help texts and label names (`model`, `version`; `reason` on
// failures; `gpu_uuid` on GPU families). A family is data plus a collect() read at scrape time, so
// more families plug in without touching this file: MetricsRegistry.register(), or
// ServeLocalOptions.metricFamilies (e.g. a simulated card's nv_gpu_memory_used_bytes{gpu_uuid=…}).
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { UserError } from "../errors.ts";
import type { ServedModel } from "./served-model.ts";
import { FAILURE_REASONS, type MetricCounters } from "./stats.ts";

export type MetricType = "counter" | "gauge";

export interface MetricSample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  /** e.g. nv_inference_request_success */
  name: string;
  help: string;
  type: MetricType;
  /** The family's samples now; called on every scrape. */
  collect(): readonly MetricSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The families one endpoint serves, in registration order. */
export class MetricsRegistry {
  private readonly families = new Map<string, MetricFamily>();

  /** Adds a family; a second family of the same name, or an invalid name, is a programming error. */
  register(f: MetricFamily): void {
    if (!METRIC_NAME.test(f.name)) throw new Error(`metric name '${f.name}' is not a Prometheus metric name`);
    if (this.families.has(f.name)) throw new Error(`metric family '${f.name}' is registered twice`);
    this.families.set(f.name, f);
  }

  names(): string[] {
    return [...this.families.keys()];
  }

  /** The text exposition format (version 0.0.4), as a Prometheus scrape reads it. */
  render(): string {
    const lines: string[] = [];
    for (const f of this.families.values()) {
      lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
      for (const s of f.collect()) lines.push(`${f.name}${labelSet(s.labels)} ${formatValue(s.value)}`);
    }
    return lines.length ? `${lines.join("\n")}\n` : "";
  }
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function labelSet(labels: Readonly<Record<string, string>>): string {
  // prometheus-cpp (Triton's serializer) writes labels sorted by name
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  for (const k of keys) if (!LABEL_NAME.test(k)) throw new Error(`label name '${k}' is not a Prometheus label name`);
  return `{${keys.map((k) => `${k}="${labels[k]!.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Triton's per-model families: name, help and the counter each reads (labels model and version). */
const MODEL_COUNTERS: readonly [name: string, help: string, read: (c: Readonly<MetricCounters>) => number][] = [
  ["nv_inference_request_success", "Number of successful inference requests, all batch sizes", (c) => c.success],
  ["nv_inference_count", "Number of inferences performed (does not include cached requests)", (c) => c.inferences],
  ["nv_inference_exec_count", "Number of model executions performed (does not include cached requests)", (c) => c.executions],
  ["nv_inference_request_duration_us", "Cumulative inference request duration in microseconds (includes cached requests)", (c) => c.requestUs],
  ["nv_inference_queue_duration_us", "Cumulative inference queuing duration in microseconds (includes cached requests)", (c) => c.queueUs],
  ["nv_inference_compute_input_duration_us", "Cumulative compute input duration in microseconds (does not include cached requests)", (c) => c.computeInputUs],
  ["nv_inference_compute_infer_duration_us", "Cumulative compute inference duration in microseconds (does not include cached requests)", (c) => c.computeInferUs],
  ["nv_inference_compute_output_duration_us", "Cumulative inference compute output duration in microseconds (does not include cached requests)", (c) => c.computeOutputUs],
];

/**
 * The per-model families over whatever models are serving at scrape time: a version's series appear
 * when it loads (at zero) and go when it unloads, as Triton's MetricModelReporter does.
 */
export function modelMetricFamilies(models: () => readonly ServedModel[]): MetricFamily[] {
  const labels = (m: ServedModel) => ({ model: m.name, version: m.version });
  const counters = MODEL_COUNTERS.map(([name, help, read]): MetricFamily => ({
    name,
    help,
    type: "counter",
    collect: () => models().map((m) => ({ labels: labels(m), value: read(m.stats.counters()) })),
  }));
  const failure: MetricFamily = {
    name: "nv_inference_request_failure",
    help: "Number of failed inference requests, all batch sizes",
    type: "counter",
    collect: () => models().flatMap((m) => FAILURE_REASONS.map((reason) => ({ labels: { ...labels(m), reason }, value: m.stats.counters().failure[reason] }))),
  };
  const pending: MetricFamily = {
    name: "nv_inference_pending_request_count",
    help: "Instantaneous number of pending requests awaiting execution per-model.",
    type: "gauge",
    // serve-local runs a request as soon as it arrives: nothing waits in a scheduler queue.
    collect: () => models().map((m) => ({ labels: labels(m), value: 0 })),
  };
  return [counters[0]!, failure, ...counters.slice(1), pending];
}

export interface MetricsServer {
  /** e.g. http://127.0.0.1:8002/metrics */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The metrics endpoint on its own port: GET /metrics answers the exposition; GET on any other path
 * answers 200 with an empty body and any other method 405, as Triton's metrics server does.
 */
export async function startMetricsServer(registry: MetricsRegistry, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET") {
      const body = JSON.stringify({ error: "Method Not Allowed" });
      res.writeHead(405, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      return void res.end(body);
    }
    const path = (req.url ?? "/").split("?", 1)[0]!;
    const body = /^\/metrics\/?$/.test(path) ? registry.render() : "";
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(port, host);
  try {
    await Promise.race([once(server, "listening"), once(server, "error").then(([e]) => Promise.reject(e as Error))]);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UserError({ message: `cannot listen for metrics on ${host}:${port}: ${code === "EADDRINUSE" ? "the port is in use" : (e as Error).message}`, hint: "pick another --metrics-port (0 for any free one), or --allow-metrics=false" });
  }
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${bound}/metrics`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
