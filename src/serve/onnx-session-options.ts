// ONNX Runtime session options for an onnxruntime model in serve-local, read from its config as
// Triton's ONNX Runtime backend reads them (onnxruntime_backend r24.08, src/onnxruntime.cc,
// ModelState::ModelState): the graph optimization level from `optimization.graph.level`, and the
// string parameters `execution_mode` (0 sequential, 1 parallel, anything else fails the load),
// `intra_op_thread_count` and `inter_op_thread_count` (parsed by std::stoi in backend_common's
// TryParseModelStringParameter: leading blanks and a sign allowed, trailing text ignored, no digits
// fails the load; a value <= 0 leaves ONNX Runtime's default).
//
// One choice is serve-local's own: its sessions' thread pools do not spin. Every model of the
// repository runs in this one process on the same CPU cores; a pool that keeps spinning after its
// run (ONNX Runtime's default) takes the cores from the next session, e.g. an ensemble's model
// right after its ONNX preprocess step. On Triton the models run on the GPU.
import type * as ort from "onnxruntime-node";
import type { ModelConfig } from "../config/index.ts";
import { LoadError } from "./model-dir.ts";

/** std::stoi as Triton applies it to a config string; undefined where it would throw. */
export function stoi(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]);
  return v >= -(2 ** 31) && v <= 2 ** 31 - 1 ? v : undefined;
}

const GRAPH_LEVELS: Record<number, ort.InferenceSession.SessionOptions["graphOptimizationLevel"]> = { [-1]: "basic", 1: "extended", 2: "disabled" };

export function onnxSessionOptions(model: string, cfg: ModelConfig): ort.InferenceSession.SessionOptions {
  const int = (key: string): number => {
    const text = cfg.parameters?.[key]?.string_value;
    if (text === undefined) return 0;
    const v = stoi(text);
    if (v === undefined) throw new LoadError(`model '${model}': parameter ${key}: failed to convert '${text}' to integral number`);
    return v;
  };
  const executionMode = int("execution_mode");
  if (executionMode !== 0 && executionMode !== 1) {
    throw new LoadError(`model '${model}': Invalid configuration value provided. Expected values for  execution_mode are 0 or 1 but got ${executionMode} .`);
  }
  const intra = int("intra_op_thread_count");
  const inter = int("inter_op_thread_count");
  const level = Number(cfg.optimization?.graph?.level ?? 0);
  return {
    executionProviders: ["cpu"],
    graphOptimizationLevel: GRAPH_LEVELS[level] ?? "all",
    executionMode: executionMode === 1 ? "parallel" : "sequential",
    ...(intra > 0 ? { intraOpNumThreads: intra } : {}),
    ...(inter > 0 ? { interOpNumThreads: inter } : {}),
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
  };
}
