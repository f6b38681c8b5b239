// Measured VRAM (from a GPU bench: nv_gpu_memory_used_bytes around explicit loads) replaces the
// specs' estimates per ONNX model. The file is JSON: { "<onnx model>": { residentMiB, peakMiB, source } }.
import { z } from "zod";
import { UserError, type Problem } from "../errors.ts";
import { MODEL_NAME_PATTERN } from "../names.ts";
import type { Catalog } from "../spec/catalog.ts";
import { MemorySchema } from "../spec/schema.ts";
import { loadYamlFile, type SourceMap } from "../spec/yaml.ts";

export const MeasuredSchema = z.record(z.string().regex(MODEL_NAME_PATTERN), MemorySchema);

export interface MeasuredMemory {
  file: string;
  byModel: ReadonlyMap<string, z.infer<typeof MemorySchema>>;
  source?: SourceMap;
}

/**
 * How the plan names a figure's origin: "measured: <source>", except figures of serve-local's simulated
 * card, whose source bench starts with "simulated (serve-local --gpu …)": they are never shown as measured.
 */
export function measuredSource(source: string): string {
  return /^simulated\b/.test(source) ? source : `measured: ${source}`;
}

/** Reads a measured-memory file (JSON is YAML, so errors get line:column for free). */
export async function loadMeasured(file: string): Promise<MeasuredMemory> {
  const { value, source } = await loadYamlFile(file, MeasuredSchema);
  return { file, byModel: new Map(Object.entries(value)), source };
}

/** Every measured name must be an ONNX model of the catalog: a typo would silently keep the estimate. */
export function checkMeasured(m: MeasuredMemory, catalog: Catalog): void {
  const onnx = new Set(catalog.branches.map((b) => b.models.onnx));
  const problems: Problem[] = [];
  for (const name of m.byModel.keys()) {
    if (onnx.has(name)) continue;
    const message = `'${name}' is not an ONNX model of the catalog`;
    const hint = "key measurements by the ONNX model name, e.g. midas_256_onnx or yolo11x_640";
    problems.push(m.source?.problem([name], message, hint, name) ?? { file: m.file, message, hint });
  }
  if (problems.length > 0) throw new UserError(problems, 2);
}
