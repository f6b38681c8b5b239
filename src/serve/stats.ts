// Per model version counters, kept as Triton's InferenceStatsAggregator keeps them (core
// src/infer_stats.cc, r24.08) for both of its outputs: the statistics extension (GET
// /v2/models/{m}/stats: counts with total nanoseconds) and the Prometheus counters (whole
// microseconds, each request's duration truncated before it is added, failures by reason).
// Two kinds of report, as backends make them: one per request (UpdateSuccess: success, inference
// count by the request's batch size, request/queue/compute durations; UpdateFailure: fail count and
// duration by reason, nothing else) and one per execution (UpdateInferBatchStats: execution count,
// batch_stats, last_inference), which a backend makes only when the execution succeeded
// (onnxruntime_backend src/onnxruntime.cc ProcessRequests, r24.08).
import type { ModelStatistics, StatDuration } from "../kserve/index.ts";

const zero = (): StatDuration => ({ count: 0, ns: 0 });

/** A request's compute, in Triton's three phases. */
export interface Compute {
  /** Preparing inputs for the run. */
  inputNs: number;
  /** The run. */
  inferNs: number;
  /** Preparing outputs. */
  outputNs: number;
}

/** One successful request's times. */
export interface RequestTimes extends Compute {
  /** Arrival to answer. */
  requestNs: number;
  /** Arrival to the start of its compute. */
  queueNs: number;
}

/** Triton's failure reasons (label `reason` of nv_inference_request_failure). */
export const FAILURE_REASONS = ["REJECTED", "CANCELED", "BACKEND", "OTHER"] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** The Prometheus side: cumulative microseconds, as nv_inference_*_duration_us count them. */
export interface MetricCounters {
  success: number;
  failure: Record<FailureReason, number>;
  inferences: number;
  executions: number;
  requestUs: number;
  queueUs: number;
  computeInputUs: number;
  computeInferUs: number;
  computeOutputUs: number;
}

interface BatchStats {
  compute_input: StatDuration;
  compute_infer: StatDuration;
  compute_output: StatDuration;
}

const add = (d: StatDuration, ns: number) => {
  d.count++;
  d.ns += ns;
};
const us = (ns: number) => Math.floor(ns / 1000);

export class ModelStats {
  private lastInference = 0;
  private inferences = 0;
  private executions = 0;
  private readonly s = { success: zero(), fail: zero(), queue: zero(), compute_input: zero(), compute_infer: zero(), compute_output: zero(), cache_hit: zero(), cache_miss: zero() };
  private readonly batches = new Map<number, BatchStats>();
  private readonly m: MetricCounters = {
    success: 0,
    failure: { REJECTED: 0, CANCELED: 0, BACKEND: 0, OTHER: 0 },
    inferences: 0,
    executions: 0,
    requestUs: 0,
    queueUs: 0,
    computeInputUs: 0,
    computeInferUs: 0,
    computeOutputUs: 0,
  };

  /** A request that succeeded; it counts max(1, batch) inferences (InferenceRequest::ReportStatistics). */
  success(t: RequestTimes, batch: number): void {
    const n = Math.max(1, batch);
    this.inferences += n;
    add(this.s.success, t.requestNs);
    add(this.s.queue, t.queueNs);
    add(this.s.compute_input, t.inputNs);
    add(this.s.compute_infer, t.inferNs);
    add(this.s.compute_output, t.outputNs);
    const m = this.m;
    m.success++;
    m.inferences += n;
    m.requestUs += us(t.requestNs);
    m.queueUs += us(t.queueNs);
    m.computeInputUs += us(t.inputNs);
    m.computeInferUs += us(t.inferNs);
    m.computeOutputUs += us(t.outputNs);
  }

  /** An execution that succeeded, of `batch` rows in all (TRITONBACKEND_ModelInstanceReportBatchStatistics). */
  executed(batch: number, c: Compute): void {
    this.executions++;
    this.m.executions++;
    this.lastInference = Date.now();
    const size = Math.max(1, batch);
    let b = this.batches.get(size);
    if (!b) this.batches.set(size, (b = { compute_input: zero(), compute_infer: zero(), compute_output: zero() }));
    add(b.compute_input, c.inputNs);
    add(b.compute_infer, c.inferNs);
    add(b.compute_output, c.outputNs);
  }

  /** A request that failed after it was queued: its count and duration, by reason; nothing else moves. */
  fail(requestNs: number, reason: FailureReason): void {
    add(this.s.fail, requestNs);
    this.m.failure[reason]++;
  }

  /** The counters as the metrics endpoint exports them. */
  counters(): Readonly<MetricCounters> {
    return this.m;
  }

  toJson(name: string, version: string): ModelStatistics {
    const copy = (d: StatDuration): StatDuration => ({ count: d.count, ns: Math.round(d.ns) });
    const st = this.s;
    return {
      name,
      version,
      last_inference: this.lastInference,
      inference_count: this.inferences,
      execution_count: this.executions,
      inference_stats: {
        success: copy(st.success),
        fail: copy(st.fail),
        queue: copy(st.queue),
        compute_input: copy(st.compute_input),
        compute_infer: copy(st.compute_infer),
        compute_output: copy(st.compute_output),
        cache_hit: copy(st.cache_hit),
        cache_miss: copy(st.cache_miss),
      },
      // Only backends that report per-response statistics fill this (decoupled models); the
      // ONNX Runtime, Python and ensemble models here do not, so Triton sends it empty.
      response_stats: {},
      batch_stats: [...this.batches].sort(([a], [b]) => a - b).map(([batch_size, b]) => ({ batch_size, compute_input: copy(b.compute_input), compute_infer: copy(b.compute_infer), compute_output: copy(b.compute_output) })),
      // Triton reports the memory a backend declared at load; serve-local's CPU backends declare none.
      memory_usage: [],
    };
  }
}
