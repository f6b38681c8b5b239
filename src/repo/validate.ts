// Before anything is written: every branch's ONNX export is found inside the ONNX root, its I/O
// read by the header walk (weights are never decoded) and compared with the spec, and its
// external-data files checked. Outputs the file leaves symbolic while its inputs are fixed get their
// shape from ONNX Runtime (src/onnx/output-shapes.ts, cached by the file's hash) before they are
// judged; the caller owns that cache and decides whether it is written. All problems of all
// branches are reported at once.
import { realpath, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { UserError, type Problem } from "../errors.ts";
import { checkEstablishedOutputs, checkExternalData, checkOnnxAgainstSpec, readOnnxIO, type OnnxIO } from "../onnx/read-io.ts";
import { EstablishError, ORT_VERSION, type OutputShapeCache } from "../onnx/output-shapes.ts";
import type { Catalog, CatalogBranch } from "../spec/catalog.ts";
import { branchSource } from "../spec/catalog.ts";
import { formatFieldPath, type FieldPath } from "../spec/yaml.ts";

export interface ValidatedBranch {
  branch: CatalogBranch;
  /** Absolute path of the export. */
  onnxFile: string;
  /** External-data locations, relative to the export's directory, each once. */
  externalData: string[];
  io: OnnxIO;
}

/** `shapes` answers for outputs left open (OutputShapeCache.load()); it is not saved here. */
export async function validateExports(catalog: Catalog, branches: readonly CatalogBranch[], onnxRoot: string, shapes: OutputShapeCache): Promise<ValidatedBranch[]> {
  const root = resolve(onnxRoot);
  const rootReal = await realpath(root).catch(() => undefined);
  if (!rootReal || !(await stat(rootReal)).isDirectory()) {
    throw new UserError({ file: onnxRoot, message: "the ONNX root does not exist or is not a directory", hint: "pass --onnx-root DIR (or set ONNX_ROOT) to the folder of the exports; `npm run fixtures` writes stand-ins there" });
  }
  const problems: Problem[] = [];
  const out: ValidatedBranch[] = [];
  for (const cb of branches) {
    const found = await validateBranch(catalog, cb, root, rootReal, shapes);
    if (Array.isArray(found)) problems.push(...found);
    else out.push(found);
  }
  if (problems.length > 0) throw new UserError(problems);
  return out;
}

async function validateBranch(catalog: Catalog, cb: CatalogBranch, root: string, rootReal: string, shapes: OutputShapeCache): Promise<ValidatedBranch | Problem[]> {
  const source = branchSource(catalog, cb);
  const specProblem = (path: FieldPath, message: string, hint: string): Problem =>
    source ? source.problem([...cb.fieldPath, ...path], message, hint) : { file: cb.specFile, message, hint };
  const onnxFile = join(root, cb.branch.onnx.file);
  const st = await stat(onnxFile).catch(() => undefined);
  if (!st?.isFile()) {
    return [specProblem(["onnx", "file"], `branch ${cb.branch.name}: ONNX file ${onnxFile} does not exist`, "export the model there, point --onnx-root at the exports, or run `npm run fixtures` for stand-ins")];
  }
  const real = await realpath(onnxFile);
  const rel = relative(rootReal, real);
  if (rel.startsWith(`..${sep}`) || rel === ".." || resolve(rootReal, rel) !== real) {
    return [specProblem(["onnx", "file"], `branch ${cb.branch.name}: ${onnxFile} is a symlink to ${real}, outside the ONNX root ${rootReal}`, "copy the export into the ONNX root instead of linking out of it")];
  }
  let io: OnnxIO;
  try {
    io = await readOnnxIO(onnxFile);
  } catch (e) {
    if (e instanceof UserError) return e.problems.map((p) => ({ ...p, message: `branch ${cb.branch.name}: ${p.message}` }));
    throw e;
  }
  const specField = `${formatFieldPath(cb.fieldPath)}.onnx`;
  const where = { file: onnxFile, specFile: cb.specFile, field: specField };
  const check = checkOnnxAgainstSpec(io, { ...cb.branch.onnx, contract: cb.branch.contract }, where);
  const external = await checkExternalData(io, onnxFile, root);
  for (const loc of new Set(io.externalData.map((r) => r.location))) {
    if (loc.split(/[\\/]/).includes("..")) {
      external.push({ file: onnxFile, field: "external_data.location", message: `external data "${loc}" lies outside the export's directory; in the repository it would land outside ${cb.models.onnx}/1/`, hint: "save the weights beside the .onnx file or below its directory" });
    }
  }
  // ONNX Runtime is asked only about a file that is otherwise sound (its data there, its I/O agreeing).
  if (check.problems.length + external.length === 0 && check.open.length > 0) {
    const established = await shapes.establish(onnxFile, io.inputs).catch((e: unknown) => {
      if (e instanceof EstablishError) return { failure: e.message, stage: e.stage, runtime: ORT_VERSION };
      throw e;
    });
    check.problems.push(...checkEstablishedOutputs(check.open, established, where));
  }
  const mismatches = check.problems.map((p) => locate(p, source));
  if (mismatches.length + external.length > 0) return [...mismatches, ...external];
  return { branch: cb, onnxFile, externalData: [...new Set(io.externalData.map((r) => r.location))].sort(), io };
}

/** Gives a problem reported against a spec field its line:column. */
function locate(p: Problem, source: ReturnType<typeof branchSource>): Problem {
  if (!source || !p.field || p.line !== undefined) return p;
  const pos = source.locate(parseFieldPath(p.field));
  return pos ? { ...p, line: pos.line, column: pos.column } : p;
}

/** `branches[0].onnx.inputs[1].dims` → ["branches", 0, "onnx", "inputs", 1, "dims"]. */
export function parseFieldPath(s: string): FieldPath {
  const out: (string | number)[] = [];
  for (const m of s.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

