// How long Triton may take to start before Kubernetes gives up on it: the startup probe's budget.
// Triton opens its HTTP port only after every start-up model has loaded (server src/main.cc, r24.08),
// so the probe cannot pass early; the budget is the sum of named parts so the stacks, the docs and
// `plan` can show where the seconds go.
import type { CudnnConvAlgoSearch } from "../config/ort-memory.ts";
import type { RepositorySource } from "../spec/profile.ts";
import { ENGINE_CACHE_MOUNT } from "./engine-cache.ts";
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
/**
 * Per ONNX Runtime model, its warm-up run while loading (model_warmup): the first run on the GPU,
 * the arena's growth and cuDNN's algorithm search. EXHAUSTIVE times every algorithm of every
 * convolution; HEURISTIC and DEFAULT pick one without running them. Estimates, on paper.
 */
const WARMUP_PER_MODEL_S: Record<CudnnConvAlgoSearch, number> = { exhaustive: 60, heuristic: 10, default: 10 };
/**
 * Per model with TensorRT, building its engine on the first start (minutes on a small card); later
 * starts read it from the engine cache on the persistent volume. Counted because the probe must let
 * the first start finish, or the pod restarts before any engine is written. An estimate, on paper.
 */
const ENGINE_BUILD_PER_MODEL_S = 180;

export function startupBudget(plan: Plan, repository: RepositorySource): StartupBudget {
  const onnxModels = plan.selected.length;
  const search = plan.onnxRuntime.cudnnConvAlgoSearch;
  const tensorrt = plan.selected.filter((e) => e.accelerator?.kind === "tensorrt").length;
  const parts: StartupPart[] = [
    { what: "server start", seconds: SERVER_START_S },
    ...(repository.kind === "objectStore" ? [{ what: "download the repository", seconds: OBJECT_STORE_DOWNLOAD_S }] : []),
    { what: `load ${onnxModels} ONNX models`, seconds: LOAD_PER_ONNX_MODEL_S * onnxModels },
    { what: `warm up ${onnxModels} ONNX models (cuDNN ${search} search)`, seconds: WARMUP_PER_MODEL_S[search] * onnxModels },
    ...(tensorrt > 0 ? [{ what: `build ${tensorrt} TensorRT engines on the first start and after a new export (cached in ${ENGINE_CACHE_MOUNT} after)`, seconds: ENGINE_BUILD_PER_MODEL_S * tensorrt }] : []),
  ];
  return { seconds: parts.reduce((s, p) => s + p.seconds, 0), parts };
}
