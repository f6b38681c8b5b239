// One measurement: a request function run `warmup` times untimed, then `repeats` times with
// `concurrency` requests in flight, each request's latency taken on its own. Throughput is the
// successful requests over the wall time of the timed part. Transport-free: the caller passes the
// request as a function, so tests can time anything.
import { forEachLimited } from "../concurrency.ts";
import { performance } from "node:perf_hooks";

export interface LevelOptions {
  concurrency: number;
  warmup: number;
  repeats: number;
  /** Called after every timed request (for results.jsonl), in completion order, outside the timing. */
  onSample?: (s: Sample) => void | Promise<void>;
  /** Stop after this many failed requests (a model that OOMs fails every call; no need to wait for 30). */
  maxErrors?: number;
  /** Called once between the warm-up and the timed part, outside the timing (e.g. to read the server's counters). */
  beforeTimed?: () => Promise<void>;
}

export interface Sample {
  /** Index of the request in the timed part, in start order. */
  index: number;
  /** Milliseconds from start to answer (or failure). */
  latencyMs: number;
  /** Milliseconds since the timed part began, when the answer came. */
  atMs: number;
  ok: boolean;
  error?: string;
}

export interface LevelResult {
  concurrency: number;
  /** Requests started in the timed part (fewer than asked when stopped by maxErrors). */
  requests: number;
  ok: number;
  errors: number;
  wallMs: number;
  /** Successful requests per second over wallMs. */
  throughput: number;
  /** Latencies of the successful requests, in completion order. */
  latenciesMs: number[];
  firstError?: string;
  warmupErrors: number;
}

export function checkLevelOptions(o: LevelOptions): void {
  for (const [k, v] of [["concurrency", o.concurrency], ["repeats", o.repeats]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new RangeError(`warmup must be a non-negative integer, got ${o.warmup}`);
}

export async function measureLevel(request: () => Promise<unknown>, o: LevelOptions): Promise<LevelResult> {
  checkLevelOptions(o);
  const maxErrors = o.maxErrors ?? Math.max(3, Math.ceil(o.repeats / 5));
  let warmupErrors = 0;
  let firstError: string | undefined;
  await pool(o.warmup, o.concurrency, async () => {
    try {
      await request();
    } catch (e) {
      warmupErrors++;
      firstError ??= message(e);
    }
  });

  await o.beforeTimed?.();
  const latenciesMs: number[] = [];
  let errors = 0;
  let started = 0;
  // Samples are handed on in order but not awaited inside the timed part: a slow disk must not
  // show up as latency or lower throughput.
  let handed: Promise<void> = Promise.resolve();
  const t0 = performance.now();
  await pool(o.repeats, o.concurrency, async () => {
    if (errors >= maxErrors) return;
    const index = started++;
    const s = performance.now();
    let sample: Sample;
    try {
      await request();
      const end = performance.now();
      latenciesMs.push(end - s);
      sample = { index, latencyMs: end - s, atMs: end - t0, ok: true };
    } catch (e) {
      const end = performance.now();
      errors++;
      firstError ??= message(e);
      sample = { index, latencyMs: end - s, atMs: end - t0, ok: false, error: message(e) };
    }
    const hand = o.onSample;
    if (hand) handed = handed.then(() => hand(sample));
  });
  const wallMs = performance.now() - t0;
  await handed;
  return {
    concurrency: o.concurrency,
    requests: started,
    ok: latenciesMs.length,
    errors,
    wallMs,
    throughput: wallMs > 0 ? latenciesMs.length / (wallMs / 1000) : 0,
    latenciesMs,
    ...(firstError !== undefined ? { firstError } : {}),
    warmupErrors,
  };
}

/** Runs `task` `total` times with at most `width` running at once. */
function pool(total: number, width: number, task: () => Promise<void>): Promise<void> {
  return forEachLimited(Array.from({ length: total }), width, task);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
