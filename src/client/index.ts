// Public API of src/client: the project's KServe-v2 HTTP client (Triton or serve-local), its errors,
// and the Prometheus helper for Triton's metrics endpoint.
export { KServeClient, type CallOptions, type InferOptions, type KServeClientOptions, type ModelCallOptions } from "./client.ts";
export { describeError, isKServeHttpError, isRestricted, isUnreachable, KServeHttpError, KServeTimeoutError, serverProblem } from "./errors.ts";
export { defaultMetricsUrl, fetchPrometheus, parsePrometheus, promValue, type FetchPrometheusOptions, type PromSample } from "./prometheus.ts";
export type { TransportKind } from "./transport.ts";
export type * from "../kserve/types.ts";
export type { InferRequest, InferResponse, RequestedOutput, Tensor, TensorData } from "../kserve/index.ts";
