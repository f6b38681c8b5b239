// What a loaded model version runs on: ONNX Runtime, a Python step process, or the ensemble
// scheduler. The server checks tensors against the config before a backend sees them.
import type { ModelConfig } from "../config/index.ts";
import type { Tensor } from "../kserve/index.ts";

export type BackendKind = "onnxruntime" | "python" | "ensemble";

export interface Backend {
  readonly kind: BackendKind;
  /** Runs one request; returns exactly the `outputs` named (never empty), in that order. */
  run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]>;
  /** Frees what the backend holds (session, child process); in-flight runs have finished. */
  close(): Promise<void>;
}

/**
 * The model's instances (instance_group counts, at least 1; a group without a count is 1): how many
 * executions Triton runs at once, the rest waiting in the scheduler's queue.
 */
export function instanceCount(cfg: ModelConfig): number {
  const groups = cfg.instance_group ?? [];
  return Math.max(1, groups.reduce((n, g) => n + Math.max(1, g.count ?? 1), 0));
}
