// Where TensorRT engines built by ONNX Runtime's TensorRT execution provider are kept inside the
// Triton container. Model configs point trt_engine_cache_path below it (one folder per model) and
// the stacks mount a persistent volume here, so a restarted pod reuses engines instead of
// rebuilding them for minutes. One constant, imported by both sides.
export const ENGINE_CACHE_MOUNT = "/var/cache/triton-deploy/trt-engines";

/** The engine cache folder of one model. */
export function engineCachePath(model: string): string {
  return `${ENGINE_CACHE_MOUNT}/${model}`;
}
