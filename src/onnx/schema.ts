// Our own subset of the ONNX protobuf schema, as a protobufjs JSON descriptor. Only the messages and
// fields the tool reads or writes are declared; unknown fields in real files are skipped by protobufjs.
// Field numbers are facts of onnx/onnx.proto (checked against it); names follow the proto so a reader
// of the ONNX docs recognizes them.
import protobuf from "protobufjs";

type FieldRow = [id: number, type: string, rule?: "repeated" | "packed"];

/** Compact field table → protobufjs IType (proto2 semantics: presence of scalars is kept). */
function message(fields: Record<string, FieldRow>, extra: Omit<protobuf.IType, "fields"> = {}): protobuf.IType {
  const out: Record<string, protobuf.IField> = {};
  for (const [name, [id, type, rule]] of Object.entries(fields)) {
    out[name] = rule === "packed" ? { id, type, rule: "repeated", options: { packed: true } } : rule ? { id, type, rule } : { id, type };
  }
  return { ...extra, fields: out };
}

const DESCRIPTOR: protobuf.INamespace = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: message({ key: [1, "string"], value: [2, "string"] }),
        OperatorSetIdProto: message({ domain: [1, "string"], version: [2, "int64"] }),
        TensorShapeProto: message(
          { dim: [1, "Dimension", "repeated"] },
          {
            nested: {
              Dimension: message(
                { dim_value: [1, "int64"], dim_param: [2, "string"], denotation: [3, "string"] },
                { oneofs: { value: { oneof: ["dim_value", "dim_param"] } } },
              ),
            },
          },
        ),
        TypeProto: message(
          { tensor_type: [1, "Tensor"], denotation: [6, "string"] },
          { nested: { Tensor: message({ elem_type: [1, "int32"], shape: [2, "TensorShapeProto"] }) } },
        ),
        ValueInfoProto: message({ name: [1, "string"], type: [2, "TypeProto"], doc_string: [3, "string"] }),
        TensorProto: message({
          // ONNX writes dims unpacked (proto2 default); the data arrays are declared packed.
          dims: [1, "int64", "repeated"],
          data_type: [2, "int32"],
          float_data: [4, "float", "packed"],
          int32_data: [5, "int32", "packed"],
          string_data: [6, "bytes", "repeated"],
          int64_data: [7, "int64", "packed"],
          name: [8, "string"],
          raw_data: [9, "bytes"],
          double_data: [10, "double", "packed"],
          uint64_data: [11, "uint64", "packed"],
          doc_string: [12, "string"],
          external_data: [13, "StringStringEntryProto", "repeated"],
          data_location: [14, "int32"],
        }),
        SparseTensorProto: message({ values: [1, "TensorProto"], indices: [2, "TensorProto"], dims: [3, "int64", "repeated"] }),
        AttributeProto: message({
          name: [1, "string"],
          f: [2, "float"],
          i: [3, "int64"],
          s: [4, "bytes"],
          t: [5, "TensorProto"],
          g: [6, "GraphProto"],
          floats: [7, "float", "repeated"],
          ints: [8, "int64", "repeated"],
          strings: [9, "bytes", "repeated"],
          doc_string: [13, "string"],
          type: [20, "int32"],
        }),
        NodeProto: message({
          input: [1, "string", "repeated"],
          output: [2, "string", "repeated"],
          name: [3, "string"],
          op_type: [4, "string"],
          attribute: [5, "AttributeProto", "repeated"],
          doc_string: [6, "string"],
          domain: [7, "string"],
        }),
        GraphProto: message({
          node: [1, "NodeProto", "repeated"],
          name: [2, "string"],
          initializer: [5, "TensorProto", "repeated"],
          doc_string: [10, "string"],
          input: [11, "ValueInfoProto", "repeated"],
          output: [12, "ValueInfoProto", "repeated"],
          value_info: [13, "ValueInfoProto", "repeated"],
          sparse_initializer: [15, "SparseTensorProto", "repeated"],
        }),
        ModelProto: message({
          ir_version: [1, "int64"],
          producer_name: [2, "string"],
          producer_version: [3, "string"],
          domain: [4, "string"],
          model_version: [5, "int64"],
          doc_string: [6, "string"],
          graph: [7, "GraphProto"],
          opset_import: [8, "OperatorSetIdProto", "repeated"],
          metadata_props: [14, "StringStringEntryProto", "repeated"],
        }),
      },
    },
  },
};

/** Field numbers the header walk (read-io.ts) dispatches on; same facts as the descriptor above. */
export const FIELD = {
  model: { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8, metadataProps: 14 },
  graph: { node: 1, initializer: 5, input: 11, output: 12, sparseInitializer: 15 },
  tensor: { name: 8, rawData: 9, externalData: 13, dataLocation: 14 },
  sparseTensor: { values: 1 },
} as const;

/** AttributeProto.AttributeType values we emit. */
export const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
/** TensorProto.DataLocation. */
export const DATA_LOCATION = { DEFAULT: 0, EXTERNAL: 1 } as const;

const root = protobuf.Root.fromJSON(DESCRIPTOR);

function lookup(name: string): protobuf.Type {
  return root.lookupType(`onnx.${name}`);
}

export const ModelProto = lookup("ModelProto");
export const GraphProto = lookup("GraphProto");
export const NodeProto = lookup("NodeProto");
export const AttributeProto = lookup("AttributeProto");
export const TensorProto = lookup("TensorProto");
export const ValueInfoProto = lookup("ValueInfoProto");
export const TypeProto = lookup("TypeProto");
export const TensorShapeProto = lookup("TensorShapeProto");
export const StringStringEntryProto = lookup("StringStringEntryProto");
export const OperatorSetIdProto = lookup("OperatorSetIdProto");

/** int64 fields decode to a Long (protobufjs) or a number; encode accepts numbers. */
export type Int64 = number | { toNumber(): number };

export function int64ToNumber(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

// Plain-object shapes of the messages, as we build them for encoding and read them after decoding.
// Optional everywhere because proto2 fields may be absent in a file.

export interface StringStringEntry {
  key?: string;
  value?: string;
}

export interface OperatorSetId {
  domain?: string;
  version?: Int64;
}

export interface Dimension {
  dim_value?: Int64;
  dim_param?: string;
  /** Which member of the oneof is set, after decoding. */
  value?: "dim_value" | "dim_param";
}

export interface TensorShape {
  dim?: Dimension[];
}

export interface TypeProtoTensor {
  elem_type?: number;
  shape?: TensorShape;
}

export interface TypeProtoMessage {
  tensor_type?: TypeProtoTensor;
}

export interface ValueInfo {
  name?: string;
  type?: TypeProtoMessage;
}

export interface Tensor {
  dims?: Int64[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: Int64[];
  double_data?: number[];
  name?: string;
  raw_data?: Uint8Array;
  external_data?: StringStringEntry[];
  data_location?: number;
}

export interface SparseTensor {
  values?: Tensor;
}

export interface Attribute {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: Tensor;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
}

export interface Node {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: Attribute[];
}

export interface Graph {
  node?: Node[];
  name?: string;
  initializer?: Tensor[];
  sparse_initializer?: SparseTensor[];
  input?: ValueInfo[];
  output?: ValueInfo[];
  value_info?: ValueInfo[];
}

export interface Model {
  ir_version?: Int64;
  producer_name?: string;
  producer_version?: string;
  graph?: Graph;
  opset_import?: OperatorSetId[];
  metadata_props?: StringStringEntry[];
}

/** Decode bytes as one message type into its plain-object shape (no conversion of Longs or bytes). */
export function decodeAs<T>(type: protobuf.Type, bytes: Uint8Array): T {
  return type.decode(bytes) as unknown as T;
}

export function encodeModel(model: Model): Uint8Array {
  return ModelProto.encode(ModelProto.fromObject(model as Record<string, unknown>)).finish();
}
