// Public API of src/serve: serve-local, a KServe-v2 server over a Triton model repository, on the CPU.
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_METRICS_PORT, startServer, StartupError, type RestrictedApi, type ServeLocal, type ServeLocalOptions } from "./server.ts";
export { MetricsRegistry, type MetricFamily, type MetricSample, type MetricType } from "./metrics.ts";
export { ModelRegistry } from "./registry.ts";
export type { ApiCategory } from "./router.ts";
export { DEFAULT_METRICS_INTERVAL_MS, simulatedGpu, SimulatedGpu, type SimulatedGpuOptions } from "./gpu-sim.ts";
export { DEFAULT_LOAD_THREADS } from "./registry.ts";
