// Prometheus text exposition (Triton's :8002/metrics): fetch it and parse every sample, so a bench
// can read e.g. nv_gpu_memory_used_bytes{gpu_uuid="…"} around explicit model loads.

export interface PromSample {
  /** Metric name, e.g. nv_gpu_memory_used_bytes. */
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch when the exposition gives one. */
  timestampMs?: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;

function parseValue(s: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  return Number(s);
}

/** Every sample of an exposition text; comment lines and lines that are not samples are skipped. */
export function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    const body = m[2] ?? "";
    LABEL.lastIndex = 0;
    let consumed = 0;
    for (let l = LABEL.exec(body); l; l = LABEL.exec(body)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      consumed = LABEL.lastIndex;
    }
    if (body.slice(consumed).trim() !== "") continue; // malformed label set
    const value = parseValue(m[3]!);
    if (Number.isNaN(value) && m[3] !== "NaN") continue;
    out.push({ name: m[1]!, labels, value, ...(m[4] !== undefined ? { timestampMs: Number(m[4]) } : {}) });
  }
  return out;
}

/** Sum of a metric's samples whose labels include `match`; undefined when none is present. */
export function promValue(samples: readonly PromSample[], name: string, match: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return hits.length ? hits.reduce((n, s) => n + s.value, 0) : undefined;
}

/** Triton's metrics URL beside an HTTP endpoint: same host, port 8002, /metrics. */
export function defaultMetricsUrl(url: string): string {
  const u = new URL(url);
  u.port = "8002";
  u.pathname = "/metrics";
  u.search = "";
  return u.toString();
}

export interface FetchPrometheusOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** GET a metrics endpoint and parse it; throws with the status and body on a non-2xx answer. */
export async function fetchPrometheus(url: string, o: FetchPrometheusOptions = {}): Promise<PromSample[]> {
  const signals = [o.signal, o.timeoutMs !== undefined ? AbortSignal.timeout(o.timeoutMs) : undefined].filter((s): s is AbortSignal => s !== undefined);
  const res = await fetch(url, { headers: o.headers ?? {}, ...(signals.length ? { signal: AbortSignal.any(signals) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}: ${text.trim().slice(0, 200)}`);
  return parsePrometheus(text);
}
