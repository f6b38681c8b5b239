// The Triton model configs of one branch, as typed objects: the ONNX model, its preprocess step
// (Python backend on the CPU, or an ONNX graph) and the ensemble that chains them under the
// external contract. Every ONNX Runtime model carries the plan's memory policy and cuDNN search as
// parameters, a warm-up at its exact input shapes, under serial the gpu_serial rate-limiter
// resource on its GPU instances and, where the spec asks and the profile runs TensorRT, a TensorRT
// accelerator whose engine cache is keyed by the export's content (src/config/ort-memory.ts and
// src/plan/engine-cache.ts say why). Pure: the same branch, settings and export key always give
// the same configs.
import { tritonDataType, type ModelConfig, type ModelInput, type ModelOutput } from "../config/model-config.ts";
import { gpuInstanceGroup, ortParameters, PLAN_PARAMETERS, planContradictions, tensorRtAccelerator, zeroWarmup, type OrtSettings } from "../config/ort-memory.ts";
import type { Problem } from "../errors.ts";
import { preprocessedTensorName } from "../names.ts";
import { engineCachePath } from "../plan/engine-cache.ts";
import type { CatalogBranch } from "../spec/catalog.ts";
import { contractPairs } from "../spec/rules.ts";
import type { TensorSpec } from "../spec/schema.ts";
import { formatFieldPath } from "../spec/yaml.ts";

export type PreprocessForm = "python" | "onnx";

const input = (t: TensorSpec): ModelInput => ({ name: t.name, data_type: tritonDataType(t.dtype), dims: [...t.dims] });
const output = (t: TensorSpec): ModelOutput => ({ name: t.name, data_type: tritonDataType(t.dtype), dims: [...t.dims] });

/** The preprocess step's tensors: contract inputs in, the ONNX model's inputs out (pairwise). */
export function preprocessTensors(cb: CatalogBranch): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const pairs = contractPairs(cb.branch.contract?.inputs ?? [], cb.branch.onnx.inputs);
  return {
    inputs: pairs.map((p) => ({ name: p.contract.name, dtype: p.contract.dtype, dims: p.contract.dims })),
    outputs: pairs.map((p) => p.onnx!),
  };
}

/** The plan's parameters, then the spec's own (which may not contradict the plan: see ortConfigProblems). */
function parameters(settings: OrtSettings, own: Record<string, string> = {}): NonNullable<ModelConfig["parameters"]> {
  const all = { ...ortParameters(settings), ...own };
  return Object.fromEntries(Object.keys(all).sort().map((k) => [k, { string_value: all[k]! }]));
}

/** The TensorRT accelerator the plan counts for the branch's ONNX model, if the profile runs it and the spec has one. */
export function plannedTensorRt(cb: CatalogBranch, settings: OrtSettings, exportKey: string | undefined): { precision: "FP16" | "FP32"; workspaceMiB: number; engineCachePath: string } | undefined {
  const trt = settings.tensorrt ? cb.branch.accelerator : undefined;
  if (!trt) return undefined;
  if (exportKey === undefined) throw new Error(`internal: ${cb.models.onnx} runs TensorRT but its export was not hashed (engineCachePath needs the export's key)`);
  return { precision: trt.precision, workspaceMiB: trt.workspaceMiB, engineCachePath: engineCachePath(cb.models.onnx, exportKey) };
}

/**
 * The branch's ONNX model. `exportKey` (src/plan/engine-cache.ts exportKey over the export's files)
 * names its engine cache folder; it is needed only when the profile runs the spec's TensorRT.
 */
export function onnxModelConfig(cb: CatalogBranch, settings: OrtSettings, exportKey?: string): ModelConfig {
  const b = cb.branch;
  const inputs = b.onnx.inputs.map(input);
  const trt = plannedTensorRt(cb, settings, exportKey);
  return {
    name: cb.models.onnx,
    platform: "onnxruntime_onnx",
    max_batch_size: 0,
    input: inputs,
    output: b.onnx.outputs.map(output),
    ...(trt ? { optimization: { execution_accelerators: { gpu_execution_accelerator: [tensorRtAccelerator(trt)] } } } : {}),
    instance_group: [gpuInstanceGroup(settings.policy, b.triton?.instanceCount ?? 1)],
    default_model_filename: "model.onnx",
    parameters: parameters(settings, b.triton?.parameters),
    model_warmup: [zeroWarmup(inputs)],
  };
}

/**
 * Where an ONNX Runtime config of this branch (as parsed back) would make the plan's arithmetic false
 * on Triton, as problems naming the spec field to change. The branch's ONNX model is held against the
 * TensorRT accelerator the plan counts (none when the profile runs without TensorRT); the ONNX
 * preprocess step runs without one.
 */
export function ortConfigProblems(cb: CatalogBranch, cfg: ModelConfig, settings: OrtSettings, exportKey?: string): Problem[] {
  const isBranchModel = cfg.name === cb.models.onnx;
  const trt = isBranchModel ? plannedTensorRt(cb, settings, exportKey) : undefined;
  const path = formatFieldPath(cb.fieldPath);
  const own = cb.branch.triton?.parameters ?? {};
  return planContradictions(cfg, { settings, ...(trt ? { tensorrt: trt } : {}) }).map((c) => {
    const message = `${cfg.name}: ${c.message}, so the plan (policy ${settings.policy}) would not hold on Triton`;
    if (isBranchModel && c.parameter !== undefined && c.parameter in own) {
      const hint = `remove it: the plan sets ${PLAN_PARAMETERS.join(", ")} in every ONNX Runtime config (change the profile's policy or cudnnConvAlgoSearch instead)`;
      return { file: cb.specFile, field: `${path}.triton.parameters["${c.parameter}"]`, message, hint };
    }
    if (isBranchModel && c.field === "instance_group") return { file: cb.specFile, field: `${path}.triton.instanceCount`, message, hint: "set it to 1 (the plan counts one session per model)" };
    return { file: cb.specFile, field: `${cfg.name}/config.pbtxt ${c.field}`, message, hint: "this is a triton-deploy bug: report it with the spec" };
  });
}

export function preprocessModelConfig(cb: CatalogBranch, form: PreprocessForm, settings: OrtSettings): ModelConfig {
  const name = cb.models.preprocess;
  if (!name) throw new Error(`branch ${cb.branch.name} has no preprocess step`);
  const t = preprocessTensors(cb);
  const common = { name, max_batch_size: 0, input: t.inputs.map(input), output: t.outputs.map(output) };
  if (form === "python") return { ...common, backend: "python", instance_group: [{ count: 1, kind: "KIND_CPU" }] };
  return {
    ...common,
    platform: "onnxruntime_onnx",
    instance_group: [gpuInstanceGroup(settings.policy, 1)],
    default_model_filename: "model.onnx",
    parameters: parameters(settings),
    model_warmup: [zeroWarmup(common.input)],
  };
}

/** The ensemble: contract in → [preprocess step] → ONNX model → contract out. */
export function ensembleModelConfig(cb: CatalogBranch): ModelConfig {
  const b = cb.branch;
  const contract = b.contract;
  if (!cb.models.ensemble || !contract) throw new Error(`branch ${b.name} is not served by an ensemble`);
  const inPairs = contractPairs(contract.inputs, b.onnx.inputs);
  const steps: NonNullable<NonNullable<ModelConfig["ensemble_scheduling"]>["step"]> = [];
  const onnxInputs: Record<string, string> = {};
  if (cb.models.preprocess) {
    const stepIn: Record<string, string> = {};
    const stepOut: Record<string, string> = {};
    for (const p of inPairs) {
      const carried = preprocessedTensorName(p.onnx!.name);
      stepIn[p.contract.name] = p.contract.name;
      stepOut[p.onnx!.name] = carried;
      onnxInputs[p.onnx!.name] = carried;
    }
    steps.push({ model_name: cb.models.preprocess, model_version: -1, input_map: stepIn, output_map: stepOut });
  } else {
    for (const p of inPairs) onnxInputs[p.onnx!.name] = p.contract.name;
  }
  const onnxOutputs: Record<string, string> = {};
  for (const p of contractPairs(contract.outputs, b.onnx.outputs)) onnxOutputs[p.onnx!.name] = p.contract.name;
  steps.push({ model_name: cb.models.onnx, model_version: -1, input_map: onnxInputs, output_map: onnxOutputs });
  return {
    name: cb.models.ensemble,
    platform: "ensemble",
    max_batch_size: 0,
    input: contract.inputs.map(input),
    output: contract.outputs.map(output),
    ensemble_scheduling: { step: steps },
  };
}
