// The few Prometheus text-format facts bench reads from Triton's metrics endpoint (:8002/metrics):
// one metric's samples, with their labels. Pure parsing; fetching is the client's.

export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of `metric` in an exposition text. */
export function promSamples(text: string, metric: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m || m[1] !== metric) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    const value = Number(m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : m[3]);
    if (!Number.isNaN(value)) out.push({ labels, value });
  }
  return out;
}

export const GPU_MEMORY_USED = "nv_gpu_memory_used_bytes";

/**
 * Bytes of GPU memory in use, summed over the GPUs the server reports (a model may land on any);
 * undefined when the text has no such metric (a server without GPU metrics, such as serve-local).
 */
export function gpuMemoryUsedBytes(text: string): number | undefined {
  const s = promSamples(text, GPU_MEMORY_USED);
  return s.length ? s.reduce((n, x) => n + x.value, 0) : undefined;
}

/** The metrics URL Triton serves beside an HTTP endpoint: same host, port 8002, /metrics. */
export function defaultMetricsUrl(url: string): string {
  const u = new URL(url);
  u.port = "8002";
  u.pathname = "/metrics";
  u.search = "";
  return u.toString();
}
