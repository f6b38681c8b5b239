// The part of a KServe-v2 server the gate talks to, as an interface: health, the repository index,
// model metadata and inference (binary tensors). The HTTP implementation adapts the project's client;
// tests can pass anything that speaks these five calls.
import type { Tensor } from "../pipeline/tensor.ts";
import type { ModelMetadata } from "./metadata.ts";
import type { IndexEntry } from "./repository.ts";

export interface CallOptions {
  /** Aborts the request (the gate's deadline). */
  signal?: AbortSignal;
}

export interface KServeServer {
  readonly url: string;
  /** GET /v2/health/live: true on 200, false on another status; throws when the server cannot be reached. */
  live(o?: CallOptions): Promise<boolean>;
  /** GET /v2/health/ready, as live. */
  ready(o?: CallOptions): Promise<boolean>;
  /** POST /v2/repository/index. */
  repositoryIndex(o?: CallOptions): Promise<IndexEntry[]>;
  /** GET /v2/models/{model}. */
  modelMetadata(model: string, o?: CallOptions): Promise<ModelMetadata>;
  /** POST /v2/models/{model}/infer with the binary tensor extension; outputs in the order asked. */
  infer(model: string, inputs: readonly Tensor[], outputs: readonly string[], o?: CallOptions): Promise<Tensor[]>;
}

/** Reaching the server failed (refused, reset, DNS), and a one-line description of any error: the client's. */
export { describeError, isRestricted, isUnreachable } from "../client/index.ts";
