// Rules a branch must satisfy beyond its schema: the external contract, the ONNX tensors, the
// preprocessing and the branch size must tell one consistent story, or Triton would refuse the
// ensemble (or worse, load it and fail on the first request).
import { isAbsolute, normalize } from "node:path";
import type { Problem } from "../errors.ts";
import type { Branch, ContractTensor, TensorSpec } from "./schema.ts";
import type { FieldPath, SourceMap } from "./yaml.ts";

const show = (dims: readonly number[]) => `[${dims.join(",")}]`;

/** The ONNX tensor each contract tensor maps to: named by `onnx`, else the one at the same position. */
export function contractPairs(contract: readonly ContractTensor[], onnx: readonly TensorSpec[]): { contract: ContractTensor; onnx: TensorSpec | undefined; index: number }[] {
  return contract.map((c, index) => ({ contract: c, onnx: c.onnx ? onnx.find((t) => t.name === c.onnx) : onnx[index], index }));
}

export function checkBranch(b: Branch, path: FieldPath, src: SourceMap): Problem[] {
  const out: Problem[] = [];
  const at = (p: FieldPath, msg: string, hint?: string) => out.push(src.problem([...path, ...p], msg, hint));

  const file = b.onnx.file;
  if (isAbsolute(file) || normalize(file).split(/[\\/]/)[0] === "..") {
    at(["onnx", "file"], `'${file}' must be a path relative to the ONNX root that stays inside it`, "write it as family/file.onnx relative to --onnx-root");
  }
  checkUnique(b.onnx.inputs, ["onnx", "inputs"], at);
  checkUnique(b.onnx.outputs, ["onnx", "outputs"], at);

  if (b.serving === "direct") {
    if (b.contract) at(["contract"], "a direct model has no separate contract: callers use the ONNX tensors", "remove contract, or set serving: ensemble");
    if (b.preprocess.kind === "normalize") at(["preprocess", "kind"], "normalize needs a server-side step, which only an ensemble has", "set serving: ensemble, or preprocess kind client-letterbox / none");
  } else if (!b.contract) {
    at(["serving"], "an ensemble needs a contract (the tensors callers send and receive)", "add contract.inputs and contract.outputs, or set serving: direct");
  }

  if (b.preprocess.kind !== "none") checkImageOnnxInputs(b, at);

  if (b.contract) {
    checkUnique(b.contract.inputs, ["contract", "inputs"], at);
    checkUnique(b.contract.outputs, ["contract", "outputs"], at);
    checkContractInputs(b, at);
    checkContractOutputs(b, at);
  }
  return out;
}

type At = (p: FieldPath, msg: string, hint?: string) => void;

function checkUnique(list: readonly TensorSpec[], p: FieldPath, at: At): void {
  const seen = new Set<string>();
  list.forEach((t, i) => {
    if (seen.has(t.name)) at([...p, i, "name"], `duplicate tensor name '${t.name}'`, "tensor names must be unique within inputs and within outputs");
    seen.add(t.name);
  });
}

/** Image branches take NCHW [1, C, S, S] floats into the ONNX model. */
function checkImageOnnxInputs(b: Branch, at: At): void {
  b.onnx.inputs.forEach((t, i) => {
    const want = [1, t.dims[1] ?? 3, b.size, b.size];
    if (t.dims.length !== 4 || t.dims[0] !== 1 || t.dims[2] !== b.size || t.dims[3] !== b.size) {
      at(["onnx", "inputs", i, "dims"], `size ${b.size} disagrees with the ONNX input dims ${show(t.dims)} (expected ${show(want)}, NCHW)`, "make size and dims agree");
    }
    if (t.dtype !== "FP32" && t.dtype !== "FP16") at(["onnx", "inputs", i, "dtype"], `an image input must be FP32 or FP16, got ${t.dtype}`);
  });
}

function checkContractInputs(b: Branch, at: At): void {
  const contract = b.contract!;
  if (new Set(contract.inputs.map((c) => c.onnx).filter(Boolean)).size !== contract.inputs.filter((c) => c.onnx).length) {
    at(["contract", "inputs"], "two contract inputs feed the same ONNX input", "map each contract input to a different ONNX input");
  }
  if (contract.inputs.length !== b.onnx.inputs.length) {
    at(["contract", "inputs"], `${contract.inputs.length} contract input(s) for ${b.onnx.inputs.length} ONNX input(s)`, "every ONNX input needs exactly one contract input");
  }
  for (const { contract: c, onnx, index } of contractPairs(contract.inputs, b.onnx.inputs)) {
    const p: FieldPath = ["contract", "inputs", index];
    if (!onnx) {
      at([...p, "onnx"], `no ONNX input '${c.onnx ?? `#${index}`}' (ONNX inputs: ${b.onnx.inputs.map((t) => t.name).join(", ")})`, "name one of the ONNX inputs");
      continue;
    }
    if (b.preprocess.kind === "normalize") {
      const channels = onnx.dims[1] ?? 0;
      const want = [1, b.size, b.size, channels];
      if (c.dtype !== "UINT8") at([...p, "dtype"], `a normalized image input is UINT8 (raw RGB), got ${c.dtype}`, "set dtype: UINT8");
      if (show(c.dims) !== show(want)) at([...p, "dims"], `size ${b.size} and ONNX input '${onnx.name}' ${show(onnx.dims)} call for NHWC ${show(want)}, got ${show(c.dims)}`, "make size, contract dims and ONNX dims agree");
      if (channels !== 3) at(["onnx", "inputs", index, "dims"], `normalize takes 3 channels (mean and std have 3 values), ONNX input '${onnx.name}' has ${channels}`);
    } else if (c.dtype !== onnx.dtype || show(c.dims) !== show(onnx.dims)) {
      at([...p], `without a preprocess step the contract input must equal ONNX input '${onnx.name}': ${onnx.dtype} ${show(onnx.dims)}, got ${c.dtype} ${show(c.dims)}`, "copy the ONNX tensor's dtype and dims");
    }
  }
}

function checkContractOutputs(b: Branch, at: At): void {
  const contract = b.contract!;
  for (const { contract: c, onnx, index } of contractPairs(contract.outputs, b.onnx.outputs)) {
    const p: FieldPath = ["contract", "outputs", index];
    if (!onnx) {
      at([...p, "onnx"], `no ONNX output '${c.onnx ?? `#${index}`}' (ONNX outputs: ${b.onnx.outputs.map((t) => t.name).join(", ")})`, "name one of the ONNX outputs");
      continue;
    }
    if (c.dtype !== onnx.dtype || show(c.dims) !== show(onnx.dims)) {
      at([...p], `the ensemble passes ONNX output '${onnx.name}' through: ${onnx.dtype} ${show(onnx.dims)}, got ${c.dtype} ${show(c.dims)}`, "copy the ONNX tensor's dtype and dims");
    }
  }
}
