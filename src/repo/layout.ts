// Pure planning of the repository: which files every model gets, with their bytes (configs, Python
// steps, ONNX preprocess graphs) or the export they come from. Every config is written by the
// text-format writer and read back by the parser before it is planned, so a config that would not
// round-trip never reaches disk; every ensemble is checked against its step models, and every ONNX
// Runtime config against the memory settings of the plan it is written for. A branch the plan runs
// with TensorRT needs its export's key (exportKey over the export's file hashes, which synth-repo
// takes from the repository's hash cache) for its engine cache folder.
import { posix } from "node:path";
import { checkEnsemble, roundTripCheck, writeModelConfig } from "../config/index.ts";
import type { ModelConfig } from "../config/model-config.ts";
import { DEFAULT_ORT_SETTINGS, type OrtSettings } from "../config/ort-memory.ts";
import { UserError, type Problem } from "../errors.ts";
import { buildNormalizeGraph } from "../onnx/preprocess-graph.ts";
import { textFile, type PlannedFile, type RepoOrigin, type RepoPlan } from "./files.ts";
import { ensembleModelConfig, onnxModelConfig, ortConfigProblems, preprocessModelConfig, preprocessTensors, type PreprocessForm } from "./model-configs.ts";
import { renderPythonStep } from "./python-step.ts";
import type { ValidatedBranch } from "./validate.ts";

export interface LayoutInput {
  branches: readonly ValidatedBranch[];
  preprocess: PreprocessForm;
  /** The plan's memory policy, cuDNN search and TensorRT use; DEFAULT_ORT_SETTINGS without a profile. */
  settings?: OrtSettings;
  /** Per ONNX model name, the key of its export (src/plan/engine-cache.ts exportKey); needed where the plan runs TensorRT. */
  exportKeys?: ReadonlyMap<string, string>;
  origin: Omit<RepoOrigin, "branches" | "preprocess">;
}

/** The files of a branch's export: model.onnx and its external data, by their paths in the version folder. */
export function exportFiles(v: ValidatedBranch): { path: string; source: string }[] {
  return [
    { path: "model.onnx", source: v.onnxFile },
    ...v.externalData.map((loc) => ({ path: loc.replaceAll("\\", "/"), source: posix.join(posix.dirname(v.onnxFile), loc) })),
  ];
}

/** Whether the branch's ONNX model runs TensorRT under `settings` (its config then needs the export's key). */
export function runsTensorRt(v: ValidatedBranch, settings: OrtSettings): boolean {
  return settings.tensorrt && v.branch.branch.accelerator !== undefined;
}

export function planRepository(input: LayoutInput): RepoPlan {
  const files: PlannedFile[] = [];
  const dirs: string[] = [];
  const configs = new Map<string, ModelConfig>();
  const ensembles: { cfg: ModelConfig; branch: ValidatedBranch }[] = [];
  const settings = input.settings ?? DEFAULT_ORT_SETTINGS;
  const problems: Problem[] = [];
  // The round trip makes the object equal to what the parser reads back, so checking it checks the text.
  const addOrtConfig = (v: ValidatedBranch, cfg: ModelConfig) => {
    addConfig(cfg);
    problems.push(...ortConfigProblems(v.branch, cfg, settings, input.exportKeys?.get(v.branch.models.onnx)));
  };

  const addConfig = (cfg: ModelConfig) => {
    roundTripCheck(cfg);
    configs.set(cfg.name!, cfg);
    files.push(textFile(`${cfg.name}/config.pbtxt`, cfg.name!, writeModelConfig(cfg)));
  };

  for (const v of input.branches) {
    const cb = v.branch;
    const m = cb.models;
    if (m.ensemble) {
      const cfg = ensembleModelConfig(cb);
      addConfig(cfg);
      dirs.push(`${m.ensemble}/1`);
      ensembles.push({ cfg, branch: v });
    }
    if (m.preprocess && cb.branch.preprocess.kind === "normalize") {
      const step = preprocessModelConfig(cb, input.preprocess, settings);
      if (input.preprocess === "onnx") addOrtConfig(v, step);
      else addConfig(step);
      const t = preprocessTensors(cb);
      const pp = cb.branch.preprocess;
      if (input.preprocess === "python") {
        files.push(textFile(`${m.preprocess}/1/model.py`, m.preprocess,
          renderPythonStep({ model: m.preprocess, branch: cb.branch.name, specFile: cb.specFile, preprocess: pp, inputs: t.inputs, outputs: t.outputs })));
      } else {
        const bytes = buildNormalizeGraph({ inputs: t.inputs, outputs: t.outputs, divisor: pp.divisor, mean: pp.mean, std: pp.std });
        files.push({ path: `${m.preprocess}/1/model.onnx`, kind: "content", content: bytes, model: m.preprocess });
      }
    }
    addOrtConfig(v, onnxModelConfig(cb, settings, input.exportKeys?.get(m.onnx)));
    for (const f of exportFiles(v)) files.push({ path: posix.join(m.onnx, "1", f.path), kind: "source", source: f.source, model: m.onnx });
  }

  for (const { cfg, branch } of ensembles) {
    for (const p of checkEnsemble(cfg, configs)) problems.push({ ...p, file: branch.branch.specFile, message: `ensemble ${cfg.name}: ${p.message}` });
  }
  if (problems.length > 0) throw new UserError(problems);

  return {
    files,
    dirs,
    models: [...configs.keys()],
    origin: { ...input.origin, preprocess: input.preprocess, branches: input.branches.map((v) => v.branch.branch.name) },
  };
}
