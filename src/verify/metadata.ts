// Step 3: what the server says a model takes and gives (GET /v2/models/{m}) against the spec. A
// stale deployment (a repository written from older specs, or an old export) shows up here, and the
// message names the model, the tensor, the field and both values. Pure.
import { preprocessTensors } from "../repo/model-configs.ts";
import type { CatalogBranch } from "../spec/catalog.ts";
import type { TensorSpec } from "../spec/schema.ts";
import { entryTensors } from "../pipeline/tensor.ts";
import type { ModelRole } from "../names.ts";
import type { ModelMetadata } from "../kserve/types.ts";

/** The model metadata response (GET /v2/models/{m}), as the protocol layer defines it. */
export type { ModelMetadata };

export interface SpecModel {
  model: string;
  role: ModelRole;
  branch: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** What the spec says each of a branch's models exposes. */
export function specModels(cb: CatalogBranch): SpecModel[] {
  const n = cb.models;
  const base = { branch: cb.branch.name };
  const out: SpecModel[] = [];
  if (n.ensemble) out.push({ ...base, model: n.ensemble, role: "ensemble", ...entryTensors(cb) });
  if (n.preprocess) out.push({ ...base, model: n.preprocess, role: "preprocess", ...preprocessTensors(cb) });
  out.push({ ...base, model: n.onnx, role: "onnx", inputs: cb.branch.onnx.inputs, outputs: cb.branch.onnx.outputs });
  return out;
}

const dims = (d: readonly number[]) => `[${d.join(", ")}]`;

/** Every disagreement between the server's metadata and the spec, one sentence each. */
export function compareMetadata(actual: ModelMetadata, spec: SpecModel): string[] {
  const problems: string[] = [];
  for (const side of ["inputs", "outputs"] as const) {
    const word = side === "inputs" ? "input" : "output";
    const served = actual[side] ?? [];
    for (const want of spec[side]) {
      const got = served.find((t) => t.name === want.name);
      if (!got) {
        problems.push(`${spec.model}: ${word} ${want.name} is missing on the server (server ${side}: ${served.map((t) => t.name).join(", ") || "none"}; spec ${side}: ${spec[side].map((t) => t.name).join(", ")})`);
        continue;
      }
      if (got.datatype !== want.dtype) problems.push(`${spec.model}: ${word} ${want.name} datatype: server ${got.datatype}, spec ${want.dtype}`);
      if (dims(got.shape ?? []) !== dims(want.dims)) problems.push(`${spec.model}: ${word} ${want.name} shape: server ${dims(got.shape ?? [])}, spec ${dims(want.dims)}`);
    }
    for (const extra of served.filter((t) => !spec[side].some((w) => w.name === t.name))) {
      problems.push(`${spec.model}: ${word} ${extra.name} (${extra.datatype} ${dims(extra.shape ?? [])}) is on the server but not in the spec`);
    }
  }
  return problems;
}
