// A bench summary for people: the plain-text table on the terminal and the HTML report (latency by
// model and branch size, CDF per model, GPU memory: measured, or simulated on serve-local's card).
// Pure: a summary in, strings out.
import Table from "cli-table3";
import { htmlReport, type HtmlSection } from "./html.ts";
import { memoryFigures } from "./memory.ts";
import { empiricalCdf } from "./stats.ts";
import type { BenchSummary, Measurement } from "./summary.ts";
import { barChart, fmt, lineChart, type Series } from "./svg.ts";

/** Measurements ordered as people read them: family, branch size, model, concurrency. */
export function orderedMeasurements(ms: readonly Measurement[]): Measurement[] {
  return [...ms].sort(
    (a, b) => (a.family ?? a.model).localeCompare(b.family ?? b.model) || (a.size ?? 0) - (b.size ?? 0) || a.model.localeCompare(b.model) || a.concurrency - b.concurrency,
  );
}

export function formatBenchTable(s: BenchSummary): string {
  const t = new Table({
    head: ["model", "size", "conc", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms", "std ms", "CV", "req/s", "server ms", "status"],
    style: { head: [], border: [] },
  });
  for (const m of orderedMeasurements(s.measurements)) {
    const l = m.latencyMs;
    t.push([
      m.model,
      m.size ?? "",
      m.concurrency,
      `${m.ok}/${m.requests}`,
      l ? fmt(l.p50) : "",
      l ? fmt(l.p95) : "",
      l ? fmt(l.p99) : "",
      l ? fmt(l.mean) : "",
      l ? fmt(l.std) : "",
      l ? l.cv.toFixed(3) : "",
      fmt(m.throughput),
      m.serverTime ? fmt(m.serverTime.requestUs / 1000) : "",
      m.status === "ok" ? "ok" : `error: ${truncate(m.error ?? "", 60)}`,
    ]);
  }
  const lines = [`${s.runId}: ${s.url}${s.server ? ` (${s.server.name} ${s.server.version})` : ""}, ${s.config.repeats} repeats after ${s.config.warmup} warm-up, status ${s.status}`, t.toString()];
  if (s.memory) lines.push(formatMemory(s));
  return lines.join("\n");
}

function formatMemory(s: BenchSummary): string {
  const m = s.memory!;
  if (m.status !== "measured") return `GPU memory: ${m.status} (${m.reason ?? ""}; metrics ${m.metricsUrl})`;
  const t = new Table({ head: ["onnx model", "baseline MiB", "loaded MiB", "max running MiB", "residentMiB", "peakMiB", "scrapes"], style: { head: [], border: [] } });
  for (const x of m.models) t.push([x.model, fmt(x.baselineMiB), fmt(x.loadedMiB), fmt(x.runningMaxMiB), x.error ? `error: ${truncate(x.error, 40)}` : fmt(x.residentMiB), x.error ? "" : fmt(x.peakMiB), x.scrapes]);
  const note = m.simulatedProfile !== undefined ? `\n${SIMULATED_NOTE}` : "";
  return `GPU memory, ${memoryFigures(m)}, from ${m.metricsUrl} (nv_gpu_memory_used_bytes around explicit load/unload)${m.file ? `, for the plan: ${m.file}` : ""}${note}\n${t.toString()}`;
}

/** What a simulated card's figures are, for people. */
const SIMULATED_NOTE = "These figures are serve-local's simulated card: its accounting of the specs' estimates (or of a --measured file), not a GPU's readings.";

function truncate(s: string, n: number): string {
  const one = s.replace(/\s+/g, " ");
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

export function benchHtml(s: BenchSummary): string {
  const ms = orderedMeasurements(s.measurements);
  const levels = [...new Set(ms.map((m) => m.concurrency))].sort((a, b) => a - b);
  const sections: HtmlSection[] = [];
  sections.push({
    title: "Latency and throughput",
    notes: ["Latency in milliseconds per request (client side: request sent → response read), deterministic inputs of each model's exact shapes sent as binary tensors."],
    table: {
      head: ["model", "size", "concurrency", "ok/requests", "p50", "p95", "p99", "mean", "std", "CV", "req/s", "status"],
      rows: ms.map((m) => {
        const l = m.latencyMs;
        return [m.model, m.size ?? "", m.concurrency, `${m.ok}/${m.requests}`, l ? fmt(l.p50) : "", l ? fmt(l.p95) : "", l ? fmt(l.p99) : "", l ? fmt(l.mean) : "", l ? fmt(l.std) : "", l ? l.cv.toFixed(3) : "", fmt(m.throughput), m.status === "ok" ? "ok" : `error: ${m.error ?? ""}`];
      }),
    },
  });
  for (const c of levels) {
    const at = ms.filter((m) => m.concurrency === c && m.latencyMs);
    const bars = barChart(
      at.map((m) => ({ label: m.size ? `${m.model} (${m.size})` : m.model, value: m.latencyMs!.p50, marks: [{ name: "p95", value: m.latencyMs!.p95 }, { name: "p99", value: m.latencyMs!.p99 }], group: m.family ?? m.model })),
      { title: `p50 latency by model and branch size, concurrency ${c}`, unit: "ms" },
    );
    const series: Series[] = at.map((m) => ({ name: m.model, points: empiricalCdf(m.samplesMs).map((p) => ({ x: p.x, y: p.p })) }));
    const cdf = lineChart(series, { title: `Latency CDF per model, concurrency ${c}`, xLabel: "latency (ms)", yLabel: "fraction of requests", logX: true, step: true, yMin: 0, yMax: 1, height: Math.max(320, 40 + 15 * series.length) });
    sections.push({ title: `Concurrency ${c}`, charts: [bars, cdf] });
  }
  if (s.memory) {
    const m = s.memory;
    sections.push({
      title: `GPU memory, ${memoryFigures(m)}`,
      notes: [`${m.status}${m.reason ? `: ${m.reason}` : ""}; metrics ${m.metricsUrl}${m.file ? `; file for npm run plan -- --measured: ${m.file}` : ""}`, ...(m.simulatedProfile !== undefined ? [SIMULATED_NOTE] : [])],
      table: { head: ["onnx model", "baseline MiB", "loaded MiB", "max running MiB", "residentMiB", "peakMiB", "scrapes"], rows: m.models.map((x) => [x.model, fmt(x.baselineMiB), fmt(x.loadedMiB), fmt(x.runningMaxMiB), x.error ? `error: ${x.error}` : fmt(x.residentMiB), fmt(x.peakMiB), x.scrapes]) },
    });
  }
  return htmlReport(`Bench ${s.runId}`, `${s.url}${s.server ? ` — ${s.server.name} ${s.server.version}` : ""}; ${s.config.repeats} repeats, ${s.config.warmup} warm-up, concurrency ${s.config.concurrency.join(", ")}; status ${s.status}; ${s.startedAt}`, sections);
}
