// The plan from files: the one entry point scripts, stacks and the repository writer share, so the
// same flags (--specs, --profile, --measured) mean the same everywhere.
import type { Catalog, CatalogBranch } from "../spec/catalog.ts";
import { loadCatalog } from "../spec/catalog.ts";
import { loadProfile, type LoadedProfile } from "../spec/profile.ts";
import { loadMeasured } from "./measured.ts";
import { planDeployment, type Plan } from "./plan.ts";

export interface LoadPlanOptions {
  /** Model spec directory. @default "model-specs" */
  specsDir?: string;
  profile: string;
  /** JSON file of measured VRAM per ONNX model. */
  measuredFile?: string;
}

export interface LoadedPlan {
  catalog: Catalog;
  profile: LoadedProfile;
  plan: Plan;
}

export async function loadPlan(opts: LoadPlanOptions): Promise<LoadedPlan> {
  const specsDir = opts.specsDir ?? "model-specs";
  const catalog = await loadCatalog(specsDir);
  const profile = await loadProfile(specsDir, opts.profile);
  const measured = opts.measuredFile ? await loadMeasured(opts.measuredFile) : undefined;
  return { catalog, profile, plan: planDeployment(catalog, profile, measured ? { measured } : {}) };
}

/** The catalog branches a plan selected, in plan order (for the repository writer). */
export function selectedBranches(catalog: Catalog, plan: Plan): CatalogBranch[] {
  return plan.selected.map((e) => catalog.branches.find((b) => b.branch.name === e.branch)!);
}
