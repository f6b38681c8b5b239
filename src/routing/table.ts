// The routing table: per family, the rule that maps a video's resolution to a branch, the branches
// (ready ones only, sorted by size) and whether the plan deployed each. Plain data, so it is exported
// as JSON with the plan and read back by other services; route.ts is the function over it.
import { UserError, type Problem } from "../errors.ts";
import { branchModels } from "../names.ts";
import type { Catalog, CatalogFamily } from "../spec/catalog.ts";

/**
 * Default tier bounds on max(width, height): <= 320 small, <= 448 medium, larger large (seed 001).
 * The one place these numbers live; a family overrides them with `routing.upTo`.
 */
export const DEFAULT_TIERS_UP_TO: readonly number[] = Object.freeze([320, 448]);

/** The metric every rule compares against, as recorded in decisions and in the JSON table. */
export const ROUTING_METRIC = "max(analysis_width, analysis_height)";

export type RouteRule = { rule: "tiers"; upTo: number[] } | { rule: "no-upscale" };

export interface RouteBranch {
  branch: string;
  variant: string;
  size: number;
  /** The model callers send requests to. */
  entry: string;
  /** Every model a call touches: entry first, then its steps. */
  models: string[];
  /** True when the plan loads this branch. */
  deployed: boolean;
}

export interface FamilyRoute {
  family: string;
  component: string;
  /** The complexity variant routed when the caller names none. */
  defaultVariant: string;
  routing: RouteRule;
  /** Ready branches of every variant, by variant then size. */
  branches: RouteBranch[];
}

export interface RoutingTable {
  metric: typeof ROUTING_METRIC;
  families: FamilyRoute[];
}

/** The family's rule, with the default tiers filled in. */
export function familyRule(f: CatalogFamily): RouteRule {
  const r = f.spec.routing;
  if (!r) return { rule: "tiers", upTo: [...DEFAULT_TIERS_UP_TO] };
  return r.rule === "tiers" ? { rule: "tiers", upTo: [...r.upTo] } : { rule: "no-upscale" };
}

/** Builds the table over the catalog; `deployed` holds the branch names the plan selected. */
export function buildRoutingTable(catalog: Catalog, deployed: ReadonlySet<string>): RoutingTable {
  const problems: Problem[] = [];
  const families = catalog.families.map((f): FamilyRoute => {
    const routing = familyRule(f);
    if (routing.rule === "tiers" && !routing.upTo.every((v, i, a) => i === 0 || v > a[i - 1]!)) {
      problems.push(f.source.problem(["routing", "upTo"], `tier bounds [${routing.upTo.join(", ")}] are not strictly ascending`, "list the upper bounds from small to large"));
    }
    const own = catalog.branches.filter((b) => b.family === f.spec.family);
    const branches = own
      .filter((b) => b.branch.status === "ready")
      .map((b) => ({
        branch: b.branch.name,
        variant: b.variant,
        size: b.branch.size,
        entry: b.models.entry,
        models: branchModels(b.branch).map((m) => m.name),
        deployed: deployed.has(b.branch.name),
      }))
      .sort((a, b) => a.variant.localeCompare(b.variant) || a.size - b.size);
    return {
      family: f.spec.family,
      component: f.spec.component,
      defaultVariant: f.spec.defaultVariant ?? own[0]?.variant ?? f.spec.family,
      routing,
      branches,
    };
  });
  if (problems.length > 0) throw new UserError(problems, 2);
  return { metric: ROUTING_METRIC, families };
}
