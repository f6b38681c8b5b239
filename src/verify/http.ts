// KServeServer over HTTP: the gate's five calls on the project's KServe-v2 client (src/client), with
// the binary tensor extension for every inference (inputs and outputs as raw little-endian bytes).
// Also two small helpers in the gate's terms (a request from tensors and output names, a response to
// tensors) over the shared codec of src/kserve, for tests and fakes.
import { KServeClient } from "../client/index.ts";
import { concatParts, decodeInferResponse as decodeResponse, encodeInferRequest as encodeRequest, HEADER_LENGTH } from "../kserve/index.ts";
import type { Tensor } from "../pipeline/tensor.ts";
import type { ModelMetadata } from "./metadata.ts";
import type { IndexEntry } from "./repository.ts";
import type { CallOptions, KServeServer } from "./server.ts";

export { HEADER_LENGTH };

export interface HttpServerOptions {
  /** Extra headers on every request (e.g. the restricted model-repository API key). */
  headers?: Record<string, string>;
}

/** An inference request body: every input as binary, every named output asked as binary. */
export function encodeInferRequest(inputs: readonly Tensor[], outputs: readonly string[]): { body: Uint8Array; headerLength: number } {
  const b = encodeRequest({ inputs: [...inputs], outputs: outputs.map((name) => ({ name, binary: true })) }, { binaryInputs: true, binaryOutputs: true });
  return { body: concatParts(b), headerLength: b.headerLength ?? b.byteLength };
}

/** The output tensors of an inference response (binary with its header length, or plain JSON). */
export function decodeInferResponse(body: Uint8Array, headerLength: number | undefined): Tensor[] {
  return decodeResponse(body, headerLength).outputs;
}

export class HttpKServeServer implements KServeServer {
  readonly url: string;
  private readonly client: KServeClient;

  constructor(url: string, o: HttpServerOptions = {}) {
    this.client = new KServeClient(url, o.headers ? { headers: o.headers } : {});
    this.url = this.client.url;
  }

  live(o: CallOptions = {}): Promise<boolean> {
    return this.client.live(o);
  }

  ready(o: CallOptions = {}): Promise<boolean> {
    return this.client.ready(o);
  }

  repositoryIndex(o: CallOptions = {}): Promise<IndexEntry[]> {
    return this.client.repositoryIndex(o);
  }

  async modelMetadata(model: string, o: CallOptions = {}): Promise<ModelMetadata> {
    const m = await this.client.modelMetadata(model, o);
    return { ...m, inputs: m.inputs ?? [], outputs: m.outputs ?? [] };
  }

  infer(model: string, inputs: readonly Tensor[], outputs: readonly string[], o: CallOptions = {}): Promise<Tensor[]> {
    return this.client.infer(model, inputs, outputs, { ...o, encoding: "binary", binaryOutputs: true });
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.client.close();
  }
}
