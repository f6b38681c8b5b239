// Checks of an ONNX file's facts against what the spec promises and against the filesystem. Every
// finding is a Problem that shows both sides (the spec says X, the file has Y), so a user fixes the
// spec or the export without opening either file.
import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { onnxElemTypeName } from "../dtype.ts";
import type { Problem } from "../errors.ts";
import type { ContractTensor, TensorSpec } from "../spec/schema.ts";
import type { OnnxDim, OnnxIO, OnnxTensorIO } from "./io.ts";

export interface OnnxCheckWhere {
  /** The ONNX file (shown in messages). */
  file: string;
  /** The spec file, when the problem is reported against the spec. */
  specFile?: string;
  /** Field path of the branch's onnx block in the spec, e.g. `branches[0].onnx`. */
  field?: string;
}

/** What the spec promises about a branch's ONNX file; the contract only to name its `onnx:` references in hints. */
export interface OnnxSpecSide {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  contract?: { inputs: readonly ContractTensor[]; outputs: readonly ContractTensor[] } | undefined;
}

/**
 * An output whose declared shape leaves dimensions open (a symbol, no value, or no shape at all)
 * while every input is fixed. ONNX Runtime fixes such shapes itself (its optimizer at load, and every
 * run), so the file is not wrong: its shape is established by `establishOutputShapes` and compared
 * with the spec by `checkEstablishedOutputs`.
 */
export interface OpenOutput {
  /** Index of the tensor in the spec's onnx.outputs. */
  index: number;
  spec: TensorSpec;
  file: OnnxTensorIO;
}

export interface OnnxSpecCheck {
  problems: Problem[];
  open: OpenOutput[];
}

function formatDims(dims: readonly OnnxDim[]): string {
  return `[${dims.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

function typeAndShape(t: OnnxTensorIO): string {
  return `${t.dtype ?? onnxElemTypeName(t.elemType)} ${t.hasShape ? formatDims(t.dims) : "shape unknown"}`;
}

function describe(t: OnnxTensorIO): string {
  return `${t.name} (${typeAndShape(t)})`;
}

function isOpenDim(d: OnnxDim): boolean {
  return d === null || typeof d === "string" || d <= 0;
}

function openReason(d: OnnxDim): string {
  if (d === null) return "has no value";
  if (typeof d === "string") return `is the symbol "${d}"`;
  return `is ${d}`;
}

/** True when every input of the file has a shape and every dimension of it is a positive number. */
function inputsFixed(io: Pick<OnnxIO, "inputs">): boolean {
  return io.inputs.every((t) => t.hasShape && !t.dims.some(isOpenDim));
}

// ---- hints that work ----

/** The torch.onnx.export settings that write fixed input shapes, for both of its exporters. */
const STATIC_INPUTS_EXPORT = "re-export with fixed input shapes: torch.onnx.export(..., dynamo=False) without dynamic_axes, or torch.onnx.export(..., dynamo=True) without dynamic_shapes";
/**
 * TorchScript's exporter (dynamo=False) leaves output dims symbolic where its shape inference loses
 * track (e.g. DPT's squeezed depth: [Squeezedepth_dim_0, Squeezedepth_dim_0, Squeezedepth_dim_2]);
 * the dynamo exporter (dynamo=True, torch's default since 2.9) writes them fixed.
 */
const STATIC_OUTPUTS_EXPORT = "re-export with torch.onnx.export(..., dynamo=True), which writes fixed output shapes (the TorchScript exporter, dynamo=False, leaves dims it cannot infer symbolic)";

interface DimAssignment {
  tensor: string;
  dim: number;
  value: number;
}

const pyString = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/**
 * A python3 one-liner (needs `pip install onnx`) that writes fixed values into the declared dims of
 * the file's inputs/outputs. It loads the graph without its weights and saves it as a new file renamed
 * over the old one (a repository that hard-links the export keeps its copy), so external-data files
 * are neither read, copied nor inlined (unlike make_dynamic_shape_fixed, which inlines them, and which
 * cannot give one symbol two different sizes).
 */
function setDimsCommand(file: string, dims: readonly DimAssignment[]): string {
  const list = dims.map((d) => `(${pyString(d.tensor)}, ${d.dim}, ${d.value})`).join(", ");
  return (
    `python3 -c "import onnx, os; f = ${pyString(file)}; m = onnx.load(f, load_external_data=False); ` +
    `t = {v.name: v for v in [*m.graph.input, *m.graph.output]}; ` +
    `[t[n].type.tensor_type.shape.dim[k].__setattr__('dim_value', v) for n, k, v in [${list}]]; onnx.save(m, f + '.new'); os.replace(f + '.new', f)"`
  );
}

/** Where one symbol occurs in the file's graph inputs and outputs, with the spec's value for each place. */
interface SymbolUse {
  role: "input" | "output";
  tensor: string;
  /** Spec field of the tensor, e.g. `branches[0].onnx.outputs[0]`. */
  field: string;
  dim: number;
  spec: number | undefined;
}

/** A problem against the spec field when there is a spec file (naming the ONNX file too), else against the file. */
function problemAt(w: OnnxCheckWhere, field: string, message: string, hint: string): Problem {
  return { file: w.specFile ?? w.file, field, message: w.specFile ? `${message} (ONNX file ${w.file})` : message, hint };
}

/**
 * Compare the file's graph inputs/outputs with the spec's ONNX tensors. Problems show both sides;
 * outputs that are open while every input is fixed come back in `open`, to be established by ONNX
 * Runtime before they are judged.
 */
export function checkOnnxAgainstSpec(io: OnnxIO, spec: OnnxSpecSide, where: OnnxCheckWhere): OnnxSpecCheck {
  const ctx = new CheckContext(io, spec, where);
  const inputs = ctx.side("inputs", io.inputs, spec.inputs);
  const outputs = ctx.side("outputs", io.outputs, spec.outputs);
  const problems = [...inputs, ...ctx.inputSymbols(), ...outputs];
  return { problems, open: ctx.open };
}

class CheckContext {
  readonly open: OpenOutput[] = [];
  private readonly fixedInputs: boolean;
  /** Every symbol of the file: where it occurs (filled while the sides are compared). */
  private readonly symbols = new Map<string, SymbolUse[]>();

  constructor(
    io: OnnxIO,
    private readonly spec: OnnxSpecSide,
    private readonly where: OnnxCheckWhere,
  ) {
    this.fixedInputs = inputsFixed(io);
  }

  private base(side: "inputs" | "outputs"): string {
    return `${this.where.field ? `${this.where.field}.` : ""}${side}`;
  }

  at(field: string, message: string, hint: string): Problem {
    return problemAt(this.where, field, message, hint);
  }

  side(side: "inputs" | "outputs", actual: OnnxTensorIO[], expected: TensorSpec[]): Problem[] {
    const problems: Problem[] = [];
    const role = side === "inputs" ? "input" : "output";
    const base = this.base(side);
    const byName = new Map(actual.map((t) => [t.name, t]));
    const declared = new Set(expected.map((s) => s.name));
    // A spec name the file lacks and a file tensor the spec lacks, at the same place among the
    // unmatched ones, are one misnamed tensor: one message, one fix (the spec describes the file).
    const undeclared = actual.filter((t) => !declared.has(t.name));
    const unmatched = expected.map((s, i) => ({ s, i })).filter(({ s }) => !byName.has(s.name));
    const renamed = new Map<number, OnnxTensorIO>();
    unmatched.forEach(({ i }, k) => {
      const t = undeclared[k];
      if (t) renamed.set(i, t);
    });
    const fileNames = actual.map(describe).join(", ") || "none";
    expected.forEach((s, i) => {
      let t = byName.get(s.name);
      if (!t) {
        t = renamed.get(i);
        if (!t) {
          problems.push(this.at(`${base}[${i}]`, `spec says ${role} "${s.name}", the file has no such ${role}; the file's ${side}: ${fileNames}`, `remove "${s.name}" from the spec's onnx.${side} (the export has no such ${role}), or export the model with it`));
          return;
        }
        problems.push(this.at(`${base}[${i}].name`, `spec says ${role} "${s.name}", the file calls this ${role} "${t.name}" (${typeAndShape(t)}); the file's ${side}: ${fileNames}`, this.renameHint(side, i, s.name, t.name)));
      }
      problems.push(...this.tensor(side, i, s, t));
    });
    const paired = new Set(renamed.values());
    for (const t of undeclared) {
      if (paired.has(t)) continue;
      problems.push(this.at(base, `the file has ${role} ${describe(t)} that the spec does not declare; spec declares: ${expected.map((s) => s.name).join(", ") || "none"}`, `declare "${t.name}" in the spec's onnx.${side}`));
    }
    return problems;
  }

  private renameHint(side: "inputs" | "outputs", i: number, specName: string, fileName: string): string {
    const refs = (side === "inputs" ? this.spec.contract?.inputs : this.spec.contract?.outputs) ?? [];
    const k = refs.findIndex((c) => c.onnx === specName);
    const branch = this.where.field?.replace(/\.?onnx$/, "");
    const also = k >= 0 ? `, and ${branch ? `${branch}.` : ""}contract.${side}[${k}].onnx (which names it) too` : "";
    return `set ${this.base(side)}[${i}].name to "${fileName}" in the spec${also}; the ensemble's contract names stay as they are`;
  }

  private tensor(side: "inputs" | "outputs", i: number, s: TensorSpec, t: OnnxTensorIO): Problem[] {
    const problems: Problem[] = [];
    const field = `${this.base(side)}[${i}]`;
    const name = t.name;
    if (t.dtype !== s.dtype) {
      problems.push(this.at(`${field}.dtype`, `"${name}": spec says dtype ${s.dtype}, the file has ${t.dtype ?? "no Triton dtype"} (ONNX ${onnxElemTypeName(t.elemType)})`, "make the spec's dtype match the export, or re-export with the spec's dtype"));
    }
    const specDims = formatDims(s.dims);
    const sameRank = t.dims.length === s.dims.length;
    const fixedMismatch = t.dims.some((d, k) => !isOpenDim(d) && d !== s.dims[k]);
    if (t.hasShape && (!sameRank || fixedMismatch)) {
      problems.push(this.at(`${field}.dims`, `"${name}": spec says dims ${specDims}, the file has ${formatDims(t.dims)}`, "make the spec's dims match the export (batch dimension included)"));
      return problems;
    }
    const open = !t.hasShape || t.dims.some(isOpenDim);
    if (!open) return problems;
    if (side === "outputs") {
      // Open outputs with fixed inputs: ONNX Runtime knows the shape; establish it, then judge.
      // With an open input, the input's message covers what is wrong (its symbols name every place).
      if (this.fixedInputs) this.open.push({ index: i, spec: s, file: t });
      t.dims.forEach((d, k) => {
        if (typeof d === "string") this.use(d, { role: "output", tensor: name, field, dim: k, spec: s.dims[k] });
      });
      return problems;
    }
    const fix = (dims: DimAssignment[]) => `${STATIC_INPUTS_EXPORT}; or set the dims in the file, weights untouched: ${setDimsCommand(this.where.file, dims)}`;
    if (!t.hasShape) {
      problems.push(this.at(`${field}.dims`, `"${name}": spec says dims ${specDims}, the file gives input "${name}" no shape (rank unknown); inputs must have fixed dims`, STATIC_INPUTS_EXPORT));
      return problems;
    }
    t.dims.forEach((d, k) => {
      if (typeof d === "string") this.use(d, { role: "input", tensor: name, field, dim: k, spec: s.dims[k] });
      else if (isOpenDim(d)) {
        problems.push(this.at(`${field}.dims[${k}]`, `"${name}": dimension ${k} is dynamic in the file (it ${openReason(d)}): spec says ${specDims}, the file has ${formatDims(t.dims)}; inputs must have fixed dims`, fix([{ tensor: name, dim: k, value: s.dims[k]! }])));
      }
    });
    return problems;
  }

  private use(symbol: string, u: SymbolUse): void {
    const list = this.symbols.get(symbol) ?? [];
    list.push(u);
    this.symbols.set(symbol, list);
  }

  /** One problem per symbol that occurs in an input, naming every dimension (inputs and outputs) it stands for. */
  inputSymbols(): Problem[] {
    const problems: Problem[] = [];
    for (const [symbol, uses] of this.symbols) {
      const first = uses.find((u) => u.role === "input");
      if (!first) continue;
      const places = uses.map((u) => `${u.role} "${u.tensor}" dims[${u.dim}] (spec: ${u.spec ?? "none"})`).join(", ");
      const dims = uses.flatMap((u) => (u.spec === undefined ? [] : [{ tensor: u.tensor, dim: u.dim, value: u.spec }]));
      problems.push(
        this.at(
          `${first.field}.dims[${first.dim}]`,
          `"${first.tensor}": the symbol "${symbol}" leaves ${places} dynamic in the file; inputs must have fixed dims`,
          `${STATIC_INPUTS_EXPORT}; or set the dims in the file, weights untouched: ${setDimsCommand(this.where.file, dims)}`,
        ),
      );
    }
    return problems;
  }
}

/**
 * Why ONNX Runtime could not establish the shapes: it could not create a session from the file
 * (`load`), or the session could not run on zero inputs (`run`); `runtime` is its version.
 */
export interface EstablishFailure {
  failure: string;
  stage: "load" | "run";
  runtime: string;
}

/** What ONNX Runtime says about the open outputs (from `establishOutputShapes`). */
export interface EstablishedShapes {
  /** Output dims as ONNX Runtime declares them after its graph optimizations: what Triton's load check compares. */
  declared: Record<string, (number | string)[]>;
  /** Output dims of one run on zero inputs. */
  computed: Record<string, number[]>;
}

/**
 * Judges open outputs by what ONNX Runtime established: the shape it computes must be the spec's,
 * and the shape it declares after optimization must be fixed too, because Triton 24.08 compares
 * output dims exactly (onnxruntime_backend src/onnxruntime.cc, ValidateOutputs: CompareDimsSupported
 * with compare_exact = true; a symbolic dim reaches it as -1) and would not load the model: one
 * problem per symbol then, naming every dim it covers. When ONNX Runtime could not establish the
 * shapes at all (`failure`): if it could not load the file, one problem says the export does not
 * load (Triton loads it with ONNX Runtime too, so setting dims would not help); if the file loads
 * but does not run on zero inputs, one problem per open output says so, with the set-dims fix.
 */
export function checkEstablishedOutputs(open: readonly OpenOutput[], shapes: EstablishedShapes | EstablishFailure, where: OnnxCheckWhere): Problem[] {
  const at = (field: string, message: string, hint: string) => problemAt(where, field, message, hint);
  const problems: Problem[] = [];
  const field = (o: OpenOutput) => `${where.field ? `${where.field}.` : ""}outputs[${o.index}]`;
  const setDims = (o: readonly OpenOutput[]) => setDimsCommand(where.file, o.flatMap((x) => x.spec.dims.map((value, dim) => ({ tensor: x.file.name, dim, value }))));
  const fix = (o: readonly OpenOutput[]) => `set the output dims in the file, weights untouched: ${setDims(o)}; or ${STATIC_OUTPUTS_EXPORT}`;
  if ("failure" in shapes && shapes.stage === "load") {
    const outs = open.map((o) => `"${o.file.name}" ${o.file.hasShape ? formatDims(o.file.dims) : "(no shape)"}`).join(", ");
    return [
      at(
        `${where.field ? `${where.field}.` : ""}file`,
        `ONNX Runtime cannot load the export (asked to establish the open output dims of ${outs}): ${shapes.failure}`,
        `Triton's ONNX Runtime backend would not load it either, whatever its dims say: fix the export where ONNX Runtime's words point (an operator or opset it does not implement, a graph it finds invalid; onnxruntime-node ${shapes.runtime} here) and check that it loads: python3 -c "import onnxruntime as ort; ort.InferenceSession(${pyString(where.file)})"`,
      ),
    ];
  }
  if ("failure" in shapes) {
    for (const o of open) {
      problems.push(at(`${field(o)}.dims`, `"${o.file.name}": the file declares ${o.file.hasShape ? formatDims(o.file.dims) : "no shape"}, and ONNX Runtime could not establish the shape from the fixed inputs: ${shapes.failure}`, fix([o])));
    }
    return problems;
  }
  const stillOpen: { o: OpenOutput; declared: (number | string)[] }[] = [];
  for (const o of open) {
    const computed = shapes.computed[o.file.name];
    const declared = shapes.declared[o.file.name] ?? [];
    const specDims = formatDims(o.spec.dims);
    const fileDims = o.file.hasShape ? formatDims(o.file.dims) : "no shape";
    if (!computed || computed.join() !== o.spec.dims.join()) {
      problems.push(at(`${field(o)}.dims`, `"${o.file.name}": spec says dims ${specDims}, the file declares ${fileDims} and ONNX Runtime computes ${computed ? formatDims(computed) : "no such output"} from the fixed inputs`, "make the spec's dims match the export (batch dimension included), or re-export the model at the spec's size"));
    } else if (declared.length !== computed.length || declared.some((d, k) => typeof d !== "number" || d !== computed[k])) {
      stillOpen.push({ o, declared });
    }
  }
  // Still open after optimization: Triton would refuse the load. One message per symbol (or per output, where the dims have no name).
  const bySymbol = new Map<string, { o: OpenOutput; dim: number }[]>();
  for (const { o, declared } of stillOpen) {
    const named = new Set<string>();
    o.file.dims.forEach((d, dim) => {
      if (typeof d === "string" && (typeof declared[dim] !== "number" || declared[dim] < 0)) {
        bySymbol.set(d, [...(bySymbol.get(d) ?? []), { o, dim }]);
        named.add(d);
      }
    });
    if (named.size === 0) {
      problems.push(at(`${field(o)}.dims`, `"${o.file.name}": the file declares ${o.file.hasShape ? formatDims(o.file.dims) : "no shape"}; ONNX Runtime computes ${formatDims(o.spec.dims)} but still declares ${formatDims(declared)} after optimizing, and Triton 24.08 compares output dims exactly, so it would not load the model`, fix([o])));
    }
  }
  for (const [symbol, uses] of bySymbol) {
    const outs = [...new Set(uses.map((u) => u.o))];
    const places = uses.map((u) => `output "${u.o.file.name}" dims[${u.dim}] (computed: ${u.o.spec.dims[u.dim]})`).join(", ");
    problems.push(at(`${field(uses[0]!.o)}.dims[${uses[0]!.dim}]`, `the symbol "${symbol}" leaves ${places} open: ONNX Runtime computes them from the fixed inputs but does not fix them when it loads the model, and Triton 24.08 compares output dims exactly, so it would not load the model`, fix(outs)));
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
