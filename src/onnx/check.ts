// Checks of an ONNX file's facts against what the spec promises and against the filesystem. Every
// finding is a Problem that shows both sides (the spec says X, the file has Y), so a user fixes the
// spec or the export without opening either file.
import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { onnxElemTypeName } from "../dtype.ts";
import type { Problem } from "../errors.ts";
import type { TensorSpec } from "../spec/schema.ts";
import type { OnnxDim, OnnxIO, OnnxTensorIO } from "./io.ts";

export interface OnnxCheckWhere {
  /** The ONNX file (shown in messages). */
  file: string;
  /** The spec file, when the problem is reported against the spec. */
  specFile?: string;
  /** Field path of the branch's onnx block in the spec, e.g. `branches[0].onnx`. */
  field?: string;
}

function formatDims(dims: readonly OnnxDim[]): string {
  return `[${dims.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

function describe(t: OnnxTensorIO): string {
  const type = t.dtype ?? onnxElemTypeName(t.elemType);
  return `${t.name} (${type} ${t.hasShape ? formatDims(t.dims) : "shape unknown"})`;
}

function isDynamic(d: OnnxDim): boolean {
  return d === null || typeof d === "string" || d <= 0;
}

function dynamicReason(d: OnnxDim): string {
  if (d === null) return "has no value";
  if (typeof d === "string") return `is the symbol "${d}"`;
  return `is ${d}`;
}

const FIXED_SHAPE_HINT =
  "re-export with fixed shapes (no dynamic_axes), or fix them with `python -m onnxruntime.tools.make_dynamic_shape_fixed`";

/** Compare the file's graph inputs/outputs with the spec's ONNX tensors. Empty when they agree. */
export function checkOnnxAgainstSpec(io: OnnxIO, spec: { inputs: TensorSpec[]; outputs: TensorSpec[] }, where: OnnxCheckWhere): Problem[] {
  return [...checkSide("inputs", io.inputs, spec.inputs, where), ...checkSide("outputs", io.outputs, spec.outputs, where)];
}

function checkSide(side: "inputs" | "outputs", actual: OnnxTensorIO[], expected: TensorSpec[], where: OnnxCheckWhere): Problem[] {
  const problems: Problem[] = [];
  const base = `${where.field ? `${where.field}.` : ""}${side}`;
  const at = (field: string, message: string, hint: string): Problem => ({
    file: where.specFile ?? where.file,
    field,
    message: where.specFile ? `${message} (ONNX file ${where.file})` : message,
    hint,
  });
  const byName = new Map(actual.map((t) => [t.name, t]));
  const fileNames = actual.map(describe).join(", ") || "none";
  expected.forEach((s, i) => {
    const t = byName.get(s.name);
    if (!t) {
      problems.push(
        at(`${base}[${i}].name`, `spec says ${side.slice(0, -1)} "${s.name}", the file has no such ${side.slice(0, -1)}; the file's ${side}: ${fileNames}`, `use the file's tensor name in the spec, or re-export the model with the name "${s.name}"`),
      );
      return;
    }
    if (t.dtype !== s.dtype) {
      problems.push(
        at(`${base}[${i}].dtype`, `"${s.name}": spec says dtype ${s.dtype}, the file has ${t.dtype ?? "no Triton dtype"} (ONNX ${onnxElemTypeName(t.elemType)})`, "make the spec's dtype match the export, or re-export with the spec's dtype"),
      );
    }
    const specDims = formatDims(s.dims);
    if (!t.hasShape) {
      problems.push(at(`${base}[${i}].dims`, `"${s.name}": spec says dims ${specDims}, the file gives no shape (rank unknown)`, FIXED_SHAPE_HINT));
      return;
    }
    t.dims.forEach((d, k) => {
      if (isDynamic(d)) {
        problems.push(
          at(`${base}[${i}].dims[${k}]`, `"${s.name}": dimension ${k} is dynamic in the file (it ${dynamicReason(d)}): spec says ${specDims}, the file has ${formatDims(t.dims)}`, FIXED_SHAPE_HINT),
        );
      }
    });
    const sameRank = t.dims.length === s.dims.length;
    const fixedMismatch = t.dims.some((d, k) => !isDynamic(d) && d !== s.dims[k]);
    if (!sameRank || fixedMismatch) {
      problems.push(at(`${base}[${i}].dims`, `"${s.name}": spec says dims ${specDims}, the file has ${formatDims(t.dims)}`, "make the spec's dims match the export (batch dimension included)"));
    }
  });
  const declared = new Set(expected.map((s) => s.name));
  for (const t of actual) {
    if (declared.has(t.name)) continue;
    problems.push(
      at(base, `the file has ${side.slice(0, -1)} ${describe(t)} that the spec does not declare; spec declares: ${expected.map((s) => s.name).join(", ") || "none"}`, `declare "${t.name}" in the spec's onnx.${side}`),
    );
  }
  return problems;
}

/**
 * Each external-data file must be a relative path that stays inside the ONNX root (lexically and after
 * symlinks), must exist, and must hold offset+length bytes. Triton and ONNX Runtime open these paths
 * relative to model.onnx, so anything else breaks or leaks files into the repository.
 */
export async function checkExternalData(io: OnnxIO, onnxFile: string, onnxRoot: string): Promise<Problem[]> {
  const problems: Problem[] = [];
  const rootReal = await realpath(onnxRoot).catch(() => path.resolve(onnxRoot));
  const dir = path.dirname(path.resolve(onnxFile));
  const sizes = new Map<string, number | Problem>();
  for (const ref of io.externalData) {
    const field = `initializer "${ref.tensor}" external_data.location`;
    const problem = (message: string, hint: string): Problem => ({ file: onnxFile, field, message, hint });
    let known = sizes.get(ref.location);
    if (known === undefined) {
      known = await locationSize(ref.location, dir, rootReal, problem);
      sizes.set(ref.location, known);
      if (typeof known !== "number") problems.push(known);
    }
    if (typeof known !== "number") continue;
    const offset = ref.offset ?? 0;
    const need = offset + (ref.length ?? 0);
    if (need > known) {
      problems.push(
        problem(
          `external data "${ref.location}" is ${known} bytes, but tensor "${ref.tensor}" needs bytes up to ${need} (offset ${offset}${ref.length === undefined ? "" : `, length ${ref.length}`})`,
          "the external-data file is truncated or belongs to another export: copy it again together with the .onnx file",
        ),
      );
    }
  }
  return problems;
}

async function locationSize(location: string, dir: string, rootReal: string, problem: (m: string, h: string) => Problem): Promise<number | Problem> {
  const keepInside = "save the weights beside the .onnx file (onnx.save_model(..., location=\"<name>.data\"))";
  if (location === "") return problem("external data has no location", keepInside);
  if (path.isAbsolute(location) || /^[A-Za-z]:[\\/]/.test(location)) {
    return problem(`external data location "${location}" is an absolute path; it must be relative to the ONNX file`, keepInside);
  }
  const resolved = path.resolve(dir, location);
  const dirReal = await realpath(dir).catch(() => dir);
  if (!inside(rootReal, path.resolve(dirReal, location))) {
    return problem(`external data location "${location}" resolves to ${resolved}, outside the ONNX root ${rootReal}`, keepInside);
  }
  const st = await stat(resolved).catch(() => undefined);
  if (!st?.isFile()) {
    return problem(`external data file "${location}" does not exist (looked for ${resolved})`, "copy the external-data file(s) of the export next to the .onnx file");
  }
  const real = await realpath(resolved);
  if (!inside(rootReal, real)) {
    return problem(`external data "${location}" is a symlink to ${real}, outside the ONNX root ${rootReal}`, "copy the data file into the ONNX root instead of linking to it");
  }
  return st.size;
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
