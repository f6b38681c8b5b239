// The Python-backend form of a preprocess step: model.py rendered from templates/preprocess_model.py.hbs.
import { readFileSync } from "node:fs";
import Handlebars from "handlebars";
import type { NormalizePreprocess, TensorSpec } from "../spec/schema.ts";

const TEMPLATE = Handlebars.compile<PythonStepView>(
  readFileSync(new URL("../../templates/preprocess_model.py.hbs", import.meta.url), "utf8"),
  { noEscape: true, strict: true },
);

interface PythonStepView {
  model: string;
  branch: string;
  specFile: string;
  divisor: number;
  mean: readonly number[];
  std: readonly number[];
  pairs: { input: string; output: string; shape: readonly number[] }[];
}

export interface PythonStepInput {
  model: string;
  branch: string;
  specFile: string;
  preprocess: NormalizePreprocess;
  /** Step inputs (UINT8 NHWC) and the outputs they become (FP32 NCHW), pairwise. */
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

export function renderPythonStep(s: PythonStepInput): string {
  return TEMPLATE({
    model: s.model,
    branch: s.branch,
    specFile: s.specFile.replaceAll("\\", "/"),
    divisor: s.preprocess.divisor,
    mean: s.preprocess.mean,
    std: s.preprocess.std,
    pairs: s.inputs.map((t, i) => ({ input: t.name, output: s.outputs[i]!.name, shape: t.dims })),
  });
}
