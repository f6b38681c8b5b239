// Public API of src/config: Triton model configs as typed objects, written to and read from
// config.pbtxt (protobuf text format), checked by a round trip, printed as Triton's /config JSON,
// ensembles checked against their step models, and what an ONNX Runtime config means for GPU memory.

import { UserError } from "../errors.ts";
import { firstDifference } from "./compare.ts";
import { toTritonJson, type JsonObject } from "./json.ts";
import type { ModelConfig } from "./model-config.ts";
import { MODEL_CONFIG } from "./model-config-schema.ts";
import { parseTextFormat } from "./text-parser.ts";
import { writeTextFormat } from "./text-writer.ts";

export { checkEnsemble } from "./ensemble.ts";
export { sourcePosition, type SourcePos } from "./text-format.ts";
export type { JsonObject, JsonValue } from "./json.ts";
export type * from "./model-config.ts";
export { tritonDataType } from "./model-config.ts";
export { ortMemorySemantics, type OrtMemorySemantics } from "./ort-memory.ts";

/** config.pbtxt text for `cfg`: deterministic, fields in model_config.proto order, ends with a newline. */
export function writeModelConfig(cfg: ModelConfig): string {
  return writeTextFormat(MODEL_CONFIG, cfg);
}

/**
 * Reads config.pbtxt text. Throws UserError naming `file:line:column`, the field path and what was
 * expected for any syntax error, unknown field, wrong type, unknown enum value or repeated singular field.
 */
export function parseModelConfig(text: string, file?: string): ModelConfig {
  // The parser produced this object field by field from MODEL_CONFIG, whose field names and types
  // the compiler keeps equal to ModelConfig (see SchemaDriftChecks in model-config.ts).
  return parseTextFormat(MODEL_CONFIG, text, file) as ModelConfig;
}

/** Thrown when a written config does not read back as the same config: a writer or parser bug. */
export class RoundTripError extends Error {
  constructor(
    readonly path: string,
    readonly written: unknown,
    readonly readBack: unknown,
    readonly text: string,
  ) {
    super(`config.pbtxt round trip differs at ${path}: wrote ${show(written)}, read back ${show(readBack)}`);
    this.name = "RoundTripError";
  }
}

/**
 * Writes `cfg`, parses the text and compares field by field under protobuf semantics (an unset scalar
 * equals its default; an empty list equals none). Throws RoundTripError at the first difference, or
 * the writer's UserError when `cfg` holds a value config.pbtxt cannot carry.
 */
export function roundTripCheck(cfg: ModelConfig): void {
  const text = writeModelConfig(cfg);
  let back: ModelConfig;
  try {
    back = parseModelConfig(text, "<written config.pbtxt>");
  } catch (e) {
    if (e instanceof UserError) throw new RoundTripError(e.problems[0]?.field ?? "", "(text)", `a parse error: ${e.message}`, text);
    throw e;
  }
  const d = firstDifference(MODEL_CONFIG, cfg, back);
  if (d) throw new RoundTripError(d.path, d.left, d.right, text);
}

/** `cfg` as Triton's `GET /v2/models/{m}/config` prints it; see json.ts for the exact conventions. */
export function modelConfigToJson(cfg: ModelConfig): JsonObject {
  return toTritonJson(MODEL_CONFIG, cfg);
}

function show(v: unknown): string {
  return v === undefined ? "(unset)" : JSON.stringify(v);
}
