// The KServe v2 HTTP protocol as Triton speaks it (triton-facts.md): the JSON bodies of every endpoint
// serve-local answers and the client reads. Wire names are the protocol's own (snake_case), so an
// object here reads like the JSON on the wire. Tensors with typed arrays live in tensor.ts.

/** Request/response `parameters`: protocol extensions put flags and sizes here. */
export type Parameters = Record<string, string | number | boolean>;

/** `GET /v2`. */
export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

/** A tensor as model metadata describes it; -1 in `shape` is a variable dimension. */
export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/** `GET /v2/models/{m}[/versions/{v}]`. */
export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform?: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export type ModelState = "READY" | "UNAVAILABLE" | "LOADING" | "UNLOADING";

/**
 * One row of `POST /v2/repository/index`, as Triton writes it: a model never loaded is `{name}` only;
 * the others carry version and state, and a reason unless READY ("unloaded" after an unload).
 */
export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state?: ModelState | "";
  reason?: string;
}

/** Body of every non-2xx answer. */
export interface ErrorBody {
  error: string;
}

/** One input of an inference request: `data` in JSON, or `parameters.binary_data_size` bytes after the header. */
export interface InferInputJson {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  data?: unknown[];
}

/** An output the caller asks for; `parameters.binary_data: true` asks for raw bytes. */
export interface InferRequestedOutputJson {
  name: string;
  parameters?: Parameters;
}

/** The JSON part of `POST /v2/models/{m}/infer`. */
export interface InferRequestJson {
  id?: string;
  /** `binary_data_output: true` makes every output binary unless it says otherwise. */
  parameters?: Parameters;
  inputs: InferInputJson[];
  outputs?: InferRequestedOutputJson[];
}

export interface InferOutputJson {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  data?: (number | boolean)[];
}

/** The JSON part of an inference response. */
export interface InferResponseJson {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Parameters;
  outputs: InferOutputJson[];
}

/** Count and total duration of one phase, as Triton's statistics extension reports them. */
export interface StatDuration {
  count: number;
  ns: number;
}

/** One model version in `GET /v2/models/{m}/stats`. */
export interface ModelStatistics {
  name: string;
  version: string;
  /** Milliseconds since the epoch of the last inference; 0 when none. */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: {
    success: StatDuration;
    fail: StatDuration;
    queue: StatDuration;
    compute_input: StatDuration;
    compute_infer: StatDuration;
    compute_output: StatDuration;
    cache_hit: StatDuration;
    cache_miss: StatDuration;
  };
  /** Per response index, for backends that report response statistics (decoupled models); else empty. */
  response_stats: Record<string, Record<string, StatDuration>>;
  batch_stats: unknown[];
  /** Memory the model's backend declared at load: `{type, id, byte_size}` per kind. */
  memory_usage: { type: string; id: number; byte_size: number }[];
}

export interface ModelStatisticsResponse {
  model_stats: ModelStatistics[];
}

/** The header that carries the JSON length of a binary-extension body. */
export const HEADER_LENGTH = "Inference-Header-Content-Length";
