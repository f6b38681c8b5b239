// /dev/shm for the Python backend: each Python model instance is a stub process that exchanges tensors
// with Triton through its own shared-memory region. Docker's and Kubernetes' default /dev/shm (64 MiB)
// is too small for a dozen steps ("Failed to increase the shared memory pool size"), so the deployment
// mounts a memory-backed emptyDir sized here, and passes the region sizes to tritonserver explicitly.
// In r24.08 (python_backend src/python_be.cc) a region starts at 1 MiB and grows 1 MiB at a time, the
// least it accepts being 1 MiB; src/shm_manager.cc grows a region by whole growth steps, enough for the
// allocation that did not fit, and never shrinks it. So a region sized for twice the largest request
// never grows, and one that does grows by at most one step: the emptyDir holds, per step, one region
// plus one growth, with headroom for Triton's own segments.
import type { Plan } from "./plan.ts";

const MiB = 1024 * 1024;

export interface ShmSizing {
  /** Python step models in the load list (one instance each). */
  pythonSteps: number;
  /** Largest tensor traffic of one step request (inputs + outputs), MiB, rounded up. */
  largestStepMiB: number;
  /** shm-default-byte-size per step, MiB: twice the largest request, at least MIN_REGION_MIB. */
  regionMiB: number;
  /** shm-growth-byte-size, MiB: one growth of a region's size. */
  growthMiB: number;
  /** Multiplier over steps × (region + growth), for Triton's own segments and fragmentation. */
  headroom: number;
  /** The emptyDir size limit, MiB (a multiple of 64, at least 64). */
  sizeMiB: number;
}

/** Smallest region worth having (the python backend refuses less than 1 MiB and starts at 1 MiB by default). */
export const MIN_REGION_MIB = 8;
export const SHM_HEADROOM = 1.5;

export function shmSizing(plan: Plan, preprocess: "python" | "onnx"): ShmSizing {
  const steps = preprocess === "python" ? plan.selected.filter((e) => e.stepTensorBytes !== undefined) : [];
  const largestStepMiB = Math.ceil(Math.max(0, ...steps.map((e) => e.stepTensorBytes!)) / MiB);
  const regionMiB = Math.max(MIN_REGION_MIB, roundUp(2 * largestStepMiB, 4));
  const growthMiB = regionMiB;
  const raw = steps.length * (regionMiB + growthMiB) * SHM_HEADROOM;
  return { pythonSteps: steps.length, largestStepMiB, regionMiB, growthMiB, headroom: SHM_HEADROOM, sizeMiB: Math.max(64, roundUp(raw, 64)) };
}

/** --backend-config flags that make the python backend use the regions sized above. */
export function pythonBackendArgs(shm: ShmSizing): string[] {
  if (shm.pythonSteps === 0) return [];
  return [`--backend-config=python,shm-default-byte-size=${shm.regionMiB * MiB}`, `--backend-config=python,shm-growth-byte-size=${shm.growthMiB * MiB}`];
}

function roundUp(v: number, step: number): number {
  return Math.ceil(v / step) * step;
}
