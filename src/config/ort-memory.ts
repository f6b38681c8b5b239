// What an ONNX Runtime model's config means for GPU memory, both ways: the settings triton-deploy
// writes (memory policy, cuDNN search, warm-up, TensorRT) and, from any parsed config, the semantics
// Triton's ONNX Runtime backend will give it. One pure module, so synth-repo's check against the plan
// and serve-local's simulated card read a config the same way.
//
// Checked in onnxruntime_backend src/onnxruntime.cc at r24.08 (Triton 24.08):
// - `memory.enable_memory_arena_shrinkage` is read only from the top-level `parameters` and set as a
//   run option on every request (and on the warm-up runs): with "gpu:0" the CUDA arena of device 0
//   gives back what a run grew it by; without it the arena keeps its largest size for good.
// - CUDA EP options come from a `cuda` gpu_execution_accelerator (ORT's own strings, unchecked) and
//   then from the top-level `parameters`. When the config has any top-level `parameters`, that second
//   pass sets cudnn_conv_algo_search and arena_extend_strategy unconditionally (to EXHAUSTIVE and
//   kNextPowerOfTwo when absent), overwriting what a `cuda` accelerator said. Since the shrinkage key
//   must be top-level, both knobs go in the top-level `parameters` as numbers ("0"/"1"/"2", "0"/"1").
// - A `tensorrt` gpu_execution_accelerator appends the TensorRT EP first; the CUDA EP is always
//   appended after it as the fallback for nodes TensorRT does not take, with the options above.
//   precision_mode FP16/INT8/FP32 (anything else refuses the load), max_workspace_size_bytes
//   (README r24.08: default 1 GB), trt_engine_cache_enable, trt_engine_cache_path; an unknown key
//   refuses the load.
// - TensorRT's execution-context memory (onnxruntime core/providers/tensorrt/
//   tensorrt_execution_provider.h/.cc, 1.15-1.18) is held while the session lives, never per run.
//   Without trt_context_memory_sharing_enable each engine's execution context allocates its own
//   device memory when it is created and keeps it. With it, contexts are created without memory and
//   the execution provider keeps one block (member context_memory_), allocated from the session's GPU
//   allocator at the first run that needs more and grown to the largest engine's
//   getDeviceMemorySize(); it is held for the provider's (the session's) life, so arena shrinkage
//   cannot give it back (the block is in use). Sharing makes it the largest engine's size, not the
//   sum over the engines of a partitioned graph; we always write it. The plan counts TensorRT's
//   memory, at the spec's workspaceMiB, as resident.
// - Triton runs different models at once (one backend thread per instance), so their peaks add up
//   unless the server serializes them. Under the serial policy every GPU instance group holds the
//   global rate-limiter resource gpu_serial (count 1; common protobuf/model_config.proto r24.08,
//   ModelRateLimiter.Resource) and tritonserver runs with --rate-limit=execution_count
//   --rate-limit-resource=gpu_serial:1 (server src/command_line_parser.cc v2.49.0): an instance runs
//   only while it holds the one copy. Warm-up and initialization payloads pass the rate limiter too
//   (core src/backend_model_instance.cc, src/rate_limiter.cc r24.08).
// - Warm-up (core src/backend_model_instance.cc, r24.08): each sample with batch_size >= 1 runs
//   max(count, 1) times while the instance loads; a failing sample fails the load. With
//   max_batch_size 0 the sample's dims are used as the full shape. random_data is random bytes (NaN
//   floats, out-of-vocabulary token ids), so we warm up with zero_data.
import type { Accelerator, ModelConfig, ModelInput, ModelInstanceGroup, ModelWarmup, ModelWarmupInput } from "./model-config.ts";

export const MEMORY_POLICIES = ["serial", "resident"] as const;
/**
 * serial: the pipeline calls one model at a time and every arena shrinks after its run, so a set
 * needs sum(resident) + max(peak). resident: no shrinkage (no give-back and regrow per request, so
 * faster), every arena keeps its peak, so a set needs sum(resident + peak).
 */
export type MemoryPolicy = (typeof MEMORY_POLICIES)[number];

export const CUDNN_CONV_ALGO_SEARCHES = ["exhaustive", "heuristic", "default"] as const;
/** cuDNN convolution algorithm search (ORT's EXHAUSTIVE, HEURISTIC, DEFAULT = parameter 0, 1, 2). */
export type CudnnConvAlgoSearch = (typeof CUDNN_CONV_ALGO_SEARCHES)[number];

/** What a plan decides for every ONNX Runtime model it loads. */
export interface OrtSettings {
  policy: MemoryPolicy;
  cudnnConvAlgoSearch: CudnnConvAlgoSearch;
  /**
   * Run the specs' TensorRT accelerators (the profile's `tensorrt`). Off: ONNX Runtime's CUDA
   * provider runs every branch and no engine memory is held.
   */
  tensorrt: boolean;
}

/** For a repository written without a profile: the settings that are safe on any card. */
export const DEFAULT_ORT_SETTINGS: OrtSettings = { policy: "serial", cudnnConvAlgoSearch: "heuristic", tensorrt: false };

export const ARENA_SHRINKAGE = "memory.enable_memory_arena_shrinkage";
export const ARENA_EXTEND_STRATEGY = "arena_extend_strategy";
export const CUDNN_CONV_ALGO_SEARCH = "cudnn_conv_algo_search";
/** The config parameters the plan owns: a spec may not set them to something else. */
export const PLAN_PARAMETERS = [ARENA_SHRINKAGE, ARENA_EXTEND_STRATEGY, CUDNN_CONV_ALGO_SEARCH] as const;

/** Shrink the arena of the pod's one GPU (inside the container it is always device 0). */
const SHRINK_GPU0 = "gpu:0";
const ORT_CUDNN = ["EXHAUSTIVE", "HEURISTIC", "DEFAULT"] as const;
const ORT_ARENA = ["kNextPowerOfTwo", "kSameAsRequested"] as const;
export type OrtCudnnSearch = (typeof ORT_CUDNN)[number];
export type OrtArenaExtendStrategy = (typeof ORT_ARENA)[number];

const MIB = 1024 * 1024;

/**
 * The top-level config `parameters` of a policy, as Triton's backend spells them. Both policies grow
 * the arena by exactly what is requested (kSameAsRequested): the default, next power of two, can hold
 * up to twice a model's peak, which neither formula counts.
 */
export function ortParameters(s: OrtSettings): Record<string, string> {
  return {
    [ARENA_EXTEND_STRATEGY]: "1",
    [CUDNN_CONV_ALGO_SEARCH]: String(CUDNN_CONV_ALGO_SEARCHES.indexOf(s.cudnnConvAlgoSearch)),
    ...(s.policy === "serial" ? { [ARENA_SHRINKAGE]: SHRINK_GPU0 } : {}),
  };
}

/** The global rate-limiter resource that serializes GPU runs under the serial policy (one copy on the server). */
export const GPU_SERIAL_RESOURCE = "gpu_serial";

/**
 * The instance group of an ONNX Runtime model on the GPU: under serial, every instance holds the one
 * copy of the global gpu_serial resource while it runs, so Triton runs one GPU model at a time.
 */
export function gpuInstanceGroup(policy: MemoryPolicy, count: number): ModelInstanceGroup {
  return {
    count,
    kind: "KIND_GPU",
    ...(policy === "serial" ? { rate_limiter: { resources: [{ name: GPU_SERIAL_RESOURCE, global: true, count: 1 }] } } : {}),
  };
}

/**
 * The tritonserver side of the serial policy: rate limiting on, and a pool of exactly one
 * gpu_serial (the default pool would be the largest count any instance asks for, also 1; written out
 * so a config asking for more fails to load instead of widening the pool). Undefined under resident.
 */
export function serialRateLimiter(policy: MemoryPolicy): { resource: string; args: string[] } | undefined {
  if (policy !== "serial") return undefined;
  return { resource: GPU_SERIAL_RESOURCE, args: ["--rate-limit=execution_count", `--rate-limit-resource=${GPU_SERIAL_RESOURCE}:1`] };
}

/** One warm-up sample: zeros of every input's exact type and shape, run once while loading. */
export function zeroWarmup(inputs: readonly ModelInput[]): ModelWarmup {
  const entries = inputs.map((i): [string, ModelWarmupInput] => [i.name ?? "", { data_type: i.data_type ?? "TYPE_INVALID", dims: [...(i.dims ?? [])], zero_data: true }]);
  return { name: "zero_data_at_contract_shapes", batch_size: 1, inputs: Object.fromEntries(entries), count: 1 };
}

export interface TensorRtSettings {
  precision: "FP16" | "FP32";
  workspaceMiB: number;
  /** Where engines are kept between starts (a persistent volume in the stacks). */
  engineCachePath: string;
}

/** The `tensorrt` gpu_execution_accelerator entry. */
export function tensorRtAccelerator(t: TensorRtSettings): Accelerator {
  return {
    name: "tensorrt",
    parameters: {
      max_workspace_size_bytes: String(t.workspaceMiB * MIB),
      precision_mode: t.precision,
      trt_context_memory_sharing_enable: "1",
      trt_engine_cache_enable: "1",
      trt_engine_cache_path: t.engineCachePath,
    },
  };
}

/** GPU memory semantics of one ONNX Runtime model, as Triton 24.08 would run its config. */
export interface OrtMemorySemantics {
  /** Instances on the GPU (KIND_GPU or KIND_AUTO groups), each with its own session and arena. */
  gpuInstances: number;
  /** The GPU arena gives back after each run (resident while idle, resident + peak while running). */
  arenaShrinkage: boolean;
  arenaExtendStrategy: OrtArenaExtendStrategy;
  cudnnConvAlgoSearch: OrtCudnnSearch;
  /** Runs made while loading (0: none; search and arena growth then happen on live traffic). */
  warmupRuns: number;
  /**
   * Every GPU instance group holds the global gpu_serial resource (count 1): with tritonserver's
   * --rate-limit=execution_count and a pool of one, no other GPU model runs while this one does.
   */
  gpuSerial: boolean;
  tensorrt?: {
    precision: "FP32" | "FP16" | "INT8";
    workspaceMiB: number;
    /**
     * One context-memory block for all the session's engines, sized to the largest (sharing on), or
     * one per engine (off). Either way it is held while the session lives, never given back per run.
     */
    contextMemoryShared: boolean;
    engineCache: boolean;
    engineCachePath?: string;
  };
  /** What the backend would refuse at load, one sentence each (empty when it loads). */
  problems: string[];
}

/** TensorRT accelerator keys the r24.08 backend accepts (onnxruntime.cc); any other refuses the load. */
const TRT_KEYS = new Set([
  "precision_mode", "max_workspace_size_bytes", "trt_max_partition_iterations", "trt_min_subgraph_size", "int8_calibration_table_name",
  "int8_use_native_calibration_table", "trt_dla_enable", "trt_dla_core", "trt_engine_cache_enable", "trt_engine_cache_path",
  "trt_engine_cache_prefix", "trt_dump_subgraphs", "trt_force_sequential_engine_build", "trt_context_memory_sharing_enable",
  "trt_layer_norm_fp32_fallback", "trt_timing_cache_enable", "trt_timing_cache_path", "trt_force_timing_cache", "trt_detailed_build_log",
  "trt_build_heuristics_enable", "trt_sparsity_enable", "trt_builder_optimization_level", "trt_auxiliary_streams", "trt_tactic_sources",
  "trt_extra_plugin_lib_paths", "trt_profile_min_shapes", "trt_profile_max_shapes", "trt_profile_opt_shapes", "trt_cuda_graph_enable",
  "trt_dump_ep_context_model", "trt_ep_context_file_path", "trt_ep_context_embed_mode",
]);
/** TensorRT's workspace when max_workspace_size_bytes is not given (onnxruntime_backend README, r24.08). */
const TRT_DEFAULT_WORKSPACE_MIB = 1024;

/** Triton's backend booleans (backend src/backend_common.cc ParseBoolValue): true/on/1, false/off/0, any case. */
function parseBool(v: string): boolean | undefined {
  const s = v.toLowerCase();
  if (s === "true" || s === "on" || s === "1") return true;
  if (s === "false" || s === "off" || s === "0") return false;
  return undefined;
}

/** std::stoi/stoull as the backend uses them: leading spaces, a sign, digits; the rest is ignored. */
function leadingInteger(v: string): number | undefined {
  const m = /^\s*([+-]?\d+)/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** From a parsed config (any ONNX Runtime model): what Triton 24.08 does with its GPU memory. */
export function ortMemorySemantics(cfg: ModelConfig): OrtMemorySemantics {
  const problems: string[] = [];
  const params = cfg.parameters;
  const param = (k: string) => params?.[k]?.string_value;

  const gpuGroups = (cfg.instance_group ?? []).filter((g) => (g.kind ?? "KIND_AUTO") === "KIND_GPU" || (g.kind ?? "KIND_AUTO") === "KIND_AUTO");
  const gpuInstances = (cfg.instance_group?.length ?? 0) === 0 ? 1 : gpuGroups.reduce((s, g) => s + (g.count || 1), 0);
  const holdsSerial = (g: ModelInstanceGroup) => (g.rate_limiter?.resources ?? []).some((r) => r.name === GPU_SERIAL_RESOURCE && r.global === true && r.count === 1);
  const gpuSerial = gpuGroups.length > 0 && gpuGroups.every(holdsSerial);

  // CUDA EP options: first any `cuda` accelerator, then (overwriting) the top-level parameters.
  let cudnn: OrtCudnnSearch = "EXHAUSTIVE";
  let arena: OrtArenaExtendStrategy = "kNextPowerOfTwo";
  let tensorrt: OrtMemorySemantics["tensorrt"];
  for (const a of cfg.optimization?.execution_accelerators?.gpu_execution_accelerator ?? []) {
    const p = a.parameters ?? {};
    if (a.name === "cuda") {
      const c = p[CUDNN_CONV_ALGO_SEARCH];
      if (c !== undefined && (ORT_CUDNN as readonly string[]).includes(c)) cudnn = c as OrtCudnnSearch;
      const e = p[ARENA_EXTEND_STRATEGY];
      if (e !== undefined && (ORT_ARENA as readonly string[]).includes(e)) arena = e as OrtArenaExtendStrategy;
    } else if (a.name === "tensorrt") {
      tensorrt = tensorRtOf(p, problems);
    } else {
      problems.push(`unknown Execution Accelerator '${a.name ?? ""}' is requested`);
    }
  }
  if (params && Object.keys(params).length > 0) {
    cudnn = ORT_CUDNN[numericChoice(param(CUDNN_CONV_ALGO_SEARCH), CUDNN_CONV_ALGO_SEARCH, ORT_CUDNN.length, problems)] ?? "EXHAUSTIVE";
    arena = ORT_ARENA[numericChoice(param(ARENA_EXTEND_STRATEGY), ARENA_EXTEND_STRATEGY, ORT_ARENA.length, problems)] ?? "kNextPowerOfTwo";
  }

  // ORT's run-option format: "cpu:0;gpu:0" lists the arenas to shrink.
  const shrink = param(ARENA_SHRINKAGE) ?? "";
  const arenaShrinkage = shrink.split(";").some((d) => /^gpu:\d+$/.test(d.trim()));

  let warmupRuns = 0;
  for (const [i, w] of (cfg.model_warmup ?? []).entries()) {
    if (!w.batch_size) continue; // Triton skips batch-0 samples
    warmupRuns += Math.max(w.count ?? 0, 1);
    problems.push(...warmupProblems(cfg, w, i));
  }

  return { gpuInstances, arenaShrinkage, arenaExtendStrategy: arena, cudnnConvAlgoSearch: cudnn, warmupRuns, gpuSerial, ...(tensorrt ? { tensorrt } : {}), problems };
}

/** "0".."n-1" as the backend parses it; absent reads as 0; anything else is a refused load. */
function numericChoice(v: string | undefined, key: string, n: number, problems: string[]): number {
  if (v === undefined) return 0;
  const k = leadingInteger(v);
  if (k !== undefined && k >= 0 && k < n) return k;
  problems.push(`unsupported ${key} value '${v}' is requested (expected 0..${n - 1})`);
  return 0;
}

function tensorRtOf(p: Record<string, string>, problems: string[]): NonNullable<OrtMemorySemantics["tensorrt"]> {
  for (const k of Object.keys(p)) if (!TRT_KEYS.has(k)) problems.push(`unknown parameter '${k}' is provided for TensorRT Execution Accelerator`);
  const mode = p.precision_mode ?? "FP32";
  let precision: "FP32" | "FP16" | "INT8" = "FP32";
  if (mode === "FP16" || mode === "INT8" || mode === "FP32") precision = mode;
  else problems.push(`unsupported precision mode '${mode}' is requested`);
  let workspaceMiB = TRT_DEFAULT_WORKSPACE_MIB;
  const ws = p.max_workspace_size_bytes;
  if (ws !== undefined) {
    const bytes = leadingInteger(ws);
    if (bytes !== undefined && bytes >= 0) workspaceMiB = bytes / MIB;
    else problems.push(`max_workspace_size_bytes '${ws}' is not an unsigned integer`);
  }
  const flag = (key: string): boolean => {
    const v = p[key];
    if (v === undefined) return false;
    const b = parseBool(v);
    if (b === undefined) problems.push(`failed to convert ${key} '${v}' to boolean`);
    return b ?? false;
  };
  const contextMemoryShared = flag("trt_context_memory_sharing_enable");
  const engineCache = flag("trt_engine_cache_enable");
  return { precision, workspaceMiB, contextMemoryShared, engineCache, ...(p.trt_engine_cache_path !== undefined ? { engineCachePath: p.trt_engine_cache_path } : {}) };
}

/** A warm-up sample must give every required input with its exact type and shape (fixed shapes here). */
function warmupProblems(cfg: ModelConfig, w: ModelWarmup, index: number): string[] {
  const out: string[] = [];
  const at = `model_warmup[${index}]${w.name ? ` '${w.name}'` : ""}`;
  const given = w.inputs ?? {};
  const batched = (cfg.max_batch_size ?? 0) > 0;
  for (const input of cfg.input ?? []) {
    const g = given[input.name ?? ""];
    if (!g) {
      if (!input.optional) out.push(`${at} gives no data for input '${input.name}'`);
      continue;
    }
    if (g.zero_data === undefined && g.random_data === undefined && g.input_data_file === undefined) out.push(`${at} input '${input.name}' has no input_data_type set`);
    if ((g.data_type ?? "TYPE_INVALID") !== (input.data_type ?? "TYPE_INVALID")) out.push(`${at} input '${input.name}' is ${g.data_type ?? "TYPE_INVALID"}, the model takes ${input.data_type}`);
    const want = input.dims ?? [];
    const dims = g.dims ?? [];
    const mismatch = dims.length !== want.length || dims.some((d, i) => d < 0 || (want[i]! >= 0 && want[i] !== d));
    if (mismatch) out.push(`${at} input '${input.name}' has dims [${dims.join(", ")}], the model takes [${want.join(", ")}]${batched ? " (without the batch dimension)" : ""}`);
  }
  for (const name of Object.keys(given)) if (!(cfg.input ?? []).some((i) => i.name === name)) out.push(`${at} gives data for '${name}', which is not an input of the model`);
  return out;
}

/** What the plan counted for one model, to hold its config against. */
export interface PlannedOrtModel {
  settings: OrtSettings;
  /** The TensorRT accelerator the plan counted (its context memory, at the workspace size, is in the model's resident), if any. */
  tensorrt?: { precision: "FP16" | "FP32"; workspaceMiB: number; engineCachePath: string };
}

/** One way a config would make the plan's arithmetic false on Triton. */
export interface Contradiction {
  /** The config parameter or field at fault, e.g. `parameters["arena_extend_strategy"]`. */
  field: string;
  /** The top-level parameter a spec's triton.parameters could have set, where the fault is one. */
  parameter?: string;
  message: string;
}

/** Where `cfg` (as Triton reads it) contradicts what the plan assumed; empty when it agrees. */
export function planContradictions(cfg: ModelConfig, planned: PlannedOrtModel): Contradiction[] {
  const s = ortMemorySemantics(cfg);
  const out: Contradiction[] = s.problems.map((message) => ({ field: "config.pbtxt", message: `Triton would refuse to load it: ${message}` }));
  const policy = planned.settings.policy;
  const p = (k: string) => `parameters["${k}"]`;
  if (policy === "serial" && !s.arenaShrinkage) {
    out.push({ field: p(ARENA_SHRINKAGE), parameter: ARENA_SHRINKAGE, message: `the GPU arena would keep every peak, but the serial plan counts sum(resident) + max(peak): ${ARENA_SHRINKAGE} must be "${SHRINK_GPU0}"` });
  }
  if (policy === "resident" && s.arenaShrinkage) {
    out.push({ field: p(ARENA_SHRINKAGE), parameter: ARENA_SHRINKAGE, message: `the resident plan keeps arenas at their peak (no shrinkage); ${ARENA_SHRINKAGE} would shrink them on every request` });
  }
  if (s.arenaExtendStrategy !== "kSameAsRequested") {
    out.push({ field: p(ARENA_EXTEND_STRATEGY), parameter: ARENA_EXTEND_STRATEGY, message: `the arena would grow by ${s.arenaExtendStrategy} (up to twice what a run asks for), beyond the plan's peak: ${ARENA_EXTEND_STRATEGY} must be "1"` });
  }
  const cudnn = ORT_CUDNN[CUDNN_CONV_ALGO_SEARCHES.indexOf(planned.settings.cudnnConvAlgoSearch)];
  if (s.cudnnConvAlgoSearch !== cudnn) {
    out.push({ field: p(CUDNN_CONV_ALGO_SEARCH), parameter: CUDNN_CONV_ALGO_SEARCH, message: `cuDNN would search ${s.cudnnConvAlgoSearch}, but the profile chose ${cudnn}` });
  }
  if (s.warmupRuns === 0) out.push({ field: "model_warmup", message: "no warm-up: cuDNN's search and the arena's growth would happen on live traffic, not while loading" });
  if (policy === "serial" && !s.gpuSerial) {
    out.push({ field: "instance_group.rate_limiter", message: `Triton would run this model while other models run (one thread per instance), adding their peaks, but the serial plan counts one peak at a time: every GPU instance group must hold the global '${GPU_SERIAL_RESOURCE}' rate-limiter resource (count 1)` });
  }
  if (s.gpuInstances !== 1) out.push({ field: "instance_group", message: `${s.gpuInstances} GPU instances each hold their own session and arena and can run at once, but the plan counts one` });
  const want = planned.tensorrt;
  const got = s.tensorrt;
  if (want && !got) out.push({ field: "optimization.execution_accelerators", message: `the plan counted a TensorRT ${want.precision} workspace of ${want.workspaceMiB} MiB, but the config runs without TensorRT` });
  if (!want && got) out.push({ field: "optimization.execution_accelerators", message: `TensorRT's context memory (up to its ${got.workspaceMiB} MiB workspace, held while loaded) is not in the plan: the profile runs without TensorRT` });
  if (want && got && (got.workspaceMiB !== want.workspaceMiB || got.precision !== want.precision)) {
    out.push({ field: "optimization.execution_accelerators", message: `TensorRT ${got.precision} with ${got.workspaceMiB} MiB, but the plan counted ${want.precision} with ${want.workspaceMiB} MiB` });
  }
  if (want && got && got.engineCachePath !== want.engineCachePath) {
    out.push({ field: "optimization.execution_accelerators", message: `trt_engine_cache_path ${got.engineCachePath === undefined ? "is not set" : `'${got.engineCachePath}'`}, but the plan keys the engine cache by the export's content: '${want.engineCachePath}' (an engine built from another export would be served)` });
  }
  if (got && !got.contextMemoryShared) {
    out.push({ field: "optimization.execution_accelerators", message: "without trt_context_memory_sharing_enable every TensorRT engine of the model holds its own context memory, but the plan counts one block (the largest engine's, as sharing gives)" });
  }
  return out;
}
