// How long a rollout may take before Kubernetes and terraform give up, as named parts: scheduling,
// pulling and unpacking the image, then Triton's start-up (src/plan/startup.ts). The Deployment's
// progressDeadlineSeconds is their sum. terraform-provider-kubernetes waits 10 minutes by default
// for a kubernetes_deployment_v1 and does not retry after ProgressDeadlineExceeded
// (kubernetes/resource_kubernetes_deployment_v1.go, v2.38), so its create/update timeouts must
// outlast the deadline: Kubernetes then decides, and terraform reports Kubernetes' reason.
import type { RepositorySource, Rollout } from "../spec/profile.ts";
import type { Plan } from "./plan.ts";
import { startupBudget, type StartupBudget, type StartupPart } from "./startup.ts";

/** containerd unpacking layers on a workstation SSD, MiB/s (an assumption, stated in docs/deploy.md). */
export const UNPACK_MIB_PER_S = 100;
/** terraform waits this long beyond the progress deadline, so Kubernetes' verdict arrives first. */
export const TERRAFORM_MARGIN_MINUTES = 5;

export interface RolloutBudget {
  /** Every part, in the order a first deploy goes through them. */
  parts: StartupPart[];
  /** Sum of the parts: the Deployment's progressDeadlineSeconds. */
  progressDeadlineSeconds: number;
  /** Triton's own share (the startup probe's budget). */
  startup: StartupBudget;
  /** terraform's kubernetes_deployment_v1 timeouts, minutes. */
  timeoutMinutes: { create: number; update: number };
  /** How long the deploy waits for a labelled GPU node before it creates the Deployment. */
  gpuWaitSeconds: number;
  /** Disk the image takes on a node: the downloaded layers plus the unpacked snapshot, GiB. */
  imageDiskGiB: number;
}

export interface RolloutShape {
  replicas: number;
  /** Pods replaced at once in an update (Recreate: all of them). */
  podsPerWave: number;
}

export function rolloutBudget(plan: Plan, repository: RepositorySource, rollout: Rollout, shape: RolloutShape): RolloutBudget {
  const startup = startupBudget(plan, repository);
  const img = rollout.image;
  const parts: StartupPart[] = [
    { what: "schedule the pod, mount its volumes", seconds: rollout.schedulingSeconds },
    { what: `download the image (${img.downloadGiB} GiB at ${img.pullMiBps} MiB/s)`, seconds: Math.ceil((img.downloadGiB * 1024) / img.pullMiBps) },
    { what: `unpack the image (${img.unpackedGiB} GiB at ${UNPACK_MIB_PER_S} MiB/s)`, seconds: Math.ceil((img.unpackedGiB * 1024) / UNPACK_MIB_PER_S) },
    ...startup.parts,
  ];
  const progressDeadlineSeconds = parts.reduce((s, p) => s + p.seconds, 0);
  const perWave = Math.ceil(progressDeadlineSeconds / 60);
  // An update replaces podsPerWave pods at a time; each wave may take the whole deadline.
  const waves = Math.ceil(shape.replicas / shape.podsPerWave);
  return {
    parts,
    progressDeadlineSeconds,
    startup,
    timeoutMinutes: {
      create: Math.max(rollout.terraformTimeoutMinutes, perWave + TERRAFORM_MARGIN_MINUTES),
      update: Math.max(rollout.terraformTimeoutMinutes, waves * perWave + TERRAFORM_MARGIN_MINUTES),
    },
    gpuWaitSeconds: rollout.gpuWaitSeconds,
    imageDiskGiB: img.downloadGiB + img.unpackedGiB,
  };
}

/** "28 min 4 s": a duration as people read it in docs and preflight's output. */
export function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m === 0 ? `${s} s` : s === 0 ? `${m} min` : `${m} min ${s} s`;
}
