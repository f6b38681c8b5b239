// The model-spec schema: one zod schema is the TypeScript type, the validator and (through
// z.toJSONSchema) the editor schema. Cross-field rules that need the whole file live in catalog.ts.
import { z } from "zod";
import { DTYPES } from "../dtype.ts";
import { MODEL_NAME_PATTERN, TENSOR_NAME_PATTERN } from "../names.ts";

const modelName = z
  .string()
  .regex(MODEL_NAME_PATTERN, {
    message: "a model name may hold letters, digits, '_', '-' and '.', must start with a letter or digit, and may not contain '..'",
  })
  .refine((s) => !s.includes(".."), { message: "a model name may not contain '..'" })
  .meta({ description: "A Triton model name: also a directory name in the repository." });

const tensorName = z
  .string()
  .regex(TENSOR_NAME_PATTERN, { message: "a tensor name must be non-empty and hold no whitespace, quotes or backslashes" });

const dim = z.number().int().positive({ message: "dims are fixed: every dimension must be a positive integer (no -1, no dynamic axes)" });

export const TensorSpecSchema = z
  .strictObject({
    name: tensorName,
    dtype: z.enum(DTYPES).meta({ description: "KServe v2 dtype name: UINT8, INT64, FP32, …" }),
    dims: z.array(dim).min(1).meta({ description: "Fixed shape including the batch dimension (max_batch_size is 0)." }),
  })
  .meta({ description: "A tensor with a fixed shape." });
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

export const ContractTensorSchema = TensorSpecSchema.extend({
  onnx: tensorName.optional().meta({
    description: "The ONNX tensor this ensemble tensor feeds (inputs) or comes from (outputs). Default: the one at the same position.",
  }),
});
export type ContractTensor = z.infer<typeof ContractTensorSchema>;

const channelTriple = z.tuple([z.number(), z.number(), z.number()]);

/** Server-side image normalization: y = (x / divisor - mean[c]) / std[c], NHWC UINT8 → NCHW FP32. */
export const NormalizePreprocessSchema = z.strictObject({
  kind: z.literal("normalize"),
  divisor: z.number().positive().default(255),
  mean: channelTriple,
  std: channelTriple.refine((s) => s.every((v) => v !== 0), { message: "std values must be non-zero" }),
});

/** The caller letterboxes (no upscaling) and normalizes; the server model takes FP32 NCHW directly. */
export const ClientLetterboxPreprocessSchema = z.strictObject({
  kind: z.literal("client-letterbox"),
  divisor: z.number().positive().default(255),
  pad: z.number().int().min(0).max(255).default(114),
});

export const NoPreprocessSchema = z.strictObject({ kind: z.literal("none") });

export const PreprocessSchema = z.discriminatedUnion("kind", [
  NormalizePreprocessSchema,
  ClientLetterboxPreprocessSchema,
  NoPreprocessSchema,
]);
export type Preprocess = z.infer<typeof PreprocessSchema>;
export type NormalizePreprocess = z.infer<typeof NormalizePreprocessSchema>;

export const MemorySchema = z
  .strictObject({
    residentMiB: z.number().nonnegative().meta({ description: "VRAM held while the ONNX model is loaded (weights, arena)." }),
    peakMiB: z.number().nonnegative().meta({ description: "Extra VRAM while one inference runs." }),
    source: z.string().min(1).meta({ description: "Where the numbers come from (estimate, measurement, run id)." }),
  })
  .meta({ description: "VRAM estimates of the branch's ONNX model; preprocess steps and ensembles run on the CPU." });
export type Memory = z.infer<typeof MemorySchema>;

/**
 * TensorRT through ONNX Runtime's TensorRT execution provider (CUDA stays the fallback for nodes
 * TensorRT does not take), where a profile runs it (profile `tensorrt: true`). Engines are built on
 * the first start and kept in the engine cache.
 */
export const TensorRtAcceleratorSchema = z
  .strictObject({
    kind: z.literal("tensorrt"),
    precision: z.enum(["FP16", "FP32"]).meta({ description: "FP16 where the network tolerates it; FP32 keeps full precision (RAFT: fp16 is unstable on grid_sample, seed 003)." }),
    workspaceMiB: z.number().int().positive().max(65536).meta({ description: "TensorRT's workspace (max_workspace_size_bytes). The plan counts the engine's execution-context memory at this size as resident: ONNX Runtime holds it while the model is loaded." }),
  })
  .meta({ description: "Where TensorRT is safe for the branch's ONNX model; used when the profile sets tensorrt: true." });
export type TensorRtAccelerator = z.infer<typeof TensorRtAcceleratorSchema>;

export const BranchSchema = z.strictObject({
  name: modelName.meta({ description: "Branch name, e.g. midas_256; the ensemble (or the single model) takes this name." }),
  size: z.number().int().positive().meta({ description: "Input side S of this fixed-shape branch." }),
  variant: z
    .string()
    .regex(/^[A-Za-z0-9_]+$/)
    .optional()
    .meta({ description: "Complexity variant (second axis), e.g. yolo11x or yolo11l. Default: the family's defaultVariant." }),
  status: z.enum(["ready", "planned"]).default("ready"),
  serving: z
    .enum(["ensemble", "direct"])
    .default("ensemble")
    .meta({ description: "ensemble: callers use an ensemble over the ONNX model; direct: the ONNX model is called as is." }),
  onnx: z.strictObject({
    file: z.string().min(1).meta({ description: "ONNX file, relative to the ONNX root (models/optimized)." }),
    inputs: z.array(TensorSpecSchema).min(1),
    outputs: z.array(TensorSpecSchema).min(1),
  }),
  contract: z
    .strictObject({
      inputs: z.array(ContractTensorSchema).min(1),
      outputs: z.array(ContractTensorSchema).min(1),
    })
    .optional()
    .meta({ description: "External (ensemble) tensors. Required when serving is ensemble; direct models expose the ONNX tensors." }),
  preprocess: PreprocessSchema.default({ kind: "none" }),
  memory: MemorySchema,
  accelerator: TensorRtAcceleratorSchema.optional().meta({ description: "Optional GPU accelerator for the ONNX model, used on profiles with tensorrt: true; otherwise ONNX Runtime's CUDA provider runs it." }),
  names: z
    .strictObject({ ensemble: modelName.optional(), onnx: modelName.optional(), preprocess: modelName.optional() })
    .optional()
    .meta({ description: "Model names where they differ from the rule <branch>, <branch>_onnx, preprocess_<branch>." }),
  triton: z
    .strictObject({
      parameters: z.record(z.string(), z.string()).optional().meta({
        description: "ONNX Runtime backend parameters. The plan owns memory.enable_memory_arena_shrinkage, arena_extend_strategy and cudnn_conv_algo_search; synth-repo refuses other values for them.",
      }),
      instanceCount: z.number().int().positive().optional(),
    })
    .optional(),
});
export type Branch = z.infer<typeof BranchSchema>;

export const RoutingSchema = z
  .discriminatedUnion("rule", [
    z.strictObject({
      rule: z.literal("tiers"),
      upTo: z.array(z.number().int().positive()).min(1).meta({
        description: "Ascending upper bounds of max(width, height): tier i takes metric <= upTo[i], the last tier the rest. Branches are the tiers in size order.",
      }),
    }),
    z.strictObject({
      rule: z.literal("no-upscale"),
    }).meta({ description: "The largest branch not larger than max(width, height), else the smallest (letterbox, never upscale)." }),
  ])
  .meta({ description: "How a video's resolution picks this family's branch. Default: tiers with upTo [320, 448]." });
export type Routing = z.infer<typeof RoutingSchema>;

export const FamilySchema = z.strictObject({
  $schema: z.string().optional(),
  family: modelName.meta({ description: "Family name, e.g. midas; the key of resolved_model_mapping." }),
  component: z.string().regex(/^[a-z0-9_]+$/).meta({ description: "The pipeline component, e.g. core_depth_midas." }),
  description: z.string().optional(),
  anchors: z
    .record(z.string(), z.unknown())
    .optional()
    .meta({ description: "A place to define YAML anchors (&name) that branches reuse (*name); not read otherwise." }),
  defaultVariant: z.string().optional().meta({ description: "The complexity variant routing uses by default." }),
  routing: RoutingSchema.optional(),
  branches: z.array(BranchSchema).min(1),
});
export type FamilyInput = z.input<typeof FamilySchema>;
export type Family = z.infer<typeof FamilySchema>;
