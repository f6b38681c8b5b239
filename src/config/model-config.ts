// Typed Triton model configuration: the subset of `inference.ModelConfig` triton-deploy writes into
// config.pbtxt. Field names are Triton's own (snake_case, as in model_config.proto) and enum values
// their identifier strings, so an object here reads like the pbtxt it becomes. Every field is optional
// because proto3 has no required fields; an unset field reads as its default (0, "", false, first enum).
// The field tables live in model-config-schema.ts; the checks at the bottom keep the two in step.

import { toTritonType, type DType } from "../dtype.ts";
import type { ModeledFieldName } from "./descriptor.ts";
import type * as S from "./model-config-schema.ts";

/** Triton `DataType` identifiers; KServe `BYTES` is Triton's `TYPE_STRING`. */
export type TritonDataType = "TYPE_INVALID" | "TYPE_STRING" | `TYPE_${Exclude<DType, "BYTES">}`;
export type InstanceKind = "KIND_AUTO" | "KIND_GPU" | "KIND_CPU" | "KIND_MODEL";
export type InputFormat = "FORMAT_NONE" | "FORMAT_NHWC" | "FORMAT_NCHW";
export type ModelPriority = "PRIORITY_DEFAULT" | "PRIORITY_MAX" | "PRIORITY_MIN";

/** The Triton data type for a spec dtype, through the one dtype table. */
export function tritonDataType(d: DType): TritonDataType {
  return toTritonType(d) as TritonDataType;
}

export interface TensorReshape {
  shape?: number[];
}

export interface ModelInput {
  name?: string;
  data_type?: TritonDataType;
  /** @default "FORMAT_NONE" */
  format?: InputFormat;
  /** Without the batch dimension when max_batch_size > 0; with it when max_batch_size is 0. -1 = variable. */
  dims?: number[];
  reshape?: TensorReshape;
  is_shape_tensor?: boolean;
  allow_ragged_batch?: boolean;
  /** An optional input need not be sent (nor mapped by an ensemble step). */
  optional?: boolean;
  is_non_linear_format_io?: boolean;
}

export interface ModelOutput {
  name?: string;
  data_type?: TritonDataType;
  dims?: number[];
  reshape?: TensorReshape;
  label_filename?: string;
  is_shape_tensor?: boolean;
  is_non_linear_format_io?: boolean;
}

/** Exactly one of the three (a oneof in Triton). Triton's default is `latest { num_versions: 1 }`. */
export interface ModelVersionPolicy {
  latest?: { num_versions?: number };
  all?: Record<string, never>;
  specific?: { versions?: number[] };
}

/** One rate-limiter resource an instance needs while it runs (`ModelRateLimiter.Resource`). */
export interface RateLimiterResource {
  name?: string;
  /** One pool for the whole server (true) rather than one per device. */
  global?: boolean;
  count?: number;
}

/**
 * What an instance needs from Triton's rate limiter (only with `tritonserver --rate-limit=execution_count`):
 * it runs only while it holds every resource listed; a resource's pool defaults to the largest count any
 * instance asks for (`--rate-limit-resource` overrides it).
 */
export interface ModelRateLimiter {
  resources?: RateLimiterResource[];
  /** 0 or 1: the default weight; 2 gets half the scheduling chances. */
  priority?: number;
}

export interface ModelInstanceGroup {
  name?: string;
  /** @default "KIND_AUTO" (GPU when one is present) */
  kind?: InstanceKind;
  /** Instances per device. @default 1 (Triton fills it in) */
  count?: number;
  rate_limiter?: ModelRateLimiter;
  gpus?: number[];
  profile?: string[];
  passive?: boolean;
  host_policy?: string;
}

/** An execution accelerator, e.g. `{ name: "tensorrt", parameters: { precision_mode: "FP16" } }`. */
export interface Accelerator {
  name?: string;
  /** A plain string map (unlike ModelConfig.parameters). */
  parameters?: Record<string, string>;
}

export interface ModelOptimizationPolicy {
  graph?: { level?: number };
  priority?: ModelPriority;
  cuda?: { graphs?: boolean; busy_wait_events?: boolean; output_copy_stream?: boolean };
  execution_accelerators?: {
    gpu_execution_accelerator?: Accelerator[];
    cpu_execution_accelerator?: Accelerator[];
  };
  input_pinned_memory?: { enable?: boolean };
  output_pinned_memory?: { enable?: boolean };
  gather_kernel_buffer_threshold?: number;
  eager_batching?: boolean;
}

export interface ModelDynamicBatching {
  preferred_batch_size?: number[];
  max_queue_delay_microseconds?: number;
  preserve_ordering?: boolean;
  priority_levels?: number;
  default_priority_level?: number;
}

export interface EnsembleStep {
  model_name?: string;
  /** Version of the step model; -1 (customary) means the latest. */
  model_version?: number;
  /** Step model's input name → ensemble tensor name. */
  input_map?: Record<string, string>;
  /** Step model's output name → ensemble tensor name. */
  output_map?: Record<string, string>;
  /** Reserved by Triton for internal use; leave unset. */
  model_namespace?: string;
}

export interface ModelEnsembling {
  step?: EnsembleStep[];
  max_inflight_requests?: number;
}

export interface ModelParameter {
  string_value?: string;
}

/** Warm-up input; at most one of zero_data, random_data, input_data_file (a oneof). */
export interface ModelWarmupInput {
  data_type?: TritonDataType;
  dims?: number[];
  zero_data?: boolean;
  random_data?: boolean;
  input_data_file?: string;
}

export interface ModelWarmup {
  name?: string;
  batch_size?: number;
  inputs?: Record<string, ModelWarmupInput>;
  count?: number;
}

export interface ModelResponseCache {
  enable?: boolean;
}

/** At most one of dynamic_batching and ensemble_scheduling (Triton's `scheduling_choice` oneof). */
export interface ModelConfig {
  name?: string;
  /** e.g. "onnxruntime_onnx", "ensemble". */
  platform?: string;
  /** e.g. "onnxruntime", "python". */
  backend?: string;
  runtime?: string;
  version_policy?: ModelVersionPolicy;
  /** 0: the model does not batch and `dims` include the batch dimension. */
  max_batch_size?: number;
  input?: ModelInput[];
  output?: ModelOutput[];
  optimization?: ModelOptimizationPolicy;
  dynamic_batching?: ModelDynamicBatching;
  ensemble_scheduling?: ModelEnsembling;
  instance_group?: ModelInstanceGroup[];
  default_model_filename?: string;
  /** Backend parameters, e.g. `{ cudnn_conv_algo_search: { string_value: "1" } }`. */
  parameters?: Record<string, ModelParameter>;
  model_warmup?: ModelWarmup[];
  response_cache?: ModelResponseCache;
}

// Compile-time drift checks: each interface has exactly the fields its descriptor models.
type SameKeys<T, M> = [Exclude<keyof T, ModeledFieldName<M>>, Exclude<ModeledFieldName<M>, keyof T>] extends [never, never]
  ? true
  : { extraInType: Exclude<keyof T, ModeledFieldName<M>>; missingFromType: Exclude<ModeledFieldName<M>, keyof T> };
type Sub<M, K extends string> = M extends { fields: readonly (infer F)[] }
  ? Extract<F, { name: K }> extends { type: { message: infer C } } ? C : Extract<F, { name: K }> extends { type: { value: { message: infer C } } } ? C : never
  : never;
type Assert<T extends true> = T;
export type SchemaDriftChecks = [
  Assert<SameKeys<ModelConfig, typeof S.MODEL_CONFIG>>,
  Assert<SameKeys<ModelInput, typeof S.MODEL_INPUT>>,
  Assert<SameKeys<ModelOutput, typeof S.MODEL_OUTPUT>>,
  Assert<SameKeys<TensorReshape, typeof S.TENSOR_RESHAPE>>,
  Assert<SameKeys<ModelVersionPolicy, typeof S.VERSION_POLICY>>,
  Assert<SameKeys<ModelInstanceGroup, typeof S.INSTANCE_GROUP>>,
  Assert<SameKeys<ModelRateLimiter, typeof S.RATE_LIMITER>>,
  Assert<SameKeys<RateLimiterResource, typeof S.RATE_LIMITER_RESOURCE>>,
  Assert<SameKeys<ModelOptimizationPolicy, typeof S.OPTIMIZATION>>,
  Assert<SameKeys<NonNullable<ModelOptimizationPolicy["cuda"]>, Sub<typeof S.OPTIMIZATION, "cuda">>>,
  Assert<SameKeys<NonNullable<ModelOptimizationPolicy["execution_accelerators"]>, Sub<typeof S.OPTIMIZATION, "execution_accelerators">>>,
  Assert<SameKeys<Accelerator, typeof S.ACCELERATOR>>,
  Assert<SameKeys<ModelDynamicBatching, typeof S.DYNAMIC_BATCHING>>,
  Assert<SameKeys<EnsembleStep, typeof S.ENSEMBLE_STEP>>,
  Assert<SameKeys<ModelEnsembling, typeof S.ENSEMBLING>>,
  Assert<SameKeys<ModelParameter, typeof S.MODEL_PARAMETER>>,
  Assert<SameKeys<ModelWarmupInput, typeof S.WARMUP_INPUT>>,
  Assert<SameKeys<ModelWarmup, typeof S.MODEL_WARMUP>>,
  Assert<SameKeys<ModelResponseCache, typeof S.RESPONSE_CACHE>>,
];
