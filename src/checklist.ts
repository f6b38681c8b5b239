// The checklist of a profile: which branches, and through src/names.ts which models, are required or
// optional. The one place that turns the profile's branch names into models, so the plan, the
// repository writer, the stacks and verify-ready can never disagree about a name.
import { UserError, type Problem } from "./errors.ts";
import { branchModels, type ModelRole } from "./names.ts";
import type { Catalog, CatalogBranch } from "./spec/catalog.ts";
import type { LoadedProfile } from "./spec/profile.ts";
import type { FieldPath } from "./spec/yaml.ts";

export type Tier = "required" | "optional";

export interface ChecklistBranch {
  branch: CatalogBranch;
  tier: Tier;
  /** Set when overrides.include forced an optional branch ahead of the priority order. */
  included: boolean;
  /** Set when overrides.exclude keeps this optional branch out of every plan. */
  excluded: boolean;
}

export interface ChecklistModel {
  name: string;
  role: ModelRole;
  branch: string;
  family: string;
  tier: Tier;
}

export interface Checklist {
  profile: string;
  /** Every model that must be READY. */
  required: ChecklistModel[];
  /** Models the plan may load, in the profile's priority order. */
  optional: ChecklistModel[];
}

/** A note on an override that changed nothing (kept so the plan can report it). */
export interface OverrideNote {
  kind: "include" | "exclude";
  branch: string;
  note: string;
}

export interface ResolvedChecklist {
  /** Required branches in profile order, then optional ones: includes first, then the priority order. */
  branches: ChecklistBranch[];
  notes: OverrideNote[];
}

/**
 * Resolves the profile's branch names against the catalog. Unknown or unusable names fail with the
 * profile's file:line:column (exit 2): a typo must never silently shrink a deployment.
 */
export function resolveChecklist(catalog: Catalog, profile: LoadedProfile): ResolvedChecklist {
  const { checklist, overrides } = profile.spec;
  const problems: Problem[] = [];
  const byName = new Map(catalog.branches.map((b) => [b.branch.name, b]));
  const at = (path: FieldPath, message: string, hint: string): Problem =>
    profile.source?.problem(path, message, hint) ?? { file: profile.file, message, hint };
  const lookup = (name: string, path: FieldPath): CatalogBranch | undefined => {
    const b = byName.get(name);
    if (!b) problems.push(at(path, `unknown branch '${name}'`, `use a branch of the catalog: ${nearest(name, [...byName.keys()])}`));
    return b;
  };

  const required = new Set(checklist.required);
  const out: ChecklistBranch[] = [];
  checklist.required.forEach((name, i) => {
    const b = lookup(name, ["checklist", "required", i]);
    if (b && b.branch.status !== "ready") problems.push(at(["checklist", "required", i], `branch '${name}' is ${b.branch.status}: it has no export to load`, "move it to checklist.optional, or mark the branch ready once exported"));
    if (b) out.push({ branch: b, tier: "required", included: false, excluded: false });
  });

  const notes: OverrideNote[] = [];
  const optionalOrder: { name: string; branch: CatalogBranch; included: boolean }[] = [];
  overrides.include.forEach((name, i) => {
    const b = lookup(name, ["overrides", "include", i]);
    if (!b) return;
    if (required.has(name)) notes.push({ kind: "include", branch: name, note: "already required; nothing to force" });
    else if (b.branch.status !== "ready") problems.push(at(["overrides", "include", i], `branch '${name}' is ${b.branch.status}: it has no export to load`, "remove it from overrides.include"));
    else optionalOrder.push({ name, branch: b, included: true });
  });
  checklist.optional.forEach((name, i) => {
    const b = lookup(name, ["checklist", "optional", i]);
    if (b && !overrides.include.includes(name)) optionalOrder.push({ name, branch: b, included: false });
  });

  const excluded = new Set(overrides.exclude);
  overrides.exclude.forEach((name, i) => {
    if (!lookup(name, ["overrides", "exclude", i])) return;
    if (required.has(name)) problems.push(at(["overrides", "exclude", i], `branch '${name}' is required and cannot be excluded`, "remove it from checklist.required instead"));
    else if (!checklist.optional.includes(name)) notes.push({ kind: "exclude", branch: name, note: "not in checklist.optional; nothing to exclude" });
  });
  if (problems.length > 0) throw new UserError(problems, 2);

  for (const o of optionalOrder) out.push({ branch: o.branch, tier: "optional", included: o.included, excluded: excluded.has(o.name) });
  return { branches: out, notes };
}

/** The models a profile requires or may load, named by src/names.ts (entry first, as seed 001 lists them). */
export function buildChecklist(catalog: Catalog, profile: LoadedProfile): Checklist {
  const models = (tier: Tier): ChecklistModel[] =>
    resolveChecklist(catalog, profile)
      .branches.filter((b) => b.tier === tier)
      .flatMap((b) => branchModels(b.branch.branch).map((m) => ({ ...m, branch: b.branch.branch.name, family: b.branch.family, tier })));
  return { profile: profile.spec.name, required: models("required"), optional: models("optional") };
}

/** Up to three catalog names closest to a typo, for the hint. */
function nearest(name: string, known: readonly string[]): string {
  const ranked = known.map((k) => ({ k, d: editDistance(name, k) })).sort((a, b) => a.d - b.d || a.k.localeCompare(b.k));
  return ranked.slice(0, 3).map((r) => r.k).join(", ");
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}
