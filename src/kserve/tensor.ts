// Tensors as the protocol carries them, on typed arrays: raw little-endian bytes ⇄ typed arrays (a view
// on the received buffer where alignment allows, so a large binary input is never copied), and JSON
// `data` ⇄ typed arrays (row-major; BOOL as true/false; INT64/UINT64 as JS numbers; FP16/BF16 as
// numbers). BYTES has no fixed element size and is refused with a message saying so.
import { dtypeInfo, elementCount, halfToNumber, isDType, numberToHalf, type DType, type DTypeInfo } from "../dtype.ts";
import { ProtocolError } from "./error.ts";

/** Typed arrays the dtype table maps tensors onto (FP16, BF16 as raw uint16 bits; BOOL as 0/1 bytes). */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** A named tensor: KServe dtype, shape, row-major elements. */
export interface Tensor {
  name: string;
  datatype: DType;
  shape: number[];
  data: TensorData;
}

type FixedInfo = DTypeInfo & { array: NonNullable<DTypeInfo["array"]> };

/** The dtype's table entry, refusing names that are not KServe dtypes and BYTES. */
export function fixedDType(datatype: unknown, what: string): { dtype: DType; info: FixedInfo } {
  if (typeof datatype !== "string" || !isDType(datatype)) throw new ProtocolError(`${what}: unknown datatype ${JSON.stringify(datatype)}`);
  const info = dtypeInfo(datatype);
  if (!info.array) throw new ProtocolError(`${what}: datatype ${datatype} is not supported (only fixed-size datatypes; BYTES tensors are refused)`);
  return { dtype: datatype, info: info as FixedInfo };
}

/** A shape: an array of non-negative integers. */
export function checkShape(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new ProtocolError(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape as number[];
}

/** The raw bytes of a typed array (a view, no copy). */
export function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Elements from raw little-endian bytes: a view on `bytes` when its offset is a multiple of the
 * element size, else an aligned copy (typed arrays cannot start at a misaligned offset).
 */
export function dataFromBytes(datatype: DType, bytes: Uint8Array, what: string): TensorData {
  const info = fixedDType(datatype, what).info;
  if (bytes.byteLength % info.byteSize !== 0) throw new ProtocolError(`${what}: ${bytes.byteLength} bytes is not a whole number of ${datatype} elements`);
  // new Uint8Array(view) copies into a fresh buffer at offset 0 (Buffer#slice would only re-view).
  const src = bytes.byteOffset % info.byteSize === 0 ? bytes : new Uint8Array(bytes);
  return new info.array(src.buffer as ArrayBuffer, src.byteOffset, src.byteLength / info.byteSize);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toBf16(v: number): number {
  if (Number.isNaN(v)) return 0x7fc0;
  f32[0] = v;
  const x = u32[0]!;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff; // round to nearest even
}

function fromBf16(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  UINT8: [0, 255],
  INT8: [-128, 127],
  UINT16: [0, 65535],
  INT16: [-32768, 32767],
  UINT32: [0, 4294967295],
  INT32: [-2147483648, 2147483647],
  UINT64: [0, 2 ** 64 - 1],
  INT64: [-(2 ** 63), 2 ** 63 - 1],
};

/** A function that checks one JSON element and stores it at index i. */
function elementWriter(dtype: DType, out: TensorData, what: string): (v: unknown, i: number) => void {
  const bad = (v: unknown, i: number, want: string): never => {
    throw new ProtocolError(`${what}: element ${i} is ${JSON.stringify(v) ?? String(v)}, expected ${want} for datatype ${dtype}`);
  };
  if (dtype === "BOOL") {
    const o = out as Uint8Array;
    return (v, i) => (typeof v === "boolean" ? (o[i] = v ? 1 : 0) : bad(v, i, "true or false"));
  }
  if (dtype === "FP16" || dtype === "BF16") {
    const o = out as Uint16Array;
    const conv = dtype === "FP16" ? numberToHalf : toBf16;
    return (v, i) => (typeof v === "number" ? (o[i] = conv(v)) : bad(v, i, "a number"));
  }
  if (dtype === "FP32" || dtype === "FP64") {
    const o = out as Float32Array;
    return (v, i) => (typeof v === "number" ? (o[i] = v) : bad(v, i, "a number"));
  }
  const [lo, hi] = INT_RANGE[dtype]!;
  const want = `an integer in [${lo}, ${hi}]`;
  if (dtype === "INT64" || dtype === "UINT64") {
    const o = out as BigInt64Array;
    return (v, i) => (typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi ? (o[i] = BigInt(v)) : bad(v, i, want));
  }
  const o = out as Int32Array;
  return (v, i) => (typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi ? (o[i] = v) : bad(v, i, want));
}

/** How many scalars a JSON `data` value holds (nested arrays flattened), without allocating anything. */
function countJsonElements(values: unknown[]): number {
  let n = 0;
  for (const v of values) n += Array.isArray(v) ? countJsonElements(v) : 1;
  return n;
}

/**
 * Elements from JSON `data` (flat row-major, or nested arrays as Triton also accepts), checked one by
 * one. The element count is compared with the shape's before anything is allocated, so a shape far
 * larger than its data is a 400 naming both counts (Triton: "Unable to parse 'data': Shape does not
 * match true shape of 'data' field", server src/http_server.cc r24.08), never an allocation failure.
 */
export function dataFromJson(datatype: DType, shape: readonly number[], values: unknown, what: string): TensorData {
  const info = fixedDType(datatype, what).info;
  if (!Array.isArray(values)) throw new ProtocolError(`${what}: data must be an array, got ${typeof values}`);
  const count = elementCount(shape);
  const held = countJsonElements(values);
  if (held !== count) {
    throw new ProtocolError(`${what}: Unable to parse 'data': Shape does not match true shape of 'data' field: data holds ${held} elements, shape [${shape.join(", ")}] needs ${count}`);
  }
  const out = new info.array(count);
  const write = elementWriter(datatype, out, what);
  let n = 0;
  const walk = (list: unknown[]): void => {
    for (const v of list) {
      if (Array.isArray(v)) walk(v);
      else write(v, n++);
    }
  };
  walk(values);
  return out;
}

/** JSON `data` of a tensor, flat row-major (INT64/UINT64 above 2^53 lose precision, as in any JSON client). */
export function dataToJson(datatype: DType, data: TensorData): (number | boolean)[] {
  const n = data.length;
  const out = new Array<number | boolean>(n);
  if (datatype === "BOOL") for (let i = 0; i < n; i++) out[i] = data[i] !== 0;
  else if (datatype === "FP16") for (let i = 0; i < n; i++) out[i] = halfToNumber(data[i] as number);
  else if (datatype === "BF16") for (let i = 0; i < n; i++) out[i] = fromBf16(data[i] as number);
  else if (typeof data[0] === "bigint") for (let i = 0; i < n; i++) out[i] = Number(data[i]);
  else for (let i = 0; i < n; i++) out[i] = data[i] as number;
  return out;
}

/** A tensor whose element count matches its shape; throws ProtocolError naming it otherwise. */
export function checkTensor(t: Tensor, what = `tensor ${t.name}`): Tensor {
  const info = fixedDType(t.datatype, what).info;
  const want = elementCount(checkShape(t.shape, what));
  if (!(t.data instanceof info.array)) throw new ProtocolError(`${what}: ${t.datatype} needs a ${info.array.name}, got ${t.data.constructor.name}`);
  if (t.data.length !== want) throw new ProtocolError(`${what}: ${t.data.length} elements for shape [${t.shape.join(", ")}] (${want})`);
  return t;
}
