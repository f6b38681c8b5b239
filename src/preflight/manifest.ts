// Was the repository on disk written for what is about to be deployed? manifest.json (src/repo/
// manifest.ts) records the spec files with their sha256, the profile, the preprocess form and the
// plan's load list; a repository that lacks a model the plan loads makes Triton exit at start-up
// (--exit-on-error defaults to true), after the image pull, minutes into the deploy. Pure comparison;
// reading the spec files is the one effect, kept apart.
import type { LoadedPlan } from "../plan/load.ts";
import type { Manifest } from "../repo/manifest.ts";

export interface ExpectedRepository {
  profile: string;
  loadModels: string[];
  preprocess: "python" | "onnx";
  /** Spec files and their sha256 as synth-repo records them; omitted: not compared. */
  specs?: Record<string, string>;
}

export function expectedRepository(planned: LoadedPlan, specs?: Record<string, string>): ExpectedRepository {
  return { profile: planned.plan.profile.name, loadModels: planned.plan.loadModels, preprocess: planned.profile.spec.deployment.preprocess, ...(specs ? { specs } : {}) };
}

/** What differs, one phrase each; empty when the repository fits. */
export function manifestMismatches(m: Manifest, want: ExpectedRepository): string[] {
  const out: string[] = [];
  if (m.origin.profile !== want.profile) out.push(`written for ${m.origin.profile === null ? "no profile (every branch)" : `profile ${m.origin.profile}`}, not ${want.profile}`);
  const present = new Set(m.models);
  const missing = want.loadModels.filter((x) => !present.has(x));
  if (missing.length > 0) out.push(`lacks ${missing.length} model(s) the plan loads: ${list(missing)}`);
  const recorded = loadModelsOf(m);
  if (missing.length === 0 && recorded && recorded.join(",") !== want.loadModels.join(",")) out.push("its plan's load list differs from the current plan's");
  if (m.origin.preprocess !== want.preprocess) out.push(`preprocess steps are ${m.origin.preprocess}, the profile says ${want.preprocess}`);
  if (want.specs) {
    const names = new Set([...Object.keys(m.origin.specs), ...Object.keys(want.specs)]);
    const changed = [...names].filter((n) => m.origin.specs[n] !== want.specs![n]).sort();
    if (changed.length > 0) out.push(`spec files changed since: ${list(changed)}`);
  }
  return out;
}

function loadModelsOf(m: Manifest): string[] | undefined {
  const plan = m.origin.plan;
  if (typeof plan !== "object" || plan === null || !("loadModels" in plan)) return undefined;
  const l = (plan as { loadModels: unknown }).loadModels;
  return Array.isArray(l) && l.every((x) => typeof x === "string") ? l : undefined;
}

function list(xs: string[]): string {
  return xs.length <= 4 ? xs.join(", ") : `${xs.slice(0, 4).join(", ")} and ${xs.length - 4} more`;
}
