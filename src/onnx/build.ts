// Builds ONNX models in code: graph inputs/outputs, nodes with typed attributes, initializers stored
// inline or in an external-data file beside the model, metadata. Used by fixtures, the ONNX preprocess
// step, tests and benchmarks; nothing here knows about specs or branches.
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { dtypeInfo, type DType } from "../dtype.ts";
import type { OnnxDim } from "./io.ts";
import { ATTRIBUTE_TYPE, DATA_LOCATION, encodeModel, type Attribute, type Model, type Tensor, type ValueInfo } from "./schema.ts";

export const DEFAULT_OPSET = 17;
export const DEFAULT_IR_VERSION = 8;

/** A typed attribute value; build with the helpers below so INT and FLOAT are never confused. */
export type AttrValue =
  | { type: "int"; value: number }
  | { type: "ints"; value: number[] }
  | { type: "float"; value: number }
  | { type: "floats"; value: number[] }
  | { type: "string"; value: string };

export const attr = {
  int: (value: number): AttrValue => ({ type: "int", value }),
  ints: (value: number[]): AttrValue => ({ type: "ints", value }),
  float: (value: number): AttrValue => ({ type: "float", value }),
  floats: (value: number[]): AttrValue => ({ type: "floats", value }),
  string: (value: string): AttrValue => ({ type: "string", value }),
};

export interface ValueInfoSpec {
  name: string;
  dtype: DType;
  /** A number, a dim_param name, or null for a dimension without a value. */
  dims: OnnxDim[];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  /** @default `${op}_${index}` */
  name?: string;
  /** @default "" (the ONNX domain) */
  domain?: string;
  attributes?: Record<string, AttrValue>;
}

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | BigUint64Array;

export interface InitializerSpec {
  name: string;
  dtype: DType;
  dims: number[];
  /** Element values, little-endian as typed arrays hold them. */
  data: TensorData;
  /** Store in the model's external-data file (needs OnnxModelSpec.externalData). @default true when the model has one */
  external?: boolean;
}

export interface OnnxModelSpec {
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  /** metadata_props of the model. */
  metadata?: Record<string, string>;
  /** Store initializers in this file, relative to the .onnx file's directory (e.g. `model.onnx.data`). */
  externalData?: { location: string };
  /** @default 17 */
  opset?: number;
  /** @default 8 */
  irVersion?: number;
  /** @default "triton-deploy" */
  producerName?: string;
  /** @default "graph" */
  graphName?: string;
}

export interface EncodedOnnxModel {
  onnx: Uint8Array;
  /** External-data files, by location relative to the .onnx file. */
  externalFiles: { location: string; bytes: Uint8Array }[];
}

function valueInfo(v: ValueInfoSpec): ValueInfo {
  const dim = v.dims.map((d) => (d === null ? {} : typeof d === "string" ? { dim_param: d } : { dim_value: d }));
  return { name: v.name, type: { tensor_type: { elem_type: dtypeInfo(v.dtype).onnx, shape: { dim } } } };
}

function attribute(name: string, a: AttrValue): Attribute {
  switch (a.type) {
    case "int":
      return { name, type: ATTRIBUTE_TYPE.INT, i: a.value };
    case "ints":
      return { name, type: ATTRIBUTE_TYPE.INTS, ints: a.value };
    case "float":
      return { name, type: ATTRIBUTE_TYPE.FLOAT, f: a.value };
    case "floats":
      return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: a.value };
    case "string":
      return { name, type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The ModelProto object and the external-data chunks, before encoding. */
export function buildModelProto(spec: OnnxModelSpec): { model: Model; externalFiles: EncodedOnnxModel["externalFiles"] } {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const initializer = (spec.initializers ?? []).map((init): Tensor => {
    const t: Tensor = { name: init.name, dims: init.dims, data_type: dtypeInfo(init.dtype).onnx };
    const bytes = bytesOf(init.data);
    if (spec.externalData && init.external !== false) {
      t.data_location = DATA_LOCATION.EXTERNAL;
      t.external_data = [
        { key: "location", value: spec.externalData.location },
        { key: "offset", value: String(offset) },
        { key: "length", value: String(bytes.length) },
      ];
      chunks.push(bytes);
      offset += bytes.length;
    } else {
      t.raw_data = bytes;
    }
    return t;
  });
  const model: Model = {
    ir_version: spec.irVersion ?? DEFAULT_IR_VERSION,
    producer_name: spec.producerName ?? "triton-deploy",
    opset_import: [{ domain: "", version: spec.opset ?? DEFAULT_OPSET }],
    graph: {
      name: spec.graphName ?? "graph",
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`,
        op_type: n.op,
        domain: n.domain ?? "",
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
    metadata_props: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  const externalFiles = spec.externalData && chunks.length > 0 ? [{ location: spec.externalData.location, bytes: Buffer.concat(chunks) }] : [];
  return { model, externalFiles };
}

export function encodeOnnxModel(spec: OnnxModelSpec): EncodedOnnxModel {
  const { model, externalFiles } = buildModelProto(spec);
  return { onnx: encodeModel(model), externalFiles };
}

/** Write beside the target and rename over it, so readers never see a half-written file. */
export async function writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Write the .onnx file and its external-data file(s) beside it, each atomically; the data goes first
 * so a model file never points at data that is not there yet.
 */
export async function writeOnnxModel(file: string, spec: OnnxModelSpec): Promise<string[]> {
  const { onnx, externalFiles } = encodeOnnxModel(spec);
  const written: string[] = [];
  for (const ext of externalFiles) {
    const target = path.resolve(path.dirname(file), ext.location);
    await writeFileAtomic(target, ext.bytes);
    written.push(target);
  }
  await writeFileAtomic(file, onnx);
  written.push(file);
  return written;
}

/** A float32 initializer from plain numbers. */
export function f32(name: string, dims: number[], values: readonly number[], external?: boolean): InitializerSpec {
  const init: InitializerSpec = { name, dtype: "FP32", dims, data: Float32Array.from(values) };
  if (external !== undefined) init.external = external;
  return init;
}

/** An int64 initializer from plain numbers (shapes, axes, gather indices). */
export function i64(name: string, dims: number[], values: readonly number[]): InitializerSpec {
  return { name, dtype: "INT64", dims, data: BigInt64Array.from(values.map((v) => BigInt(v))), external: false };
}
