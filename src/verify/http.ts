// KServeServer over HTTP (triton-facts.md): health, repository index, model metadata, and inference
// with the binary tensor extension (a JSON header, `Inference-Header-Content-Length`, then the raw
// little-endian tensor bytes, both ways). Every call takes the gate's abort signal.
import { dtypeInfo, isDType, type DType } from "../dtype.ts";
import type { Tensor, TensorData } from "../pipeline/tensor.ts";
import type { ModelMetadata } from "./metadata.ts";
import type { IndexEntry } from "./repository.ts";
import type { CallOptions, KServeServer } from "./server.ts";

export const HEADER_LENGTH = "Inference-Header-Content-Length";

/** A non-2xx answer; the message carries the server's `{"error": …}` text. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    message: string,
  ) {
    super(`${path}: HTTP ${status}: ${message}`);
    this.name = "HttpError";
  }
}

export interface HttpServerOptions {
  /** Extra headers on every request (e.g. the restricted model-repository API key). */
  headers?: Record<string, string>;
}

/** Encodes an inference request: JSON header, then every input's bytes in order; all outputs asked as binary. */
export function encodeInferRequest(inputs: readonly Tensor[], outputs: readonly string[]): { body: Uint8Array; headerLength: number } {
  const blobs = inputs.map((t) => {
    if (!dtypeInfo(t.datatype).array) throw new Error(`input ${t.name}: ${t.datatype} cannot travel as a fixed-size binary tensor`);
    return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  });
  const header = new TextEncoder().encode(
    JSON.stringify({
      inputs: inputs.map((t, i) => ({ name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: blobs[i]!.byteLength } })),
      outputs: outputs.map((name) => ({ name, parameters: { binary_data: true } })),
    }),
  );
  const body = new Uint8Array(header.byteLength + blobs.reduce((n, b) => n + b.byteLength, 0));
  body.set(header, 0);
  let at = header.byteLength;
  for (const b of blobs) {
    body.set(b, at);
    at += b.byteLength;
  }
  return { body, headerLength: header.byteLength };
}

interface ResponseOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

function typedFrom(datatype: DType, bytes: Uint8Array, name: string): TensorData {
  const info = dtypeInfo(datatype);
  if (!info.array) throw new Error(`output ${name}: ${datatype} is not a fixed-size type`);
  if (bytes.byteLength % info.byteSize !== 0) throw new Error(`output ${name}: ${bytes.byteLength} bytes is not a whole number of ${datatype} values`);
  const copy = bytes.slice(); // aligned, owned
  return new info.array(copy.buffer, 0, copy.byteLength / info.byteSize) as TensorData;
}

function typedFromJson(datatype: DType, values: unknown[], name: string): TensorData {
  const info = dtypeInfo(datatype);
  if (!info.array) throw new Error(`output ${name}: ${datatype} is not a fixed-size type`);
  const flat = (values as unknown[]).flat(Infinity) as (number | boolean | string)[];
  if (datatype === "INT64" || datatype === "UINT64") return new info.array(flat.map((v) => BigInt(v as number)) as never) as TensorData;
  return new info.array(flat.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : Number(v))) as never) as TensorData;
}

/** Decodes an inference response, binary (with the header length) or plain JSON. */
export function decodeInferResponse(body: Uint8Array, headerLength: number | undefined): Tensor[] {
  const jsonEnd = headerLength ?? body.byteLength;
  if (jsonEnd > body.byteLength) throw new Error(`response header length ${jsonEnd} exceeds the body (${body.byteLength} bytes)`);
  const parsed = JSON.parse(new TextDecoder().decode(body.subarray(0, jsonEnd))) as { outputs?: ResponseOutput[] };
  let at = jsonEnd;
  return (parsed.outputs ?? []).map((o) => {
    if (!isDType(o.datatype)) throw new Error(`output ${o.name}: unknown datatype ${o.datatype}`);
    const size = o.parameters?.binary_data_size;
    let data: TensorData;
    if (size !== undefined) {
      if (at + size > body.byteLength) throw new Error(`output ${o.name}: ${size} bytes announced, ${body.byteLength - at} left in the response`);
      data = typedFrom(o.datatype, body.subarray(at, at + size), o.name);
      at += size;
    } else {
      data = typedFromJson(o.datatype, o.data ?? [], o.name);
    }
    return { name: o.name, datatype: o.datatype, shape: o.shape, data };
  });
}

export class HttpKServeServer implements KServeServer {
  readonly url: string;
  private readonly headers: Record<string, string>;

  constructor(url: string, o: HttpServerOptions = {}) {
    this.url = url.replace(/\/+$/, "");
    this.headers = o.headers ?? {};
  }

  private async request(method: "GET" | "POST", path: string, o: CallOptions, body?: Uint8Array | string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.url}${path}`, { method, headers: { ...this.headers, ...headers }, ...(body === undefined ? {} : { body }), ...(o.signal ? { signal: o.signal } : {}) });
  }

  private async ok(res: Response, path: string): Promise<Response> {
    if (res.ok) return res;
    const text = await res.text();
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // not JSON: keep the text
    }
    throw new HttpError(res.status, path, message.trim() || res.statusText);
  }

  private async health(kind: "live" | "ready", o: CallOptions): Promise<boolean> {
    const res = await this.request("GET", `/v2/health/${kind}`, o);
    await res.arrayBuffer();
    return res.status === 200;
  }

  live(o: CallOptions = {}): Promise<boolean> {
    return this.health("live", o);
  }

  ready(o: CallOptions = {}): Promise<boolean> {
    return this.health("ready", o);
  }

  async repositoryIndex(o: CallOptions = {}): Promise<IndexEntry[]> {
    const path = "/v2/repository/index";
    const res = await this.ok(await this.request("POST", path, o, "{}", { "Content-Type": "application/json" }), path);
    return (await res.json()) as IndexEntry[];
  }

  async modelMetadata(model: string, o: CallOptions = {}): Promise<ModelMetadata> {
    const path = `/v2/models/${encodeURIComponent(model)}`;
    const res = await this.ok(await this.request("GET", path, o), path);
    return (await res.json()) as ModelMetadata;
  }

  async infer(model: string, inputs: readonly Tensor[], outputs: readonly string[], o: CallOptions = {}): Promise<Tensor[]> {
    const path = `/v2/models/${encodeURIComponent(model)}/infer`;
    const { body, headerLength } = encodeInferRequest(inputs, outputs);
    const res = await this.ok(
      await this.request("POST", path, o, body, { "Content-Type": "application/octet-stream", [HEADER_LENGTH]: String(headerLength) }),
      path,
    );
    const bytes = new Uint8Array(await res.arrayBuffer());
    const h = res.headers.get(HEADER_LENGTH);
    const got = decodeInferResponse(bytes, h === null ? undefined : Number(h));
    return outputs.map((name) => {
      const t = got.find((g) => g.name === name);
      if (!t) throw new HttpError(res.status, path, `output ${name} missing from the response (got ${got.map((g) => g.name).join(", ") || "none"})`);
      return t;
    });
  }
}
