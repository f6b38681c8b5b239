// Triton's GPU memory metrics as both sides name them: serve-local's simulated card exports them
// and bench reads them (core src/metrics.cc, r24.08, names the families; gpu_uuid labels each GPU).
export const GPU_MEMORY_USED = "nv_gpu_memory_used_bytes";
export const GPU_MEMORY_TOTAL = "nv_gpu_memory_total_bytes";
/** The gpu_uuid of serve-local's simulated card is this, then the profile's name. */
export const SIMULATED_GPU_UUID_PREFIX = "GPU-simulated-";
