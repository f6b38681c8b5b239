// The VRAM plan (design.md §6): which of a profile's branches Triton loads on its card, each decision
// with the arithmetic behind it, the --load-model list and the routing table. Pure: catalog and
// profile in, data out; printing and files are the script's business.
import { resolveChecklist, type OverrideNote, type Tier } from "../checklist.ts";
import { tensorByteSize } from "../dtype.ts";
import { UserError } from "../errors.ts";
import { branchModels, type ModelRole } from "../names.ts";
import type { Catalog, CatalogBranch } from "../spec/catalog.ts";
import type { LoadedProfile } from "../spec/profile.ts";
import { buildRoutingTable, type RoutingTable } from "../routing/table.ts";
import { ortParameters, serialRateLimiter, type OrtSettings } from "../config/ort-memory.ts";
import type { TensorRtAccelerator } from "../spec/schema.ts";
import { engineCacheDir } from "./engine-cache.ts";
import { checkMeasured, measuredSource, type MeasuredMemory } from "./measured.ts";
import { formatFit, memoryFit, POLICY_FORMULA, type FitCheck, type MemoryUse } from "./memory.ts";

export type Cause =
  | "required" // required branches are always in (or the plan fails)
  | "included" // forced in by overrides.include
  | "fits" // optional, admitted in priority order
  | "does-not-fit"
  | "excluded-by-override"
  | "planned"; // status planned: nothing to load

export interface PlanEntry {
  branch: string;
  family: string;
  variant: string;
  size: number;
  tier: Tier;
  /** 1-based position in which the plan considered the branch (the table's row order). */
  step: number;
  /** The branch's models, entry first (src/names.ts). */
  models: { name: string; role: ModelRole }[];
  memory: MemoryUse;
  /**
   * TensorRT for the ONNX model, when the profile runs the specs' accelerators (its context memory is
   * in memory.residentMiB when the figures are estimates). engineCacheDir is the model's folder;
   * synth-repo keys the config's trt_engine_cache_path below it by the export's content.
   */
  accelerator?: TensorRtAccelerator & { engineCacheDir: string };
  /** Bytes through the preprocess step per request (inputs + outputs), when the branch has one. */
  stepTensorBytes?: number;
  cause: Cause;
  /** The arithmetic at the moment the branch was considered (absent for overrides and planned branches). */
  fit?: FitCheck;
  reason: string;
}

export interface Plan {
  profile: {
    name: string;
    file: string;
    /** reportedMiB: what the card reports (NVML), when the profile says; the plan's budget is on vramMiB. */
    gpu: { product: string; vramMiB: number; reportedMiB?: number; nodeLabelMemoryMiB: number };
    reserveMiB: number;
    policy: OrtSettings["policy"];
  };
  /** What every ONNX Runtime config of the plan carries, so Triton keeps the plan's arithmetic. */
  onnxRuntime: PlanOrtSettings;
  /** vramMiB - reserveMiB: what the models may use. */
  budgetMiB: number;
  selected: PlanEntry[];
  excluded: PlanEntry[];
  overrides: OverrideNote[];
  /**
   * The selected set under the profile's policy. headroomMiB is on the nominal vramMiB;
   * reportedHeadroomMiB on what the card reports (gpu.reportedMiB), the real one, when the profile gives it.
   */
  totals: { residentMiB: number; peakMiB: number; needMiB: number; headroomMiB: number; reportedHeadroomMiB?: number };
  /** Every model Triton loads (one --load-model each): per selected branch, composing models before their ensemble. */
  loadModels: string[];
  routing: RoutingTable;
}

export interface PlanOrtSettings extends OrtSettings {
  /** The policy's admission rule, e.g. "sum(resident) + max(peak)". */
  formula: string;
  /** Top-level config parameters of every ONNX Runtime model (Triton's ORT backend names). */
  parameters: Record<string, string>;
  /** How every ONNX Runtime model is warmed up while it loads. */
  warmup: string;
  /**
   * tritonserver --model-load-thread-count the plan needs. Triton loads 4 models at once by default
   * (server src/command_line_parser.h, r24.08) and each load runs its warm-up, so under serial several
   * peaks would meet at start-up: serial loads one model at a time; resident has counted every peak.
   */
  modelLoadThreadCount: number;
  /**
   * Under serial: Triton runs different models at once (a thread per instance), so every GPU instance
   * holds this global rate-limiter resource and tritonserver gets these flags: one GPU run at a time.
   */
  rateLimiter?: { resource: string; args: string[] };
}

/** The settings a plan writes into configs, from the profile. */
export function planOrtSettings(s: OrtSettings): PlanOrtSettings {
  const settings: OrtSettings = { policy: s.policy, cudnnConvAlgoSearch: s.cudnnConvAlgoSearch, tensorrt: s.tensorrt };
  const limiter = serialRateLimiter(s.policy);
  return {
    ...settings,
    formula: POLICY_FORMULA[s.policy],
    parameters: ortParameters(settings),
    warmup: "model_warmup: one run on zeros of each input's exact type and shape (zero_data), while loading",
    modelLoadThreadCount: s.policy === "serial" ? 1 : 4,
    ...(limiter ? { rateLimiter: limiter } : {}),
  };
}

export interface PlanOptions {
  /** Bench figures that replace the specs' estimates, per ONNX model. */
  measured?: MeasuredMemory;
}

export function planDeployment(catalog: Catalog, profile: LoadedProfile, opts: PlanOptions = {}): Plan {
  const p = profile.spec;
  const budgetMiB = p.gpu.vramMiB - p.reserveMiB;
  if (budgetMiB <= 0) {
    const message = `gpu.vramMiB ${p.gpu.vramMiB} leaves nothing after reserveMiB ${p.reserveMiB}`;
    throw new UserError(profile.source?.problem(["reserveMiB"], message, "lower reserveMiB below gpu.vramMiB") ?? { file: profile.file, message }, 2);
  }
  if (opts.measured) checkMeasured(opts.measured, catalog);
  const { branches, notes } = resolveChecklist(catalog, profile);
  const memoryOf = (cb: CatalogBranch) => branchMemory(cb, opts.measured, p.tensorrt);
  const describe = (cb: CatalogBranch, tier: Tier, step: number, memory: MemoryUse) => describeEntry(cb, tier, step, memory, p.tensorrt);

  const entries: PlanEntry[] = [];
  const admitted: MemoryUse[] = [];
  const consider = (cb: CatalogBranch, tier: Tier, decide: (fit: FitCheck) => Pick<PlanEntry, "cause" | "reason"> | undefined) => {
    const memory = memoryOf(cb);
    const fit = memoryFit(p.policy, [...admitted, memory], budgetMiB);
    const verdict = decide(fit);
    if (!verdict) return;
    const entry: PlanEntry = { ...describe(cb, tier, entries.length + 1, memory), ...verdict, fit };
    if (entry.cause === "required" || entry.cause === "included" || entry.cause === "fits") admitted.push(memory);
    entries.push(entry);
  };

  for (const b of branches.filter((x) => x.tier === "required")) consider(b.branch, "required", () => ({ cause: "required", reason: "required by the checklist" }));
  const required = entries.at(-1)?.fit;
  if (required && !required.fits) throw requiredDoNotFit(profile, entries, required);

  const optional = branches.filter((x) => x.tier === "optional");
  for (const b of optional.filter((x) => x.included && !x.excluded)) {
    consider(b.branch, "optional", (fit) => {
      if (!fit.fits) {
        const message = `'${b.branch.branch.name}' is forced in by overrides.include but does not fit: ${formatFit(fit)}`;
        const hint = "remove it from overrides.include, or exclude other optional branches";
        const path = ["overrides", "include", p.overrides.include.indexOf(b.branch.branch.name)];
        throw new UserError(profile.source?.problem(path, message, hint) ?? { file: profile.file, field: "overrides.include", message, hint }, 1);
      }
      return { cause: "included", reason: `forced in by overrides.include: ${formatFit(fit)}` };
    });
  }
  for (const b of optional.filter((x) => !x.included)) {
    const cb = b.branch;
    if (cb.branch.status !== "ready") entries.push({ ...describe(cb, "optional", entries.length + 1, memoryOf(cb)), cause: "planned", reason: `status ${cb.branch.status}: no export to load yet` });
    else if (b.excluded) entries.push({ ...describe(cb, "optional", entries.length + 1, memoryOf(cb)), cause: "excluded-by-override", reason: "excluded by overrides.exclude" });
    else consider(cb, "optional", (fit) => (fit.fits ? { cause: "fits", reason: `fits: ${formatFit(fit)}` } : { cause: "does-not-fit", reason: `does not fit: ${formatFit(fit)}` }));
  }

  const selected = entries.filter((e) => e.cause === "required" || e.cause === "included" || e.cause === "fits");
  const totals = memoryFit(p.policy, selected.map((e) => e.memory), budgetMiB);
  const reported = p.gpu.reportedMiB;
  return {
    profile: {
      name: p.name,
      file: profile.file,
      gpu: { product: p.gpu.product, vramMiB: p.gpu.vramMiB, ...(reported !== undefined ? { reportedMiB: reported } : {}), nodeLabelMemoryMiB: p.gpu.nodeLabelMemoryMiB ?? p.gpu.vramMiB },
      reserveMiB: p.reserveMiB,
      policy: p.policy,
    },
    onnxRuntime: planOrtSettings(p),
    budgetMiB,
    selected,
    excluded: entries.filter((e) => !selected.includes(e)),
    overrides: [...notes, ...overrideEffects(entries)],
    totals: {
      residentMiB: totals.residentMiB,
      peakMiB: totals.peakMiB,
      needMiB: totals.needMiB,
      headroomMiB: budgetMiB - totals.needMiB,
      ...(reported !== undefined ? { reportedHeadroomMiB: reported - p.reserveMiB - totals.needMiB } : {}),
    },
    loadModels: selected.flatMap((e) => [...e.models].reverse().map((m) => m.name)),
    routing: buildRoutingTable(catalog, new Set(selected.map((e) => e.branch))),
  };
}

/** The plan's entries in the order they were considered (the table's rows). */
export function planEntries(plan: Plan): PlanEntry[] {
  return [...plan.selected, ...plan.excluded].sort((a, b) => a.step - b.step);
}

/**
 * The branch's ONNX model's VRAM. Spec estimates are for ONNX Runtime's CUDA provider; when the
 * profile runs TensorRT, the engines' execution-context memory (counted at the spec's workspaceMiB) is
 * held while the model is loaded (src/config/ort-memory.ts), so it is added to the resident figure,
 * and the CUDA provider's peak is kept as it is (conservative: TensorRT's nodes take their
 * activations from that context memory, not from the arena). Measured figures come from the server
 * running the config as written, TensorRT included, and are taken as they are.
 */
export function branchMemory(cb: CatalogBranch, measured: MeasuredMemory | undefined, tensorrt: boolean): MemoryUse {
  const m = measured?.byModel.get(cb.models.onnx);
  if (m) return { residentMiB: m.residentMiB, peakMiB: m.peakMiB, source: measuredSource(m.source) };
  const s = cb.branch.memory;
  const ws = tensorrt ? cb.branch.accelerator?.workspaceMiB : undefined;
  return { residentMiB: s.residentMiB + (ws ?? 0), peakMiB: s.peakMiB, source: `spec: ${s.source}`, ...(ws ? { workspaceMiB: ws } : {}) };
}

function describeEntry(cb: CatalogBranch, tier: Tier, step: number, memory: MemoryUse, tensorrt: boolean): Omit<PlanEntry, "cause" | "reason" | "fit"> {
  const b = cb.branch;
  const entry: Omit<PlanEntry, "cause" | "reason" | "fit"> = { branch: b.name, family: cb.family, variant: cb.variant, size: b.size, tier, step, models: branchModels(b), memory };
  if (tensorrt && b.accelerator) entry.accelerator = { ...b.accelerator, engineCacheDir: engineCacheDir(cb.models.onnx) };
  if (cb.models.preprocess && b.contract) {
    entry.stepTensorBytes = [...b.contract.inputs, ...b.onnx.inputs].reduce((s, t) => s + tensorByteSize(t.dtype, t.dims), 0);
  }
  return entry;
}

function overrideEffects(entries: readonly PlanEntry[]): OverrideNote[] {
  return entries.flatMap((e): OverrideNote[] => {
    if (e.cause === "included") return [{ kind: "include", branch: e.branch, note: "forced in ahead of the priority order" }];
    if (e.cause === "excluded-by-override") return [{ kind: "exclude", branch: e.branch, note: `left out (resident ${e.memory.residentMiB}, peak ${e.memory.peakMiB} MiB)` }];
    return [];
  });
}

function requiredDoNotFit(profile: LoadedProfile, entries: readonly PlanEntry[], fit: FitCheck): UserError {
  const lines = entries.map((e) => `\n    ${e.branch}: resident ${e.memory.residentMiB}, peak ${e.memory.peakMiB} MiB`).join("");
  const message = `the required branches do not fit on ${profile.spec.gpu.product} (${profile.spec.gpu.vramMiB} MiB - reserve ${profile.spec.reserveMiB}): ${POLICY_FORMULA[profile.spec.policy]} = ${formatFit(fit)}${lines}`;
  const hint = `use a profile with more VRAM, lower reserveMiB if it is too cautious, ${profile.spec.policy === "resident" ? "set policy: serial, " : ""}or move branches to checklist.optional`;
  return new UserError(profile.source?.problem(["checklist", "required"], message, hint) ?? { file: profile.file, field: "checklist.required", message, hint }, 1);
}
