// Naming rules: which Triton models a branch becomes and what they are called. Every part of the tool
// (repository, plan, checklist, stacks, verify) asks here, so a name is never typed twice.

/** Model names are directory names in the repository and path segments in URLs. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** ONNX tensor names may hold ':' '/' '.'; only whitespace, quotes and backslashes are refused. */
export const TENSOR_NAME_PATTERN = /^[^\s"'\\]+$/;

export type ModelRole = "ensemble" | "preprocess" | "onnx";

/** What a branch needs from the naming rule; a structural subset of spec's Branch. */
export interface NamedBranch {
  name: string;
  serving: "ensemble" | "direct";
  preprocess: { kind: string };
  names?: { ensemble?: string | undefined; onnx?: string | undefined; preprocess?: string | undefined } | undefined;
}

export interface BranchModelNames {
  /** The model callers use: the ensemble, or the ONNX model itself when serving is direct. */
  entry: string;
  ensemble?: string;
  preprocess?: string;
  onnx: string;
}

/** True when the branch has a server-side preprocess step (a Python or ONNX model of its own). */
export function hasPreprocessStep(b: NamedBranch): boolean {
  return b.serving === "ensemble" && b.preprocess.kind === "normalize";
}

export function branchModelNames(b: NamedBranch): BranchModelNames {
  if (b.serving === "direct") {
    const onnx = b.names?.onnx ?? b.name;
    return { entry: onnx, onnx };
  }
  const ensemble = b.names?.ensemble ?? b.name;
  const onnx = b.names?.onnx ?? `${b.name}_onnx`;
  if (!hasPreprocessStep(b)) return { entry: ensemble, ensemble, onnx };
  const preprocess = b.names?.preprocess ?? `preprocess_${b.name}`;
  return { entry: ensemble, ensemble, preprocess, onnx };
}

/** Every model a branch puts in the repository, entry first. */
export function branchModels(b: NamedBranch): { name: string; role: ModelRole }[] {
  const n = branchModelNames(b);
  const out: { name: string; role: ModelRole }[] = [];
  if (n.ensemble) out.push({ name: n.ensemble, role: "ensemble" });
  if (n.preprocess) out.push({ name: n.preprocess, role: "preprocess" });
  out.push({ name: n.onnx, role: "onnx" });
  return out;
}

/** The ensemble's internal tensor carrying a preprocessed input into the ONNX model. */
export function preprocessedTensorName(onnxInput: string): string {
  return `preprocessed__${onnxInput}`;
}
