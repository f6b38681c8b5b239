// Step 2: the server's repository index against what the profile requires and the plan loads.
// Required models must be READY; optional ones are reported as READY, another state, or absent; a
// model of a branch the plan excludes that the server has loaded anyway fails the gate, because the
// plan left it out for a reason (on a 6 GB card, it will run out of memory). Pure: index in, verdicts out.
import type { Plan, PlanEntry } from "../plan/plan.ts";

/** One row of POST /v2/repository/index. */
export interface IndexEntry {
  name: string;
  version?: string;
  /** READY, UNAVAILABLE, LOADING, UNLOADING, or empty for a model never loaded. */
  state?: string;
  reason?: string;
}

export interface ExpectedModel {
  model: string;
  branch: string;
}

export interface RepositoryExpectation {
  profile: string;
  /** Models of required branches: each must be READY. */
  required: ExpectedModel[];
  /** Models of optional branches the plan selects: reported, not required. */
  optional: ExpectedModel[];
  /** Models of branches the plan excludes, with the plan's reason: loading one is a failure. */
  excluded: (ExpectedModel & { cause: string; reason: string })[];
}

export function expectationFromPlan(plan: Plan): RepositoryExpectation {
  const models = (e: PlanEntry) => e.models.map((m) => ({ model: m.name, branch: e.branch }));
  return {
    profile: plan.profile.name,
    required: plan.selected.filter((e) => e.tier === "required").flatMap(models),
    optional: plan.selected.filter((e) => e.tier !== "required").flatMap(models),
    excluded: plan.excluded.flatMap((e) => models(e).map((m) => ({ ...m, cause: e.cause, reason: e.reason }))),
  };
}

/** A model's state as the index reports it: READY if any version is, else the first state seen; "absent" when not listed. */
export type ModelState = string;

export interface ModelVerdict extends ExpectedModel {
  state: ModelState;
  reason?: string;
}

export interface RepositoryComparison {
  required: (ModelVerdict & { ok: boolean })[];
  optional: ModelVerdict[];
  /** Excluded by the plan yet READY (or loading) on the server. */
  loadedButExcluded: (ModelVerdict & { cause: string; planReason: string })[];
  /** READY on the server, unknown to the profile's plan. */
  unexpected: ModelVerdict[];
  /** One sentence per failure, naming the model. */
  failures: string[];
  /** Optional models that are not READY, unexpected models: worth a line, not a failure. */
  notes: string[];
}

/**
 * Why a model listed by name only is not there: Triton's index gives no state to a model its lifecycle
 * never held (core model_repository_manager.cc RepositoryIndex, r24.08), whatever stopped it.
 */
export const NAME_ONLY = "not loaded: the index lists its name only (never loaded, or stopped before Triton's lifecycle held it: a config.pbtxt that cannot be read, an ensemble whose steps are not READY or that fails its check; the server's log says which)";

export function indexStates(index: readonly IndexEntry[]): Map<string, { state: string; reason?: string }> {
  const out = new Map<string, { state: string; reason?: string }>();
  for (const e of index) {
    const listedOnly = !e.state;
    const state = listedOnly ? "UNAVAILABLE" : e.state!;
    const reason = e.reason ?? (listedOnly ? NAME_ONLY : undefined);
    const prior = out.get(e.name);
    if (prior?.state === "READY") continue;
    if (!prior || state === "READY") out.set(e.name, { state, ...(reason ? { reason } : {}) });
  }
  return out;
}

const LIVE_STATES = new Set(["READY", "LOADING"]);

export function compareRepository(index: readonly IndexEntry[], exp: RepositoryExpectation): RepositoryComparison {
  const states = indexStates(index);
  const verdict = (m: ExpectedModel): ModelVerdict => {
    const s = states.get(m.model);
    return { ...m, state: s?.state ?? "absent", ...(s?.reason ? { reason: s.reason } : {}) };
  };
  const failures: string[] = [];
  const notes: string[] = [];

  const required = exp.required.map((m) => ({ ...verdict(m), ok: states.get(m.model)?.state === "READY" }));
  for (const r of required.filter((x) => !x.ok)) {
    failures.push(`required model ${r.model} (branch ${r.branch}) is ${r.state === "absent" ? "absent from the repository index" : r.state}${r.reason ? `: ${r.reason}` : ""}`);
  }

  const optional = exp.optional.map(verdict);
  for (const o of optional.filter((x) => x.state !== "READY")) notes.push(`optional model ${o.model} (branch ${o.branch}) is ${o.state}${o.reason ? `: ${o.reason}` : ""}; routing falls back where it would be chosen`);

  const loadedButExcluded = exp.excluded
    .map((m) => ({ ...verdict(m), cause: m.cause, planReason: m.reason }))
    .filter((m) => LIVE_STATES.has(m.state));
  for (const m of loadedButExcluded) {
    const risk = m.cause === "does-not-fit" ? "it will run out of GPU memory" : "the plan does not load it";
    failures.push(`model ${m.model} is ${m.state} on the server but the ${exp.profile} plan excludes branch ${m.branch} (${m.planReason}): ${risk}; unload it or drop its --load-model`);
  }

  const known = new Set([...exp.required, ...exp.optional, ...exp.excluded].map((m) => m.model));
  const unexpected = [...states].filter(([name, s]) => !known.has(name) && s.state === "READY").map(([model, s]) => ({ model, branch: "", state: s.state }));
  if (unexpected.length > 0) notes.push(`READY but not in the ${exp.profile} plan (not checked): ${unexpected.map((u) => u.model).join(", ")}`);

  return { required, optional, loadedButExcluded, unexpected, failures, notes };
}
