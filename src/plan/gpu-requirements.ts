// What a node must offer for the plan to run on it, stated once: the stacks turn it into the pod's
// required node affinity, preflight checks real nodes against it. The labels are GPU Feature
// Discovery's (k8s-device-plugin v0.17, internal/lm): nvidia.com/gpu.memory is NVML's total memory in
// MiB, which is often below the card's nominal size (an RTX 2060 "6 GB" reads 5926), so the memory
// floor is what the plan needs (its models plus the reserve), not the nominal size;
// nvidia.com/cuda.driver-version.major is the host driver's major version.
import { UserError } from "../errors.ts";
import type { LoadedProfile } from "../spec/profile.ts";
import type { Plan } from "./plan.ts";

export const GPU_RESOURCE = "nvidia.com/gpu";
export const GFD_LABELS = {
  memory: "nvidia.com/gpu.memory",
  product: "nvidia.com/gpu.product",
  driverMajor: "nvidia.com/cuda.driver-version.major",
} as const;

export interface GpuRequirements {
  /** Least nvidia.com/gpu.memory (MiB) a node must report. */
  minMemoryMiB: number;
  /** How minMemoryMiB was found, for people: "plan 4580 + reserve 1024" or the profile's pin. */
  memoryReason: string;
  /** Least nvidia.com/cuda.driver-version.major. */
  minDriverMajor: number;
  /** GFD's product name the profile was written for. */
  product: string;
  /** What the pod's affinity matches: the memory floor, or the product name. The driver floor always. */
  affinity: "memory" | "product";
  /** GPUs the rollout needs at once (one per replica). */
  gpus: number;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: "Gt" | "In";
  values: string[];
}

export function gpuRequirements(plan: Plan, profile: LoadedProfile, gpus: number): GpuRequirements {
  const gpu = profile.spec.gpu;
  const need = Math.ceil(plan.totals.needMiB + plan.profile.reserveMiB);
  const pinned = gpu.nodeLabelMemoryMiB;
  if (pinned !== undefined && pinned < need) {
    const message = `gpu.nodeLabelMemoryMiB ${pinned} is below what the plan needs: models ${plan.totals.needMiB} + reserve ${plan.profile.reserveMiB} = ${need} MiB`;
    const hint = `raise it to at least ${need}, or remove it to use the plan's figure`;
    throw new UserError(profile.source?.problem(["gpu", "nodeLabelMemoryMiB"], message, hint) ?? { file: profile.file, field: "gpu.nodeLabelMemoryMiB", message, hint }, 2);
  }
  return {
    minMemoryMiB: pinned ?? need,
    memoryReason: pinned !== undefined ? `gpu.nodeLabelMemoryMiB ${pinned} (the plan needs ${need})` : `plan ${plan.totals.needMiB} + reserve ${plan.profile.reserveMiB} MiB`,
    minDriverMajor: gpu.minDriverMajor,
    product: gpu.product,
    affinity: gpu.affinity,
    gpus,
  };
}

/** The required node affinity: one term, every requirement ANDed. `Gt` takes one integer. */
export function nodeAffinity(r: GpuRequirements): NodeSelectorRequirement[] {
  const driver: NodeSelectorRequirement = { key: GFD_LABELS.driverMajor, operator: "Gt", values: [String(r.minDriverMajor - 1)] };
  if (r.affinity === "product") return [{ key: GFD_LABELS.product, operator: "In", values: [r.product] }, driver];
  return [{ key: GFD_LABELS.memory, operator: "Gt", values: [String(r.minMemoryMiB - 1)] }, driver];
}
