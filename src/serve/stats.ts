// Per model version counters, kept as Triton's InferenceStatsAggregator keeps them (core
// src/infer_stats.cc, r24.08) for both of its outputs: the statistics extension (GET
// /v2/models/{m}/stats: counts with total nanoseconds) and the Prometheus counters (whole
// microseconds, each request's duration truncated before it is added, failures by reason).
// serve-local has no scheduler queue (a request runs as soon as it arrives), so queue stays at zero.
import type { ModelStatistics, StatDuration } from "../kserve/index.ts";

const zero = (): StatDuration => ({ count: 0, ns: 0 });

export interface Phases {
  /** Checking and preparing inputs. */
  inputNs: number;
  /** The backend's run. */
  inferNs: number;
  /** Preparing outputs. */
  outputNs: number;
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

export class ModelStats {
  private lastInference = 0;
  private count = 0;
  private readonly s = { success: zero(), fail: zero(), queue: zero(), compute_input: zero(), compute_infer: zero(), compute_output: zero(), cache_hit: zero(), cache_miss: zero() };
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

  success(p: Phases): void {
    this.count++;
    this.lastInference = Date.now();
    const add = (d: StatDuration, ns: number) => {
      d.count++;
      d.ns += ns;
    };
    const requestNs = p.inputNs + p.inferNs + p.outputNs;
    add(this.s.success, requestNs);
    add(this.s.compute_input, p.inputNs);
    add(this.s.compute_infer, p.inferNs);
    add(this.s.compute_output, p.outputNs);
    add(this.s.queue, 0);
    const us = (ns: number) => Math.floor(ns / 1000);
    const m = this.m;
    m.success++;
    m.inferences++;
    m.executions++;
    m.requestUs += us(requestNs);
    m.computeInputUs += us(p.inputNs);
    m.computeInferUs += us(p.inferNs);
    m.computeOutputUs += us(p.outputNs);
  }

  fail(ns: number, reason: FailureReason): void {
    this.lastInference = Date.now();
    this.s.fail.count++;
    this.s.fail.ns += ns;
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
      inference_count: this.count,
      execution_count: this.count,
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
      batch_stats: [],
      // Triton reports the memory a backend declared at load; serve-local's CPU backends declare none.
      memory_usage: [],
    };
  }
}
