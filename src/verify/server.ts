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

/** True for errors that mean the server is not there (refused, reset, DNS), as opposed to an HTTP error answer. */
export function isUnreachable(e: unknown): boolean {
  const codes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "ERR_SOCKET_CONNECTION_TIMEOUT"]);
  for (let c: unknown = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string" && codes.has(code)) return true;
    if (c instanceof Error && /fetch failed|socket hang up|other side closed|ECONNREFUSED|ECONNRESET/.test(c.message)) return true;
  }
  return false;
}

/** A one-line description of an error, following `cause` (fetch wraps the socket error). */
export function describeError(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const msg = c instanceof Error ? c.message : String(c);
    const code = (c as { code?: unknown }).code;
    const text = typeof code === "string" && !msg.includes(code) ? `${msg} (${code})` : msg;
    if (!parts.includes(text)) parts.push(text);
  }
  return parts.join(": ");
}
