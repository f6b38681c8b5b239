// What the tool needs to know about an ONNX file without its weights: graph inputs/outputs, opsets,
// external-data references and metadata. Both readers (the header walk and the full decode) build this
// shape through the same conversions below, so they cannot disagree on interpretation.
import { statSync } from "node:fs";
import { fromOnnxElemType, type DType } from "../dtype.ts";
import { UserError } from "../errors.ts";
import { int64ToNumber, type StringStringEntry, type Tensor, type ValueInfo } from "./schema.ts";

/** A dimension as the file states it: a number, a dim_param name, or null when no value is given. */
export type OnnxDim = number | string | null;

export interface OnnxTensorIO {
  name: string;
  /** ONNX TensorProto.DataType number (0 when the value is not a tensor). */
  elemType: number;
  /** The same type as a KServe dtype, where Triton can carry it. */
  dtype?: DType;
  dims: OnnxDim[];
  /** False when the file gives no shape at all (rank unknown: dynamic). */
  hasShape: boolean;
}

export interface OnnxExternalRef {
  /** Initializer name. */
  tensor: string;
  /** Path relative to the ONNX file's directory, as written in the file. */
  location: string;
  offset?: number;
  length?: number;
}

export interface OnnxOpset {
  domain: string;
  version: number;
}

export interface OnnxIO {
  irVersion: number;
  producerName: string;
  opsets: OnnxOpset[];
  inputs: OnnxTensorIO[];
  outputs: OnnxTensorIO[];
  externalData: OnnxExternalRef[];
  metadata: Record<string, string>;
}

export function tensorIOFromValueInfo(v: ValueInfo): OnnxTensorIO {
  const t = v.type?.tensor_type;
  const elemType = t?.elem_type ?? 0;
  const dims = (t?.shape?.dim ?? []).map((d): OnnxDim => {
    if (d.value === "dim_param") return d.dim_param ?? "";
    if (d.value === "dim_value") return int64ToNumber(d.dim_value);
    return null;
  });
  const dtype = fromOnnxElemType(elemType);
  const io: OnnxTensorIO = { name: v.name ?? "", elemType, dims, hasShape: t?.shape !== undefined && t.shape !== null };
  if (dtype) io.dtype = dtype;
  return io;
}

export function metadataRecord(entries: readonly StringStringEntry[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) out[e.key ?? ""] = e.value ?? "";
  return out;
}

/** What an initializer contributes: its name (never a model input) and its external-data reference. */
export interface InitializerFacts {
  name: string;
  external?: OnnxExternalRef;
}

const EXTERNAL = 1;

function externalNumber(file: string, tensor: string, key: string, value: string): number {
  if (!/^\d+$/.test(value)) {
    throw new UserError({
      file,
      field: `initializer "${tensor}" external_data.${key}`,
      message: `external-data ${key} is "${value}", not a non-negative integer`,
      hint: "re-save the model with onnx.save_model(..., save_as_external_data=True)",
    });
  }
  return Number(value);
}

export function initializerFacts(file: string, name: string, dataLocation: number, entries: readonly StringStringEntry[]): InitializerFacts {
  if (dataLocation !== EXTERNAL) return { name };
  const kv = metadataRecord(entries);
  const ref: OnnxExternalRef = { tensor: name, location: kv.location ?? "" };
  if (kv.offset !== undefined) ref.offset = externalNumber(file, name, "offset", kv.offset);
  if (kv.length !== undefined) ref.length = externalNumber(file, name, "length", kv.length);
  return { name, external: ref };
}

export function initializerFactsOfTensor(file: string, t: Tensor): InitializerFacts {
  return initializerFacts(file, t.name ?? "", t.data_location ?? 0, t.external_data ?? []);
}

/** Assemble the result: graph inputs that are initializers are constants, not model inputs. */
export function assembleIO(parts: {
  irVersion: number;
  producerName: string;
  opsets: OnnxOpset[];
  inputs: OnnxTensorIO[];
  outputs: OnnxTensorIO[];
  initializers: InitializerFacts[];
  metadata: Record<string, string>;
}): OnnxIO {
  const constant = new Set(parts.initializers.map((i) => i.name));
  return {
    irVersion: parts.irVersion,
    producerName: parts.producerName,
    opsets: parts.opsets,
    inputs: parts.inputs.filter((i) => !constant.has(i.name)),
    outputs: parts.outputs,
    externalData: parts.initializers.flatMap((i) => (i.external ? [i.external] : [])),
    metadata: parts.metadata,
  };
}

export function noGraphError(file: string): UserError {
  return new UserError({
    file,
    field: "graph",
    message: "the ONNX model has no graph",
    hint: "export the model again; a model file without a graph cannot be served",
  });
}

export function missingFileError(file: string): UserError {
  return new UserError({ file, message: "ONNX file not found", hint: "export the model to this path, or run `npm run fixtures` to write a stand-in" });
}

export function notOnnxError(file: string, detail: string, offset: number): UserError {
  return new UserError({
    file,
    message: `truncated or not an ONNX file: ${detail} (at byte offset ${offset})`,
    hint: "copy or export the file again; check that the download or export finished",
  });
}

/** Missing paths and directories get a UserError before any read. */
export function assertOnnxFile(file: string): void {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) throw missingFileError(file);
  if (!st.isFile()) throw new UserError({ file, message: "expected an ONNX file, found a directory or special file", hint: "point the spec's onnx.file at the .onnx file itself" });
}
