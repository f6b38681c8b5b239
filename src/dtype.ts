// The one table of tensor element types. Specs, config.pbtxt, ONNX files, the KServe protocol,
// numpy and JavaScript typed arrays each spell a dtype differently; every translation goes through here.

export const DTYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES", "BF16"] as const;

/** A tensor element type as KServe v2 names it (and as specs write it). */
export type DType = (typeof DTYPES)[number];

type TypedArrayCtor =
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

export interface DTypeInfo {
  /** KServe v2 / spec name, e.g. FP32. */
  kserve: DType;
  /** Triton model_config.proto DataType enum name, e.g. TYPE_FP32. */
  triton: string;
  /** Triton DataType enum number. */
  tritonNumber: number;
  /** ONNX TensorProto.DataType number (0 where ONNX has no counterpart). */
  onnx: number;
  /** numpy dtype name, as written into Python steps. */
  numpy: string;
  /** Bytes per element; 0 for variable-length BYTES. */
  byteSize: number;
  /** Typed array that holds this dtype's raw little-endian bytes, where one exists. */
  array?: TypedArrayCtor;
  /** onnxruntime-node tensor type name, where it supports the dtype. */
  ort?: string;
}

const TABLE: readonly DTypeInfo[] = [
  { kserve: "BOOL", triton: "TYPE_BOOL", tritonNumber: 1, onnx: 9, numpy: "bool_", byteSize: 1, array: Uint8Array, ort: "bool" },
  { kserve: "UINT8", triton: "TYPE_UINT8", tritonNumber: 2, onnx: 2, numpy: "uint8", byteSize: 1, array: Uint8Array, ort: "uint8" },
  { kserve: "UINT16", triton: "TYPE_UINT16", tritonNumber: 3, onnx: 4, numpy: "uint16", byteSize: 2, array: Uint16Array, ort: "uint16" },
  { kserve: "UINT32", triton: "TYPE_UINT32", tritonNumber: 4, onnx: 12, numpy: "uint32", byteSize: 4, array: Uint32Array, ort: "uint32" },
  { kserve: "UINT64", triton: "TYPE_UINT64", tritonNumber: 5, onnx: 13, numpy: "uint64", byteSize: 8, array: BigUint64Array, ort: "uint64" },
  { kserve: "INT8", triton: "TYPE_INT8", tritonNumber: 6, onnx: 3, numpy: "int8", byteSize: 1, array: Int8Array, ort: "int8" },
  { kserve: "INT16", triton: "TYPE_INT16", tritonNumber: 7, onnx: 5, numpy: "int16", byteSize: 2, array: Int16Array, ort: "int16" },
  { kserve: "INT32", triton: "TYPE_INT32", tritonNumber: 8, onnx: 6, numpy: "int32", byteSize: 4, array: Int32Array, ort: "int32" },
  { kserve: "INT64", triton: "TYPE_INT64", tritonNumber: 9, onnx: 7, numpy: "int64", byteSize: 8, array: BigInt64Array, ort: "int64" },
  { kserve: "FP16", triton: "TYPE_FP16", tritonNumber: 10, onnx: 10, numpy: "float16", byteSize: 2, array: Uint16Array, ort: "float16" },
  { kserve: "FP32", triton: "TYPE_FP32", tritonNumber: 11, onnx: 1, numpy: "float32", byteSize: 4, array: Float32Array, ort: "float32" },
  { kserve: "FP64", triton: "TYPE_FP64", tritonNumber: 12, onnx: 11, numpy: "float64", byteSize: 8, array: Float64Array, ort: "float64" },
  { kserve: "BYTES", triton: "TYPE_STRING", tritonNumber: 13, onnx: 8, numpy: "object_", byteSize: 0, ort: "string" },
  { kserve: "BF16", triton: "TYPE_BF16", tritonNumber: 14, onnx: 16, numpy: "uint16", byteSize: 2, array: Uint16Array },
];

const BY_KSERVE = new Map(TABLE.map((d) => [d.kserve, d]));
const BY_TRITON = new Map(TABLE.map((d) => [d.triton, d]));
const BY_ONNX = new Map(TABLE.map((d) => [d.onnx, d]));

/** ONNX TensorProto.DataType names, for messages that show what a file holds. */
const ONNX_NAMES: Record<number, string> = {
  0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING",
  9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16",
};

export function isDType(s: string): s is DType {
  return BY_KSERVE.has(s as DType);
}

export function dtypeInfo(d: DType): DTypeInfo {
  const info = BY_KSERVE.get(d);
  if (!info) throw new Error(`unknown dtype ${d}`);
  return info;
}

/** Triton `TYPE_*` name → KServe dtype; undefined when the name is not a Triton data type. */
export function fromTritonType(name: string): DType | undefined {
  return BY_TRITON.get(name)?.kserve;
}

export function toTritonType(d: DType): string {
  return dtypeInfo(d).triton;
}

/** ONNX elem_type number → KServe dtype; undefined for ONNX types Triton cannot carry. */
export function fromOnnxElemType(n: number): DType | undefined {
  return BY_ONNX.get(n)?.kserve;
}

export function onnxElemTypeName(n: number): string {
  return ONNX_NAMES[n] ?? `elem_type ${n}`;
}

/** Number of elements of a fixed shape. */
export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Bytes a fixed-shape tensor of this dtype occupies (not defined for BYTES). */
export function tensorByteSize(d: DType, dims: readonly number[]): number {
  return dtypeInfo(d).byteSize * elementCount(dims);
}

// IEEE half precision as JavaScript numbers (JSON tensors, fixtures): no Float16Array in Node 20.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits → number. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 value → IEEE half bits, round to nearest even (what ONNX Runtime's Cast does). */
export function numberToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let out = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && out & 1)) out++;
    return sign | out;
  }
  let out = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && out & 1)) {
    out++;
    if (out === 0x400) {
      out = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | out;
}
