// Turns one model directory into served model versions in Triton's two stages: the poll (read
// config.pbtxt, pick the backend from platform/backend, pick the versions by the version policy) and
// the load (start a backend for each version). A poll that fails is a PollError; a load that fails a
// LoadError; either's reason is what the index and the load API report.
import { join } from "node:path";
import type { ModelConfig } from "../config/index.ts";
import type { Backend, BackendKind } from "./backend.ts";
import { EnsembleBackend, type StepResolver } from "./ensemble-backend.ts";
import { LoadError, modelStamp, PollError, readModelConfig, servedVersions } from "./model-dir.ts";
import { OnnxBackend } from "./onnx-backend.ts";
import { PythonBackend } from "./python-backend.ts";
import { ServedModel } from "./served-model.ts";
import { signatureOf } from "./signature.ts";
import { ModelStats } from "./stats.ts";
import { warmUp } from "./warmup.ts";

export function backendKind(name: string, cfg: ModelConfig): BackendKind {
  if (cfg.platform === "ensemble") return "ensemble";
  if (cfg.platform === "onnxruntime_onnx" || cfg.backend === "onnxruntime") return "onnxruntime";
  if (cfg.backend === "python") return "python";
  const what = cfg.platform ? `platform "${cfg.platform}"` : cfg.backend ? `backend "${cfg.backend}"` : "no platform or backend";
  throw new LoadError(`model '${name}' has ${what}; serve-local runs onnxruntime_onnx, python and ensemble models`);
}

/** A model directory as the poll read it: enough to plan a load (ensemble steps) without starting anything. */
export interface PolledModel {
  name: string;
  config: ModelConfig;
  /** Undefined when the backend is not one serve-local runs (the load then fails with the reason). */
  kind?: BackendKind;
  /** Step model names, for an ensemble. */
  steps: string[];
  /** modelStamp() when it was read. */
  stamp: number;
}

/** Reads `<repo>/<name>/config.pbtxt`; throws PollError when the directory or its config cannot be read. */
export async function pollModel(repo: string, name: string): Promise<PolledModel> {
  const stamp = await modelStamp(repo, name);
  const config = await readModelConfig(repo, name);
  let kind: BackendKind | undefined;
  try {
    kind = backendKind(name, config);
  } catch {
    kind = undefined;
  }
  const steps = kind === "ensemble" ? [...new Set((config.ensemble_scheduling?.step ?? []).map((s) => s.model_name ?? ""))] : [];
  return { name, config, ...(kind ? { kind } : {}), steps, stamp };
}

/** What a load does beyond starting the backend (serve-local's options). */
export interface LoadHooks {
  /**
   * Wraps a freshly started backend before its warm-up (e.g. the simulated card's accounting, which
   * may refuse it with a LoadError after closing it).
   */
  wrap?(backend: Backend, at: { model: string; version: string; dir: string; config: ModelConfig }): Promise<Backend>;
}

/** One of the instances Triton creates for a model: its kind and its index among the instances of that kind. */
export interface ModelInstance {
  kind: "gpu" | "cpu";
  index: number;
}

/**
 * The instances Triton creates for a model, in order: each group's count (default 1) of its kind
 * (KIND_AUTO is the GPU, as on a GPU server); no groups means one GPU instance. serve-local runs one
 * session per version, but warms it once per instance as Triton warms each instance.
 */
export function modelInstances(cfg: ModelConfig): ModelInstance[] {
  const groups = cfg.instance_group?.length ? cfg.instance_group : [{ kind: "KIND_GPU" as const, count: 1 }];
  const next = { gpu: 0, cpu: 0 };
  return groups.flatMap((g) => {
    const kind = g.kind === "KIND_CPU" || g.kind === "KIND_MODEL" ? "cpu" : "gpu";
    return Array.from({ length: g.count || 1 }, () => ({ kind, index: next[kind]++ }));
  });
}

/** A backend whose runs can be accounted to one instance (the simulated card keeps each instance's arena). */
export interface InstanceBackend {
  onInstance(instance: ModelInstance): Backend;
}

function onInstance(backend: Backend, instance: ModelInstance): Backend {
  return "onInstance" in backend && typeof backend.onInstance === "function" ? (backend as Backend & InstanceBackend).onInstance(instance) : backend;
}

export interface LoadedModel {
  config: ModelConfig;
  kind: BackendKind;
  versions: Map<string, ServedModel>;
}

/**
 * Starts every served version of a polled model and runs its model_warmup (src/serve/warmup.ts, counted
 * in the version's statistics) on
 * each of its instances, as Triton does before a model is READY (core src/backend_model_instance.cc,
 * r24.08: every instance runs the samples on its backend thread); closes what it started when one
 * fails.
 */
export async function startModel(repo: string, polled: PolledModel, resolveStep: StepResolver, hooks: LoadHooks = {}): Promise<LoadedModel> {
  const { name, config } = polled;
  const kind = polled.kind ?? backendKind(name, config);
  const signature = signatureOf(name, config);
  if (kind === "ensemble" && !config.ensemble_scheduling) throw new LoadError(`ensemble '${name}' has no ensemble_scheduling block`);
  const dir = join(repo, name);
  const versions = new Map<string, ServedModel>();
  try {
    for (const v of await servedVersions(repo, name, config)) {
      let backend: Backend =
        kind === "onnxruntime"
          ? await OnnxBackend.create(dir, v, name, config, signature)
          : kind === "python"
            ? await PythonBackend.create(dir, v, name, config, signature)
            : new EnsembleBackend(name, config, resolveStep);
      if (hooks.wrap) backend = await hooks.wrap(backend, { model: name, version: v, dir, config });
      const stats = new ModelStats();
      if (kind !== "ensemble") {
        try {
          for (const instance of modelInstances(config)) await warmUp(onInstance(backend, instance), dir, name, config, stats);
        } catch (e) {
          await backend.close();
          throw e;
        }
      }
      versions.set(v, new ServedModel(name, v, config, signature, backend, stats));
    }
  } catch (e) {
    await Promise.all([...versions.values()].map((m) => m.retire()));
    throw e;
  }
  return { config, kind, versions };
}

export { LoadError, PollError };
