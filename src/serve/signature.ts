// What a model takes and gives, from its config, and the check every request (and every ensemble
// step) passes before a backend sees it: known names, every required input present, the config's
// datatype, and the config's dims (with -1 matching any size and, when the model batches, a leading
// batch dimension up to max_batch_size). Messages follow Triton's wording where it has one.
import { fromTritonType, type DType } from "../dtype.ts";
import type { ModelConfig, ModelInput, ModelOutput } from "../config/index.ts";
import { ProtocolError, type Tensor, type TensorMetadata } from "../kserve/index.ts";
import { LoadError } from "./model-dir.ts";

export interface TensorSig {
  name: string;
  datatype: DType;
  /** Dims as the config writes them (without the batch dimension when the model batches). */
  dims: number[];
  /** Shape as clients see it: with a leading -1 when the model batches. */
  shape: number[];
  optional: boolean;
}

export interface Signature {
  maxBatchSize: number;
  inputs: TensorSig[];
  outputs: TensorSig[];
}

function sig(model: string, t: ModelInput | ModelOutput, role: string, batching: boolean): TensorSig {
  const datatype = fromTritonType(t.data_type ?? "TYPE_INVALID");
  if (!t.name) throw new LoadError(`model '${model}': an ${role} has no name`);
  if (!datatype) throw new LoadError(`model '${model}': ${role} '${t.name}' has data_type ${t.data_type ?? "TYPE_INVALID"}, which is not a tensor type`);
  const dims = [...(t.dims ?? [])];
  return { name: t.name, datatype, dims, shape: batching ? [-1, ...dims] : dims, optional: "optional" in t && t.optional === true };
}

export function signatureOf(model: string, cfg: ModelConfig): Signature {
  const maxBatchSize = cfg.max_batch_size ?? 0;
  const batching = maxBatchSize > 0;
  return {
    maxBatchSize,
    inputs: (cfg.input ?? []).map((t) => sig(model, t, "input", batching)),
    outputs: (cfg.output ?? []).map((t) => sig(model, t, "output", batching)),
  };
}

export function metadataTensors(ts: readonly TensorSig[]): TensorMetadata[] {
  return ts.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] }));
}

const fmt = (d: readonly number[]) => `[${d.join(",")}]`;

/** Throws ProtocolError (400) at the first way `inputs` do not fit the model. */
export function checkInputs(model: string, s: Signature, inputs: readonly Tensor[]): void {
  const byName = new Map(s.inputs.map((t) => [t.name, t]));
  let batch: number | undefined;
  for (const t of inputs) {
    const want = byName.get(t.name);
    if (!want) throw new ProtocolError(`unexpected inference input '${t.name}' for model '${model}' (its inputs: ${s.inputs.map((i) => i.name).join(", ") || "none"})`);
    if (t.datatype !== want.datatype) throw new ProtocolError(`inference input '${t.name}' data-type is '${t.datatype}', but model '${model}' expects '${want.datatype}'`);
    let dims = t.shape;
    if (s.maxBatchSize > 0) {
      const b = t.shape[0];
      if (b === undefined || b < 1 || b > s.maxBatchSize) {
        throw new ProtocolError(`inference input '${t.name}' of model '${model}' has batch size ${b ?? "(none)"}: shape ${fmt(t.shape)}, the batch dimension must be 1..${s.maxBatchSize}`);
      }
      if (batch !== undefined && b !== batch) throw new ProtocolError(`inputs of model '${model}' disagree on the batch size (${batch} and ${b})`);
      batch = b;
      dims = t.shape.slice(1);
    }
    if (dims.length !== want.dims.length || dims.some((d, i) => want.dims[i] !== -1 && want.dims[i] !== d)) {
      throw new ProtocolError(`unexpected shape for input '${t.name}' for model '${model}'. Expected ${fmt(want.shape)}, got ${fmt(t.shape)}`);
    }
  }
  const missing = s.inputs.filter((t) => !t.optional && !inputs.some((i) => i.name === t.name));
  if (missing.length) {
    throw new ProtocolError(`expected ${s.inputs.filter((t) => !t.optional).length} inputs but got ${inputs.length} inputs for model '${model}': missing ${missing.map((t) => `'${t.name}'`).join(", ")}`);
  }
}

/** Throws ProtocolError for an output name the model does not have. */
export function checkOutputNames(model: string, s: Signature, names: readonly string[]): void {
  for (const n of names) {
    if (!s.outputs.some((o) => o.name === n)) throw new ProtocolError(`unexpected inference output '${n}' for model '${model}' (its outputs: ${s.outputs.map((o) => o.name).join(", ") || "none"})`);
  }
}
