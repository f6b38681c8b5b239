// How long Triton may take to start before Kubernetes gives up on it: the startup probe's budget.
// Triton opens its HTTP port only after every start-up model has loaded (server src/main.cc, r24.08),
// so the probe cannot pass early; the budget is the sum of named parts so the stacks, the docs and
// `plan` can show where the seconds go.
import type { RepositorySource } from "../spec/profile.ts";
import type { Plan } from "./plan.ts";

export interface StartupPart {
  /** What the seconds are for, as a person reads it ("load 31 models"). */
  what: string;
  seconds: number;
}

export interface StartupBudget {
  seconds: number;
  parts: StartupPart[];
}

/** Triton itself: backends, the CUDA context, the first model's libraries. */
const SERVER_START_S = 300;
/** Per ONNX Runtime model: open the session, move the weights to the GPU. */
const LOAD_PER_ONNX_MODEL_S = 20;
/** An object-store repository is downloaded before anything loads. */
const OBJECT_STORE_DOWNLOAD_S = 300;

export function startupBudget(plan: Plan, repository: RepositorySource): StartupBudget {
  const onnxModels = plan.selected.length;
  const parts: StartupPart[] = [
    { what: "server start", seconds: SERVER_START_S },
    { what: `load ${onnxModels} ONNX models`, seconds: LOAD_PER_ONNX_MODEL_S * onnxModels },
    ...(repository.kind === "objectStore" ? [{ what: "download the repository", seconds: OBJECT_STORE_DOWNLOAD_S }] : []),
  ];
  return { seconds: parts.reduce((s, p) => s + p.seconds, 0), parts };
}
