// The binary tensor extension, both directions, pure: a body is a JSON header, padded with spaces to a
// multiple of 8 bytes (JSON allows trailing whitespace; it keeps the tensors that follow aligned, so
// receivers can view them in place), then each binary tensor's raw little-endian bytes in order. The
// header's length travels in `Inference-Header-Content-Length`; without it the whole body is JSON.
// Every size is checked: header length against the body, each binary_data_size against dtype × shape,
// missing bytes, trailing bytes.
import { elementCount, type DType } from "../dtype.ts";
import { ProtocolError } from "./error.ts";
import { bytesOf, checkShape, checkTensor, dataFromBytes, dataFromJson, dataToJson, fixedDType, type Tensor } from "./tensor.ts";
import type { InferInputJson, InferOutputJson, InferRequestJson, InferRequestedOutputJson, InferResponseJson, Parameters } from "./types.ts";

/** An output the caller asks for, and whether it wants raw bytes (undefined: the output carries no flag, so Triton answers it as JSON). */
export interface RequestedOutput {
  name: string;
  binary?: boolean;
  parameters?: Parameters;
}

export interface InferRequest {
  id?: string;
  parameters?: Parameters;
  inputs: Tensor[];
  /** Omitted: every output of the model. */
  outputs?: RequestedOutput[];
}

export interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Parameters;
  outputs: Tensor[];
}

/** A body ready to send: write `parts` in order (no concatenation needed). */
export interface EncodedBody {
  parts: Uint8Array[];
  byteLength: number;
  /** Set when the body carries binary tensors: the value of Inference-Header-Content-Length. */
  headerLength?: number;
}

export interface EncodeRequestOptions {
  /** Send inputs as raw bytes. @default true */
  binaryInputs?: boolean;
  /**
   * Ask for outputs as raw bytes: `parameters.binary_data: true` on every listed output that does not
   * say otherwise, and the request-level `binary_data_output` for the outputs not listed. Triton
   * applies `binary_data_output` only to outputs the request does not list (server
   * src/http_server.cc, r24.08), so the per-output flag is what makes a listed output binary.
   * @default true
   */
  binaryOutputs?: boolean;
}

const ALIGN = 8;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Header bytes padded with spaces so the tensors after it start at a multiple of 8. */
function headerBytes(json: unknown, pad: boolean): Uint8Array {
  const text = JSON.stringify(json);
  const raw = encoder.encode(text);
  if (!pad || raw.byteLength % ALIGN === 0) return raw;
  const out = new Uint8Array(raw.byteLength + (ALIGN - (raw.byteLength % ALIGN))).fill(0x20);
  out.set(raw);
  return out;
}

function body(header: Uint8Array, blobs: Uint8Array[], binary: boolean): EncodedBody {
  const byteLength = blobs.reduce((n, b) => n + b.byteLength, header.byteLength);
  return binary ? { parts: [header, ...blobs], byteLength, headerLength: header.byteLength } : { parts: [header], byteLength };
}

/** All parts as one buffer (for transports that take a single body). */
export function concatParts(b: EncodedBody): Uint8Array {
  if (b.parts.length === 1) return b.parts[0]!;
  const out = new Uint8Array(b.byteLength);
  let at = 0;
  for (const p of b.parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** `Inference-Header-Content-Length` as a number; undefined when absent; ProtocolError when not a decimal integer. */
export function parseHeaderLength(value: string | string[] | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const v = Array.isArray(value) ? value.join(",") : value;
  if (!/^\s*\d{1,15}\s*$/.test(v)) throw new ProtocolError(`Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function encodeInferRequest(req: InferRequest, o: EncodeRequestOptions = {}): EncodedBody {
  const binaryIn = o.binaryInputs ?? true;
  const binaryOut = o.binaryOutputs ?? true;
  const blobs: Uint8Array[] = [];
  const inputs: InferInputJson[] = req.inputs.map((t) => {
    checkTensor(t, `input ${t.name}`);
    if (!binaryIn) return { name: t.name, shape: t.shape, datatype: t.datatype, data: dataToJson(t.datatype, t.data) };
    const bytes = bytesOf(t.data);
    blobs.push(bytes);
    return { name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: bytes.byteLength } };
  });
  const json: InferRequestJson = {
    ...(req.id !== undefined ? { id: req.id } : {}),
    parameters: { ...req.parameters, ...(binaryOut ? { binary_data_output: true } : {}) },
    inputs,
    ...(req.outputs ? { outputs: req.outputs.map((r) => requestedOutputJson(r, binaryOut)) } : {}),
  };
  if (Object.keys(json.parameters!).length === 0) delete json.parameters;
  return body(headerBytes(json, binaryIn), blobs, binaryIn);
}

function requestedOutputJson(r: RequestedOutput, binaryByDefault: boolean): InferRequestedOutputJson {
  const binary = r.binary ?? (binaryByDefault ? true : undefined);
  const parameters = { ...r.parameters, ...(binary !== undefined ? { binary_data: binary } : {}) };
  return Object.keys(parameters).length ? { name: r.name, parameters } : { name: r.name };
}

/** The decoded request; `binaryOutputs` is the request-level `binary_data_output`, which covers only outputs the request does not list. */
export interface DecodedInferRequest extends InferRequest {
  binaryOutputs: boolean;
}

/**
 * Triton's rule for the answer's encoding of each output (server src/http_server.cc, r24.08): a listed
 * output is binary only when it carries `parameters.binary_data: true`; with no `outputs` list, every
 * output follows the request-level `binary_data_output`.
 */
export function binaryOutput(request: Pick<DecodedInferRequest, "outputs" | "binaryOutputs">, listed: RequestedOutput | undefined): boolean {
  return request.outputs ? listed?.binary === true : request.binaryOutputs;
}

/** Splits a body into its JSON header and the bytes after it. */
function splitBody(body: Uint8Array, headerLength: number | undefined, what: string): { json: unknown; binary: Uint8Array } {
  const end = headerLength ?? body.byteLength;
  if (headerLength !== undefined && headerLength > body.byteLength) {
    throw new ProtocolError(`Inference-Header-Content-Length is ${headerLength}, but the ${what} body has only ${body.byteLength} bytes`);
  }
  if (end === 0) throw new ProtocolError(`the ${what} has an empty JSON header`);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body.subarray(0, end)));
  } catch (e) {
    throw new ProtocolError(`failed to parse the ${what} JSON${headerLength !== undefined ? ` (first ${headerLength} bytes)` : ""}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { json, binary: body.subarray(end) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function parameters(v: unknown, what: string): Parameters | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new ProtocolError(`${what}: parameters must be an object`);
  return v as Parameters;
}

function optionalBool(p: Parameters | undefined, key: string, what: string): boolean | undefined {
  const v = p?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw new ProtocolError(`${what}: parameters.${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Reads the tensors of a body: JSON `data`, or `binary_data_size` bytes taken in order from `binary`.
 * Shared by requests (inputs) and responses (outputs).
 */
function readTensors(list: unknown, binary: Uint8Array, headerLength: number | undefined, role: "input" | "output"): Tensor[] {
  const tensors: Tensor[] = [];
  const seen = new Set<string>();
  let at = 0;
  if (!Array.isArray(list)) throw new ProtocolError(`${role}s must be an array`);
  list.forEach((raw, i) => {
    if (!isObject(raw)) throw new ProtocolError(`${role}s[${i}] must be an object`);
    const name = raw.name;
    if (typeof name !== "string" || name === "") throw new ProtocolError(`${role}s[${i}] has no name`);
    const what = `${role} '${name}'`;
    if (seen.has(name)) throw new ProtocolError(`${what} appears more than once`);
    seen.add(name);
    const { dtype, info } = fixedDType(raw.datatype, what);
    const shape = checkShape(raw.shape, what);
    const p = parameters(raw.parameters, what);
    const size = p?.binary_data_size;
    if (size === undefined) {
      if (raw.data === undefined) throw new ProtocolError(`${what} has neither data nor parameters.binary_data_size`);
      tensors.push({ name, datatype: dtype, shape: [...shape], data: dataFromJson(dtype, shape, raw.data, what) });
      return;
    }
    if (raw.data !== undefined) throw new ProtocolError(`${what} has both data and parameters.binary_data_size`);
    if (headerLength === undefined) throw new ProtocolError(`${what} gives binary_data_size but the message has no Inference-Header-Content-Length header`);
    if (!Number.isSafeInteger(size) || (size as number) < 0) throw new ProtocolError(`${what}: binary_data_size must be a non-negative integer, got ${JSON.stringify(size)}`);
    const want = info.byteSize * elementCount(shape);
    if (size !== want) throw new ProtocolError(`${what}: binary_data_size is ${size}, but ${dtype} [${shape.join(", ")}] takes ${want} bytes`);
    if (at + want > binary.byteLength) {
      throw new ProtocolError(`${what}: needs ${want} bytes at offset ${headerLength + at}, but the body ends after ${binary.byteLength - at} more`);
    }
    tensors.push({ name, datatype: dtype, shape: [...shape], data: dataFromBytes(dtype, binary.subarray(at, at + want), what) });
    at += want;
  });
  if (at !== binary.byteLength) throw new ProtocolError(`${binary.byteLength - at} unexpected bytes after the last binary ${role} (the binary_data_size values add up to ${at})`);
  return tensors;
}

export function decodeInferRequest(body: Uint8Array, headerLength: number | undefined): DecodedInferRequest {
  const { json, binary } = splitBody(body, headerLength, "request");
  if (!isObject(json)) throw new ProtocolError("the request JSON must be an object");
  const p = parameters(json.parameters, "request");
  if (json.id !== undefined && typeof json.id !== "string") throw new ProtocolError(`request id must be a string, got ${JSON.stringify(json.id)}`);
  if (json.inputs === undefined) throw new ProtocolError("the request has no inputs");
  const inputs = readTensors(json.inputs, binary, headerLength, "input");
  let outputs: RequestedOutput[] | undefined;
  if (json.outputs !== undefined) {
    if (!Array.isArray(json.outputs)) throw new ProtocolError("outputs must be an array");
    const seen = new Set<string>();
    outputs = json.outputs.map((o: unknown, i) => {
      if (!isObject(o) || typeof o.name !== "string" || o.name === "") throw new ProtocolError(`outputs[${i}] must be an object with a name`);
      if (seen.has(o.name)) throw new ProtocolError(`output '${o.name}' is requested more than once`);
      seen.add(o.name);
      const op = parameters(o.parameters, `output '${o.name}'`);
      const binaryOut = optionalBool(op, "binary_data", `output '${o.name}'`);
      return { name: o.name, ...(binaryOut !== undefined ? { binary: binaryOut } : {}), ...(op ? { parameters: op } : {}) };
    });
  }
  return {
    ...(json.id !== undefined ? { id: json.id as string } : {}),
    ...(p ? { parameters: p } : {}),
    inputs,
    ...(outputs ? { outputs } : {}),
    binaryOutputs: optionalBool(p, "binary_data_output", "request") ?? false,
  };
}

/** An output to send and how. */
export interface ResponseOutput {
  tensor: Tensor;
  binary: boolean;
}

export interface EncodeResponseInput {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Parameters;
  outputs: ResponseOutput[];
}

export function encodeInferResponse(r: EncodeResponseInput): EncodedBody {
  const blobs: Uint8Array[] = [];
  const outputs: InferOutputJson[] = r.outputs.map(({ tensor: t, binary }) => {
    if (!binary) return { name: t.name, datatype: t.datatype, shape: t.shape, data: dataToJson(t.datatype, t.data) };
    const bytes = bytesOf(t.data);
    blobs.push(bytes);
    return { name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: bytes.byteLength } };
  });
  const json: InferResponseJson = {
    model_name: r.model_name,
    ...(r.model_version !== undefined ? { model_version: r.model_version } : {}),
    ...(r.id !== undefined ? { id: r.id } : {}),
    ...(r.parameters ? { parameters: r.parameters } : {}),
    outputs,
  };
  const binary = blobs.length > 0;
  return body(headerBytes(json, binary), blobs, binary);
}

export function decodeInferResponse(body: Uint8Array, headerLength: number | undefined): InferResponse {
  const { json, binary } = splitBody(body, headerLength, "response");
  if (!isObject(json)) throw new ProtocolError("the response JSON must be an object");
  if (typeof json.model_name !== "string") throw new ProtocolError("the response has no model_name");
  const outputs = readTensors(json.outputs ?? [], binary, headerLength, "output");
  return {
    model_name: json.model_name,
    ...(typeof json.model_version === "string" ? { model_version: json.model_version } : {}),
    ...(typeof json.id === "string" ? { id: json.id } : {}),
    ...(isObject(json.parameters) ? { parameters: json.parameters as Parameters } : {}),
    outputs,
  };
}

/** The byte size a fixed-size tensor of this dtype and shape takes on the wire. */
export function wireSize(datatype: DType, shape: readonly number[]): number {
  return fixedDType(datatype, "tensor").info.byteSize * elementCount(shape);
}
