// --compare A B: what changed between two bench summaries, per model and concurrency: p50, p95 and
// throughput before → after with the relative change. Pure (summaries in, rows and text out).
import Table from "cli-table3";
import type { BenchSummary, Measurement } from "./summary.ts";
import { fmt } from "./svg.ts";

export interface ComparisonRow {
  model: string;
  concurrency: number;
  before?: Measurement;
  after?: Measurement;
  /** after/before − 1 for p50, p95 and throughput, where both sides have them. */
  p50Change?: number;
  p95Change?: number;
  throughputChange?: number;
}

export function compareSummaries(a: BenchSummary, b: BenchSummary): ComparisonRow[] {
  const key = (m: Measurement) => `${m.model}\u0000${m.concurrency}`;
  const before = new Map(a.measurements.map((m) => [key(m), m]));
  const after = new Map(b.measurements.map((m) => [key(m), m]));
  const keys = [...new Set([...before.keys(), ...after.keys()])];
  const rows = keys.map((k): ComparisonRow => {
    const x = before.get(k);
    const y = after.get(k);
    const m = (x ?? y)!;
    const row: ComparisonRow = { model: m.model, concurrency: m.concurrency };
    if (x) row.before = x;
    if (y) row.after = y;
    if (x?.latencyMs && y?.latencyMs) {
      row.p50Change = change(x.latencyMs.p50, y.latencyMs.p50);
      row.p95Change = change(x.latencyMs.p95, y.latencyMs.p95);
    }
    if (x && y && x.throughput > 0) row.throughputChange = change(x.throughput, y.throughput);
    return row;
  });
  return rows.sort((p, q) => p.model.localeCompare(q.model) || p.concurrency - q.concurrency);
}

function change(before: number, after: number): number | undefined {
  return before > 0 ? after / before - 1 : undefined;
}

export function formatChange(c: number | undefined): string {
  if (c === undefined) return "";
  const pct = c * 100;
  return `${pct >= 0 ? "+" : ""}${pct.toFixed(1)} %`;
}

export function formatComparison(a: BenchSummary, b: BenchSummary, rows: readonly ComparisonRow[]): string {
  const t = new Table({ head: ["model", "conc", "p50 ms", "Δ p50", "p95 ms", "Δ p95", "req/s", "Δ req/s"], style: { head: [], border: [] } });
  const side = (m: Measurement | undefined, pick: (m: Measurement) => number | undefined) => {
    const v = m ? pick(m) : undefined;
    return v === undefined ? (m ? m.status : "—") : fmt(v);
  };
  for (const r of rows) {
    t.push([
      r.model,
      r.concurrency,
      `${side(r.before, (m) => m.latencyMs?.p50)} → ${side(r.after, (m) => m.latencyMs?.p50)}`,
      formatChange(r.p50Change),
      `${side(r.before, (m) => m.latencyMs?.p95)} → ${side(r.after, (m) => m.latencyMs?.p95)}`,
      formatChange(r.p95Change),
      `${side(r.before, (m) => m.throughput)} → ${side(r.after, (m) => m.throughput)}`,
      formatChange(r.throughputChange),
    ]);
  }
  return `compare ${a.runId} (${a.url}) → ${b.runId} (${b.url}); negative Δ p50/p95 is faster\n${t.toString()}`;
}
