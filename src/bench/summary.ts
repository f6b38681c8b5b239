// The shape of a bench run's summary.json (rewritten as the run goes) and of its results.jsonl lines
// (appended per request). The summary alone is enough for the table, the HTML report and --compare;
// results.jsonl keeps every request for anyone who wants to recompute.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { UserError } from "../errors.ts";
import type { LevelResult } from "./measure.ts";
import type { ServerTime } from "./server-time.ts";
import type { LatencyStats } from "./stats.ts";

export const SUMMARY_KIND = "triton-deploy.bench";

/** The counts and timing of one level come from measure.ts; a measurement adds who and the statistics. */
export interface Measurement extends Pick<LevelResult, "concurrency" | "requests" | "ok" | "errors" | "wallMs" | "throughput"> {
  model: string;
  /** Catalog facts when the model is one of the catalog's (absent for other servers' models). */
  family?: string;
  branch?: string;
  size?: number;
  role?: string;
  /** Over the successful requests; absent when none succeeded. */
  latencyMs?: LatencyStats;
  /** Each successful request's latency, in completion order (for the CDF). */
  samplesMs: number[];
  /** Request body tensors in bytes (binary extension). */
  inputBytes: number;
  /** Where the time went on the server (Triton's per-model counters around the timed part), when it exports them. */
  serverTime?: ServerTime;
  status: "ok" | "error";
  error?: string;
}

export interface MemoryMeasurement {
  model: string;
  /** Whether the model was loaded before the bench unloaded it (it is loaded again afterwards). */
  wasLoaded: boolean;
  baselineMiB: number;
  loadedMiB: number;
  /** Highest nv_gpu_memory_used_bytes seen while the model ran. */
  runningMaxMiB: number;
  residentMiB: number;
  peakMiB: number;
  /** Metrics scrapes taken while it ran. */
  scrapes: number;
  inferences: number;
  error?: string;
}

export interface MemorySection {
  metricsUrl: string;
  status: "measured" | "skipped" | "failed";
  /**
   * Set when the figures come from serve-local's simulated card (gpu_uuid GPU-simulated-<profile>):
   * its accounting of the specs' estimates, not a GPU's.
   */
  simulatedProfile?: string;
  reason?: string;
  /** The measured-memory file for `npm run plan -- --measured FILE`, relative to the run folder. */
  file?: string;
  models: MemoryMeasurement[];
}

export interface BenchSummary {
  kind: typeof SUMMARY_KIND;
  version: 1;
  runId: string;
  status: "running" | "complete" | "interrupted" | "failed";
  error?: string;
  url: string;
  server?: { name: string; version: string };
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  config: { models: string[]; repeats: number; warmup: number; concurrency: number[] };
  measurements: Measurement[];
  memory?: MemorySection;
}

/** One line of results.jsonl. */
export interface ResultLine {
  runId: string;
  model: string;
  concurrency: number;
  index: number;
  latencyMs: number;
  atMs: number;
  ok: boolean;
  error?: string;
}

const StatsShape = z.looseObject({ count: z.number(), p50: z.number(), p95: z.number(), p99: z.number(), mean: z.number(), std: z.number(), cv: z.number() });
const SummaryShape = z.looseObject({
  kind: z.literal(SUMMARY_KIND),
  runId: z.string(),
  status: z.string(),
  measurements: z.array(z.looseObject({ model: z.string(), concurrency: z.number(), throughput: z.number(), status: z.string(), latencyMs: StatsShape.optional() })),
});

/** Reads a summary.json (or a run folder holding one) for --compare; a wrong file is a usage error. */
export async function readSummary(path: string): Promise<BenchSummary> {
  const file = /\.json$/i.test(path) ? path : `${path.replace(/[\\/]$/, "")}/summary.json`;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new UserError({ file, message: `cannot read the summary: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, hint: "pass a benchmarks/out/<run-id>/summary.json (or its folder)" }, 2);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError({ file, message: `not JSON: ${(e as Error).message}` }, 2);
  }
  const r = SummaryShape.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new UserError({ file, field: issue.path.join("."), message: `not a bench summary: ${issue.message}`, hint: `summaries written by npm run bench have "kind": "${SUMMARY_KIND}"` }, 2);
  }
  return json as BenchSummary;
}
