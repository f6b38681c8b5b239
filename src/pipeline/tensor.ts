// The pipeline's view of a model call, independent of any transport: a tensor is a name, a KServe
// dtype, a shape and a typed array; `Infer` is "send these to that model, give me those outputs".
// verify-ready adapts its KServe-v2 client to it; a benchmark can adapt anything else.
import { elementCount, type DType } from "../dtype.ts";
import type { TensorData } from "../onnx/build.ts";
import type { Buffers } from "./buffers.ts";
import type { CatalogBranch } from "../spec/catalog.ts";
import type { Preprocess, TensorSpec } from "../spec/schema.ts";

export type { TensorData };

export interface Tensor {
  name: string;
  datatype: DType;
  shape: number[];
  data: TensorData;
}

/**
 * One inference: inputs to `model`, the named outputs back (in the order asked). The inputs are
 * handed over: a transport may move their buffers to another thread (e2e's preprocess thread does),
 * so a flow does not read an input after sending it (it sends a copy of what it still needs).
 */
export type Infer = ((model: string, inputs: readonly Tensor[], outputs: readonly string[]) => Promise<Tensor[]>) & {
  /** Where flows take their inputs' memory: a transport that hands sent buffers back offers its pool here. */
  buffers?: Buffers;
};

/** What a component flow needs to know about the branch routing chose. */
export interface ComponentBranch {
  branch: string;
  family: string;
  component: string;
  /** The model the flow calls: the ensemble, or the ONNX model itself when served directly. */
  entry: string;
  size: number;
  /** The entry model's inputs and outputs: the ensemble contract, or the ONNX tensors of a direct model. */
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** What the caller must do before sending (client-letterbox for YOLO; normalize happens on the server). */
  preprocess: Preprocess;
}

/** The tensors callers exchange with a branch's entry model. */
export function entryTensors(cb: CatalogBranch): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const b = cb.branch;
  const strip = (t: TensorSpec): TensorSpec => ({ name: t.name, dtype: t.dtype, dims: [...t.dims] });
  if (b.serving === "ensemble" && b.contract) return { inputs: b.contract.inputs.map(strip), outputs: b.contract.outputs.map(strip) };
  return { inputs: b.onnx.inputs.map(strip), outputs: b.onnx.outputs.map(strip) };
}

export function componentBranch(cb: CatalogBranch): ComponentBranch {
  return { branch: cb.branch.name, family: cb.family, component: cb.component, entry: cb.models.entry, size: cb.branch.size, ...entryTensors(cb), preprocess: cb.branch.preprocess };
}

/** A model answered something the pipeline cannot use; the message names the model and tensor. */
export class PipelineError extends Error {
  constructor(
    readonly model: string,
    message: string,
  ) {
    super(`${model}: ${message}`);
    this.name = "PipelineError";
  }
}

export function tensorOf(spec: TensorSpec, data: TensorData): Tensor {
  const want = elementCount(spec.dims);
  if (data.length !== want) throw new RangeError(`${spec.name}: ${data.length} values for [${spec.dims.join(", ")}] (${want})`);
  return { name: spec.name, datatype: spec.dtype, shape: [...spec.dims], data };
}

/**
 * The output `spec` from a response, checked as the pipeline relies on it: present, the spec's dtype
 * and shape, every float finite.
 */
export function expectOutput(model: string, outputs: readonly Tensor[], spec: TensorSpec): Tensor {
  const t = outputs.find((o) => o.name === spec.name);
  if (!t) throw new PipelineError(model, `output ${spec.name} missing from the response (got ${outputs.map((o) => o.name).join(", ") || "none"})`);
  if (t.datatype !== spec.dtype) throw new PipelineError(model, `output ${spec.name} datatype ${t.datatype}, expected ${spec.dtype}`);
  if (t.shape.join() !== spec.dims.join()) throw new PipelineError(model, `output ${spec.name} shape [${t.shape.join(", ")}], expected [${spec.dims.join(", ")}]`);
  if (t.data.length !== elementCount(spec.dims)) throw new PipelineError(model, `output ${spec.name} holds ${t.data.length} values, shape [${spec.dims.join(", ")}] needs ${elementCount(spec.dims)}`);
  const bad = firstNonFinite(t);
  if (bad >= 0) throw new PipelineError(model, `output ${spec.name} has a non-finite value (${String(t.data[bad])}) at flat index ${bad}`);
  return t;
}

/** Index of the first NaN or ±Infinity of a float tensor; −1 when all are finite (or it holds integers). */
export function firstNonFinite(t: Pick<Tensor, "datatype" | "data">): number {
  if (t.datatype !== "FP32" && t.datatype !== "FP64") return -1;
  const d = t.data as Float32Array | Float64Array;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return i;
  return -1;
}
