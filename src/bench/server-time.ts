// Where a request's time went on the server, from Triton's Prometheus counters read before and after
// a measurement's timed part (core src/metrics.cc names, labels model/version, r24.08): requests, and
// per request the mean request, queue and compute (input, infer, output) durations. The client's
// latency minus the server's request duration is what HTTP, encoding and the network cost.
import { promValue, type PromSample } from "../client/index.ts";

/** Means per successful request, in microseconds, over the timed part. */
export interface ServerTime {
  requests: number;
  requestUs: number;
  queueUs: number;
  computeInputUs: number;
  computeInferUs: number;
  computeOutputUs: number;
}

const COUNTERS = {
  requestUs: "nv_inference_request_duration_us",
  queueUs: "nv_inference_queue_duration_us",
  computeInputUs: "nv_inference_compute_input_duration_us",
  computeInferUs: "nv_inference_compute_infer_duration_us",
  computeOutputUs: "nv_inference_compute_output_duration_us",
} as const;
export const REQUEST_SUCCESS = "nv_inference_request_success";

/** The model's counters between two scrapes (summed over its versions); undefined when the server does not export them or nothing ran. */
export function serverTime(before: readonly PromSample[], after: readonly PromSample[], model: string): ServerTime | undefined {
  const delta = (name: string) => {
    const a = promValue(after, name, { model });
    const b = promValue(before, name, { model }) ?? 0;
    return a === undefined ? undefined : a - b;
  };
  const requests = delta(REQUEST_SUCCESS);
  if (requests === undefined || requests <= 0) return undefined;
  const mean = (name: string) => (delta(name) ?? 0) / requests;
  return {
    requests,
    requestUs: mean(COUNTERS.requestUs),
    queueUs: mean(COUNTERS.queueUs),
    computeInputUs: mean(COUNTERS.computeInputUs),
    computeInferUs: mean(COUNTERS.computeInferUs),
    computeOutputUs: mean(COUNTERS.computeOutputUs),
  };
}
