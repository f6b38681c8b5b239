// The subset of Triton's model_config.proto (package `inference`) that triton-deploy reads and writes.
// Field and enum numbers were checked against triton-inference-server/common protobuf/model_config.proto
// (commit 83adf7cf, 2026-07); fields are listed in that file's declaration order, which is the order
// Triton's own printers use. Real fields we do not model are listed as `unsupportedField` so a user who
// writes them learns that, and so the /config JSON carries their defaults as Triton's does.

import { DTYPES, dtypeInfo } from "../dtype.ts";
import {
  enumField,
  enumType,
  mapField,
  message,
  messageField,
  scalarField,
  unsupportedField,
  type EnumDescriptor,
} from "./descriptor.ts";

/** DataType comes from the one dtype table (src/dtype.ts), plus the TYPE_INVALID default. */
export const DATA_TYPE: EnumDescriptor = enumType("inference.DataType", [
  ["TYPE_INVALID", 0],
  ...DTYPES.map((d) => [dtypeInfo(d).triton, dtypeInfo(d).tritonNumber] as const).sort((a, b) => a[1] - b[1]),
]);

export const INSTANCE_KIND = enumType("inference.ModelInstanceGroup.Kind", [
  ["KIND_AUTO", 0],
  ["KIND_GPU", 1],
  ["KIND_CPU", 2],
  ["KIND_MODEL", 3],
]);

export const INPUT_FORMAT = enumType("inference.ModelInput.Format", [
  ["FORMAT_NONE", 0],
  ["FORMAT_NHWC", 1],
  ["FORMAT_NCHW", 2],
]);

export const MODEL_PRIORITY = enumType("inference.ModelOptimizationPolicy.ModelPriority", [
  ["PRIORITY_DEFAULT", 0],
  ["PRIORITY_MAX", 1],
  ["PRIORITY_MIN", 2],
]);

export const TENSOR_RESHAPE = message("inference.ModelTensorReshape", [scalarField("shape", 1, "int64", { repeated: true })]);

export const MODEL_INPUT = message("inference.ModelInput", [
  scalarField("name", 1, "string"),
  enumField("data_type", 2, DATA_TYPE),
  enumField("format", 3, INPUT_FORMAT),
  scalarField("dims", 4, "int64", { repeated: true }),
  messageField("reshape", 5, TENSOR_RESHAPE),
  scalarField("is_shape_tensor", 6, "bool"),
  scalarField("allow_ragged_batch", 7, "bool"),
  scalarField("optional", 8, "bool"),
  scalarField("is_non_linear_format_io", 9, "bool"),
]);

export const MODEL_OUTPUT = message("inference.ModelOutput", [
  scalarField("name", 1, "string"),
  enumField("data_type", 2, DATA_TYPE),
  scalarField("dims", 3, "int64", { repeated: true }),
  messageField("reshape", 5, TENSOR_RESHAPE),
  scalarField("label_filename", 4, "string"),
  scalarField("is_shape_tensor", 6, "bool"),
  scalarField("is_non_linear_format_io", 7, "bool"),
]);

export const VERSION_POLICY = message("inference.ModelVersionPolicy", [
  messageField("latest", 1, message("inference.ModelVersionPolicy.Latest", [scalarField("num_versions", 1, "uint32")]), {
    oneof: "policy_choice",
  }),
  messageField("all", 2, message("inference.ModelVersionPolicy.All", []), { oneof: "policy_choice" }),
  messageField("specific", 3, message("inference.ModelVersionPolicy.Specific", [scalarField("versions", 1, "int64", { repeated: true })]), {
    oneof: "policy_choice",
  }),
]);

/** Resources an instance must hold to run, and its priority (Triton's rate limiter, `--rate-limit`). */
export const RATE_LIMITER_RESOURCE = message("inference.ModelRateLimiter.Resource", [
  scalarField("name", 1, "string"),
  scalarField("global", 2, "bool"),
  scalarField("count", 3, "uint32"),
]);

export const RATE_LIMITER = message("inference.ModelRateLimiter", [
  messageField("resources", 1, RATE_LIMITER_RESOURCE, { repeated: true }),
  scalarField("priority", 2, "uint32"),
]);

export const INSTANCE_GROUP = message("inference.ModelInstanceGroup", [
  scalarField("name", 1, "string"),
  enumField("kind", 4, INSTANCE_KIND),
  scalarField("count", 2, "int32"),
  messageField("rate_limiter", 6, RATE_LIMITER),
  scalarField("gpus", 3, "int32", { repeated: true }),
  unsupportedField("secondary_devices", 8, "[]"),
  scalarField("profile", 5, "string", { repeated: true }),
  scalarField("passive", 7, "bool"),
  scalarField("host_policy", 9, "string"),
]);

const PINNED_MEMORY = message("inference.ModelOptimizationPolicy.PinnedMemoryBuffer", [scalarField("enable", 1, "bool")]);

export const ACCELERATOR = message("inference.ModelOptimizationPolicy.ExecutionAccelerators.Accelerator", [
  scalarField("name", 1, "string"),
  // A plain map<string, string> here, unlike ModelConfig.parameters which wraps values in ModelParameter.
  mapField("parameters", 2, { kind: "scalar", scalar: "string" }),
]);

export const OPTIMIZATION = message("inference.ModelOptimizationPolicy", [
  messageField("graph", 1, message("inference.ModelOptimizationPolicy.Graph", [scalarField("level", 1, "int32")])),
  enumField("priority", 2, MODEL_PRIORITY),
  messageField(
    "cuda",
    3,
    message("inference.ModelOptimizationPolicy.Cuda", [
      scalarField("graphs", 1, "bool"),
      scalarField("busy_wait_events", 2, "bool"),
      unsupportedField("graph_spec", 3, "[]"),
      scalarField("output_copy_stream", 4, "bool"),
    ]),
  ),
  messageField(
    "execution_accelerators",
    4,
    message("inference.ModelOptimizationPolicy.ExecutionAccelerators", [
      messageField("gpu_execution_accelerator", 1, ACCELERATOR, { repeated: true }),
      messageField("cpu_execution_accelerator", 2, ACCELERATOR, { repeated: true }),
    ]),
  ),
  messageField("input_pinned_memory", 5, PINNED_MEMORY),
  messageField("output_pinned_memory", 6, PINNED_MEMORY),
  scalarField("gather_kernel_buffer_threshold", 7, "uint32"),
  scalarField("eager_batching", 8, "bool"),
]);

export const DYNAMIC_BATCHING = message("inference.ModelDynamicBatching", [
  scalarField("preferred_batch_size", 1, "int32", { repeated: true }),
  scalarField("max_queue_delay_microseconds", 2, "uint64"),
  scalarField("preserve_ordering", 3, "bool"),
  scalarField("priority_levels", 4, "uint64"),
  scalarField("default_priority_level", 5, "uint64"),
  unsupportedField("default_queue_policy", 6),
  unsupportedField("priority_queue_policy", 7, "{}"),
]);

export const ENSEMBLE_STEP = message("inference.ModelEnsembling.Step", [
  scalarField("model_name", 1, "string"),
  scalarField("model_version", 2, "int64"),
  mapField("input_map", 3, { kind: "scalar", scalar: "string" }),
  mapField("output_map", 4, { kind: "scalar", scalar: "string" }),
  scalarField("model_namespace", 5, "string"),
]);

export const ENSEMBLING = message("inference.ModelEnsembling", [
  messageField("step", 1, ENSEMBLE_STEP, { repeated: true }),
  scalarField("max_inflight_requests", 2, "uint32"),
]);

export const MODEL_PARAMETER = message("inference.ModelParameter", [scalarField("string_value", 1, "string")]);

export const WARMUP_INPUT = message("inference.ModelWarmup.Input", [
  enumField("data_type", 1, DATA_TYPE),
  scalarField("dims", 2, "int64", { repeated: true }),
  scalarField("zero_data", 3, "bool", { oneof: "input_data_type" }),
  scalarField("random_data", 4, "bool", { oneof: "input_data_type" }),
  scalarField("input_data_file", 5, "string", { oneof: "input_data_type" }),
]);

export const MODEL_WARMUP = message("inference.ModelWarmup", [
  scalarField("name", 1, "string"),
  scalarField("batch_size", 2, "uint32"),
  mapField("inputs", 3, { kind: "message", message: WARMUP_INPUT }),
  scalarField("count", 4, "uint32"),
]);

export const RESPONSE_CACHE = message("inference.ModelResponseCache", [scalarField("enable", 1, "bool")]);

export const MODEL_CONFIG = message("inference.ModelConfig", [
  scalarField("name", 1, "string"),
  scalarField("platform", 2, "string"),
  scalarField("backend", 17, "string"),
  scalarField("runtime", 25, "string"),
  messageField("version_policy", 3, VERSION_POLICY),
  scalarField("max_batch_size", 4, "int32"),
  messageField("input", 5, MODEL_INPUT, { repeated: true }),
  messageField("output", 6, MODEL_OUTPUT, { repeated: true }),
  unsupportedField("batch_input", 20, "[]"),
  unsupportedField("batch_output", 21, "[]"),
  messageField("optimization", 12, OPTIMIZATION),
  messageField("dynamic_batching", 11, DYNAMIC_BATCHING, { oneof: "scheduling_choice" }),
  unsupportedField("sequence_batching", 13),
  messageField("ensemble_scheduling", 15, ENSEMBLING, { oneof: "scheduling_choice" }),
  messageField("instance_group", 7, INSTANCE_GROUP, { repeated: true }),
  scalarField("default_model_filename", 8, "string"),
  unsupportedField("cc_model_filenames", 9, "{}"),
  unsupportedField("metric_tags", 10, "{}"),
  mapField("parameters", 14, { kind: "message", message: MODEL_PARAMETER }),
  messageField("model_warmup", 16, MODEL_WARMUP, { repeated: true }),
  unsupportedField("model_operations", 18),
  unsupportedField("model_transaction_policy", 19),
  unsupportedField("model_repository_agents", 23),
  messageField("response_cache", 24, RESPONSE_CACHE),
  unsupportedField("model_metrics", 26),
]);
