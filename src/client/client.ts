// The typed KServe-v2 HTTP client (Triton's protocol and extensions, triton-facts.md): health, server
// and model metadata, config, statistics, the repository API, and inference with the binary tensor
// extension by default (typed arrays in and out, JSON on request). Every call takes an AbortSignal and
// a timeout; every non-2xx answer becomes a KServeHttpError carrying the status, path and the
// server's `error` text.
import {
  decodeInferResponse,
  encodeInferRequest,
  HEADER_LENGTH,
  parseHeaderLength,
  type EncodedBody,
  type InferRequest,
  type InferResponse,
  type ModelMetadata,
  type ModelStatisticsResponse,
  type Parameters,
  type RepositoryIndexEntry,
  type RequestedOutput,
  type ServerMetadata,
  type Tensor,
} from "../kserve/index.ts";
import { KServeHttpError } from "./errors.ts";
import { defaultMetricsUrl, fetchPrometheus, type PromSample } from "./prometheus.ts";
import { fetchTransport, httpTransport, type RawResponse, type Transport, type TransportKind } from "./transport.ts";

export interface KServeClientOptions {
  /** Headers sent on every request, e.g. the restricted-API header `{ "triton-repo-key": "…" }`. */
  headers?: Record<string, string>;
  /** Timeout of each request in ms, unless a call gives its own. @default none */
  timeoutMs?: number;
  /** node:http with a keep-alive agent, or the global fetch. @default "http" (faster on loopback; see transport.ts) */
  transport?: TransportKind;
  /** Keep-alive sockets per host (node:http transport). @default 64 */
  maxSockets?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's timeoutMs for this call. */
  timeoutMs?: number;
}

export interface ModelCallOptions extends CallOptions {
  /** A specific model version; the server's choice when omitted. */
  version?: string;
}

export interface InferOptions extends ModelCallOptions {
  /** Tensors as raw bytes (binary extension) or JSON `data`. @default "binary" */
  encoding?: "binary" | "json";
  /** Ask for outputs as raw bytes. @default true for binary encoding, false for JSON */
  binaryOutputs?: boolean;
  id?: string;
  parameters?: Parameters;
}

const JSON_HEADERS = { "content-type": "application/json" };
const EMPTY_OBJECT: EncodedBody = { parts: [new TextEncoder().encode("{}")], byteLength: 2 };

function jsonBody(value: unknown): EncodedBody {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return { parts: [bytes], byteLength: bytes.byteLength };
}

export class KServeClient {
  /** Base URL without a trailing slash. */
  readonly url: string;
  private readonly transport: Transport;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number | undefined;

  constructor(url: string, o: KServeClientOptions = {}) {
    const base = new URL(url);
    this.url = base.toString().replace(/\/+$/, "");
    this.transport = o.transport === "fetch" ? fetchTransport(base) : httpTransport(base, o.maxSockets);
    this.headers = { ...o.headers };
    this.timeoutMs = o.timeoutMs;
  }

  /** GET /v2/health/live: true on 200, false on another status; throws when the server cannot be reached. */
  async live(o: CallOptions = {}): Promise<boolean> {
    return (await this.raw("GET", "/v2/health/live", o)).status === 200;
  }

  /** GET /v2/health/ready, as live. */
  async ready(o: CallOptions = {}): Promise<boolean> {
    return (await this.raw("GET", "/v2/health/ready", o)).status === 200;
  }

  /** GET /v2: name, version, extensions. */
  serverMetadata(o: CallOptions = {}): Promise<ServerMetadata> {
    return this.json("GET", "/v2", o);
  }

  /** GET /v2/models/{m}[/versions/{v}]. */
  modelMetadata(model: string, o: ModelCallOptions = {}): Promise<ModelMetadata> {
    return this.json("GET", modelPath(model, o.version), o);
  }

  /** GET /v2/models/{m}[/versions/{v}]/config: the model configuration as Triton prints it. */
  modelConfig(model: string, o: ModelCallOptions = {}): Promise<Record<string, unknown>> {
    return this.json("GET", `${modelPath(model, o.version)}/config`, o);
  }

  /** GET /v2/models/{m}[/versions/{v}]/ready: true on 200. */
  async modelReady(model: string, o: ModelCallOptions = {}): Promise<boolean> {
    return (await this.raw("GET", `${modelPath(model, o.version)}/ready`, o)).status === 200;
  }

  /** GET /v2/models/{m}/stats, or every model's with no name. */
  modelStats(model?: string, o: ModelCallOptions = {}): Promise<ModelStatisticsResponse> {
    return this.json("GET", model === undefined ? "/v2/models/stats" : `${modelPath(model, o.version)}/stats`, o);
  }

  /** POST /v2/repository/index; `ready: true` lists only READY models. */
  repositoryIndex(o: CallOptions & { ready?: boolean } = {}): Promise<RepositoryIndexEntry[]> {
    return this.json("POST", "/v2/repository/index", o, o.ready ? jsonBody({ ready: true }) : EMPTY_OBJECT);
  }

  /** POST /v2/repository/models/{m}/load; resolves once the server says it loaded. */
  async load(model: string, o: CallOptions & { parameters?: Parameters } = {}): Promise<void> {
    await this.ok("POST", `/v2/repository/models/${encodeURIComponent(model)}/load`, o, o.parameters ? jsonBody({ parameters: o.parameters }) : EMPTY_OBJECT);
  }

  /** POST /v2/repository/models/{m}/unload. */
  async unload(model: string, o: CallOptions & { parameters?: Parameters } = {}): Promise<void> {
    await this.ok("POST", `/v2/repository/models/${encodeURIComponent(model)}/unload`, o, o.parameters ? jsonBody({ parameters: o.parameters }) : EMPTY_OBJECT);
  }

  /**
   * POST /v2/models/{m}/infer with these inputs; the named outputs come back in the order asked (all
   * the model's outputs, in the server's order, when `outputs` is empty or omitted).
   */
  async infer(model: string, inputs: readonly Tensor[], outputs: readonly string[] = [], o: InferOptions = {}): Promise<Tensor[]> {
    const res = await this.inferRequest(model, { inputs: [...inputs], ...(outputs.length ? { outputs: outputs.map((name) => ({ name })) } : {}), ...(o.id !== undefined ? { id: o.id } : {}), ...(o.parameters ? { parameters: o.parameters } : {}) }, o);
    if (outputs.length === 0) return res.outputs;
    return outputs.map((name) => {
      const t = res.outputs.find((x) => x.name === name);
      if (!t) throw new KServeHttpError(200, "POST", inferPath(model, o.version), `output ${name} missing from the response (got ${res.outputs.map((x) => x.name).join(", ") || "none"})`);
      return t;
    });
  }

  /** The whole inference exchange: id, parameters and per-output choices in, model name/version, id and outputs back. */
  async inferRequest(model: string, request: InferRequest, o: InferOptions = {}): Promise<InferResponse> {
    const binary = (o.encoding ?? "binary") === "binary";
    const body = encodeInferRequest(request, { binaryInputs: binary, binaryOutputs: o.binaryOutputs ?? binary });
    const headers: Record<string, string> = body.headerLength !== undefined ? { "content-type": "application/octet-stream", [HEADER_LENGTH]: String(body.headerLength) } : JSON_HEADERS;
    const path = inferPath(model, o.version);
    const res = await this.ok("POST", path, o, body, headers);
    try {
      return decodeInferResponse(res.body, parseHeaderLength(res.header(HEADER_LENGTH.toLowerCase())));
    } catch (e) {
      throw new KServeHttpError(res.status, "POST", path, `unreadable response: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Prometheus samples from the metrics endpoint (Triton: same host, port 8002, /metrics). */
  metrics(url = defaultMetricsUrl(this.url), o: CallOptions = {}): Promise<PromSample[]> {
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    return fetchPrometheus(url, { headers: this.headers, ...(o.signal ? { signal: o.signal } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  }

  /** Closes idle keep-alive sockets; the client must not be used afterwards. */
  close(): void {
    this.transport.close();
  }

  private raw(method: "GET" | "POST", path: string, o: CallOptions, body?: EncodedBody, headers: Record<string, string> = body ? JSON_HEADERS : {}): Promise<RawResponse> {
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    return this.transport.send({
      method,
      path,
      headers: { ...this.headers, ...headers },
      ...(body ? { body } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
  }

  private async ok(method: "GET" | "POST", path: string, o: CallOptions, body?: EncodedBody, headers?: Record<string, string>): Promise<RawResponse> {
    const res = await this.raw(method, path, o, body, headers);
    if (res.status >= 200 && res.status < 300) return res;
    throw new KServeHttpError(res.status, method, path, serverError(res));
  }

  private async json<T>(method: "GET" | "POST", path: string, o: CallOptions, body?: EncodedBody): Promise<T> {
    const res = await this.ok(method, path, o, body);
    try {
      return JSON.parse(Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength).toString("utf8")) as T;
    } catch (e) {
      throw new KServeHttpError(res.status, method, path, `the answer is not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

function modelPath(model: string, version?: string): string {
  return `/v2/models/${encodeURIComponent(model)}${version !== undefined ? `/versions/${encodeURIComponent(version)}` : ""}`;
}

function inferPath(model: string, version?: string): string {
  return `${modelPath(model, version)}/infer`;
}

/** The server's `error` text, or the body as text, or the status line's meaning. */
function serverError(res: RawResponse): string {
  const text = Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength).toString("utf8").trim();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === "string") return parsed.error;
  } catch {
    // not JSON: the text itself
  }
  return text || `(empty body, HTTP ${res.status})`;
}

export type { RequestedOutput };
