// Turns one model directory into served model versions: reads config.pbtxt, picks the backend from
// platform/backend as Triton does, picks the versions by the version policy, and starts a backend for
// each. Anything wrong becomes a LoadError whose reason the index and the load API report.
import { join } from "node:path";
import type { ModelConfig } from "../config/index.ts";
import type { BackendKind } from "./backend.ts";
import { EnsembleBackend, type StepResolver } from "./ensemble-backend.ts";
import { LoadError, readModelConfig, servedVersions } from "./model-dir.ts";
import { OnnxBackend } from "./onnx-backend.ts";
import { PythonBackend } from "./python-backend.ts";
import { ServedModel } from "./served-model.ts";
import { signatureOf } from "./signature.ts";

export function backendKind(name: string, cfg: ModelConfig): BackendKind {
  if (cfg.platform === "ensemble") return "ensemble";
  if (cfg.platform === "onnxruntime_onnx" || cfg.backend === "onnxruntime") return "onnxruntime";
  if (cfg.backend === "python") return "python";
  const what = cfg.platform ? `platform "${cfg.platform}"` : cfg.backend ? `backend "${cfg.backend}"` : "no platform or backend";
  throw new LoadError(`model '${name}' has ${what}; serve-local runs onnxruntime_onnx, python and ensemble models`);
}

export interface LoadedModel {
  config: ModelConfig;
  kind: BackendKind;
  versions: Map<string, ServedModel>;
}

/** Reads and starts every served version of `<repo>/<name>`; closes what it started when one fails. */
export async function loadModelDir(repo: string, name: string, resolveStep: StepResolver): Promise<LoadedModel> {
  const config = await readModelConfig(repo, name);
  const kind = backendKind(name, config);
  const signature = signatureOf(name, config);
  if (kind === "ensemble" && !config.ensemble_scheduling) throw new LoadError(`ensemble '${name}' has no ensemble_scheduling block`);
  const dir = join(repo, name);
  const versions = new Map<string, ServedModel>();
  try {
    for (const v of await servedVersions(repo, name, config)) {
      const backend =
        kind === "onnxruntime"
          ? await OnnxBackend.create(dir, v, name, config, signature)
          : kind === "python"
            ? await PythonBackend.create(dir, v, name, config, signature)
            : new EnsembleBackend(name, config, resolveStep);
      versions.set(v, new ServedModel(name, v, config, signature, backend));
    }
  } catch (e) {
    await Promise.all([...versions.values()].map((m) => m.retire()));
    throw e;
  }
  return { config, kind, versions };
}
