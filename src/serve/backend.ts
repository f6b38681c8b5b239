// What a loaded model version runs on: ONNX Runtime, a Python step process, or the ensemble
// scheduler. The server checks tensors against the config before a backend sees them.
import type { Tensor } from "../kserve/index.ts";

export type BackendKind = "onnxruntime" | "python" | "ensemble";

export interface Backend {
  readonly kind: BackendKind;
  /** Runs one request; returns exactly the `outputs` named (never empty), in that order. */
  run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]>;
  /** Frees what the backend holds (session, child process); in-flight runs have finished. */
  close(): Promise<void>;
}
