// The Triton model configs of one branch, as typed objects: the ONNX model, its preprocess step
// (Python backend on the CPU, or an ONNX graph) and the ensemble that chains them under the
// external contract. Pure: the same branch always gives the same configs.
import { tritonDataType, type ModelConfig, type ModelInput, type ModelOutput } from "../config/model-config.ts";
import { preprocessedTensorName } from "../names.ts";
import type { CatalogBranch } from "../spec/catalog.ts";
import { contractPairs } from "../spec/rules.ts";
import type { TensorSpec } from "../spec/schema.ts";

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

export function onnxModelConfig(cb: CatalogBranch): ModelConfig {
  const b = cb.branch;
  const cfg: ModelConfig = {
    name: cb.models.onnx,
    platform: "onnxruntime_onnx",
    max_batch_size: 0,
    input: b.onnx.inputs.map(input),
    output: b.onnx.outputs.map(output),
    instance_group: [{ count: b.triton?.instanceCount ?? 1, kind: "KIND_GPU" }],
    default_model_filename: "model.onnx",
  };
  const params = b.triton?.parameters;
  if (params && Object.keys(params).length > 0) {
    cfg.parameters = Object.fromEntries(Object.entries(params).sort().map(([k, v]) => [k, { string_value: v }]));
  }
  return cfg;
}

export function preprocessModelConfig(cb: CatalogBranch, form: PreprocessForm): ModelConfig {
  const name = cb.models.preprocess;
  if (!name) throw new Error(`branch ${cb.branch.name} has no preprocess step`);
  const t = preprocessTensors(cb);
  const common = { name, max_batch_size: 0, input: t.inputs.map(input), output: t.outputs.map(output) };
  if (form === "python") return { ...common, backend: "python", instance_group: [{ count: 1, kind: "KIND_CPU" }] };
  return { ...common, platform: "onnxruntime_onnx", instance_group: [{ count: 1, kind: "KIND_GPU" }], default_model_filename: "model.onnx" };
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
