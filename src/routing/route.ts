// Routing (design.md §7): before any call the orchestrator picks, per family, the branch for the
// video's resolution, falls back to the nearest deployed branch when the plan left the chosen one
// out, and records resolved_model_mapping and models_used[] for the run's provenance.
import { UserError } from "../errors.ts";
import type { FamilyRoute, RouteBranch, RouteRule, RoutingTable } from "./table.ts";

export interface Resolution {
  /** analysis_width: the width the pipeline analyses at (source width when it does not resize). */
  width: number;
  height: number;
}

export interface RouteOptions {
  /** Complexity variant: one name for every family that has it, or one per family. Default: each family's defaultVariant. */
  variant?: string | Readonly<Record<string, string>>;
  /** Families to route. Default: every family with a deployed branch. */
  families?: readonly string[];
}

export interface RouteDecision {
  family: string;
  component: string;
  variant: string;
  metric: number;
  rule: RouteRule["rule"];
  /** The branch the rule picks. */
  wanted: string;
  /** The branch used: `wanted`, or the fallback. */
  branch: string;
  size: number;
  entry: string;
  models: string[];
  /** Why the rule picked `wanted`. */
  reason: string;
  /** Present when `wanted` is not deployed. */
  fallback?: { from: string; reason: string };
}

export interface RouteResult {
  metric: number;
  decisions: RouteDecision[];
  /** Family → the entry model called. */
  resolved_model_mapping: Record<string, string>;
  /** Every model the calls touch (entries and their steps), each once. */
  models_used: string[];
}

export function route(table: RoutingTable, res: Resolution, opts: RouteOptions = {}): RouteResult {
  const metric = routingMetric(res);
  const names = opts.families ?? table.families.filter((f) => f.branches.some((b) => b.deployed)).map((f) => f.family);
  const decisions = names.map((name) => {
    const fam = table.families.find((f) => f.family === name);
    if (!fam) throw new UserError({ message: `unknown family '${name}'`, hint: `route one of: ${table.families.map((f) => f.family).join(", ")}` }, 2);
    return routeFamily(fam, res, variantFor(table, fam, opts.variant));
  });
  return {
    metric,
    decisions,
    resolved_model_mapping: Object.fromEntries(decisions.map((d) => [d.family, d.entry])),
    models_used: [...new Set(decisions.flatMap((d) => d.models))],
  };
}

/** max(width, height): the side that decides how much detail a fixed square branch can use. */
export function routingMetric(res: Resolution): number {
  for (const [k, v] of Object.entries(res)) {
    if (!Number.isInteger(v) || v <= 0) throw new UserError({ field: k, message: `a resolution needs positive integer sides, got ${k} ${String(v)}` }, 2);
  }
  return Math.max(res.width, res.height);
}

export function routeFamily(fam: FamilyRoute, res: Resolution, variant = fam.defaultVariant): RouteDecision {
  const metric = routingMetric(res);
  const branches = fam.branches.filter((b) => b.variant === variant);
  if (branches.length === 0) {
    const known = [...new Set(fam.branches.map((b) => b.variant))].join(", ");
    throw new UserError({ field: fam.family, message: `family '${fam.family}' has no ready branch of variant '${variant}'`, hint: `use one of: ${known}` }, 2);
  }
  const { index, reason } = pick(fam.routing, branches, metric);
  const wanted = branches[index]!;
  const base = { family: fam.family, component: fam.component, variant, metric, rule: fam.routing.rule, wanted: wanted.branch, reason };
  if (wanted.deployed) return { ...base, ...use(wanted) };

  const smaller = branches.slice(0, index).reverse().find((b) => b.deployed);
  const larger = branches.slice(index + 1).find((b) => b.deployed);
  const chosen = smaller ?? larger;
  if (!chosen) {
    throw new UserError({
      field: fam.family,
      message: `no branch of ${fam.family} (${variant}) is deployed: ${branches.map((b) => b.branch).join(", ")} are all outside the plan`,
      hint: "add one of them to the profile's checklist, or do not route this family",
    }, 1);
  }
  const how = chosen === smaller ? "the nearest smaller deployed branch" : "no smaller branch is deployed; the nearest larger one";
  return { ...base, ...use(chosen), fallback: { from: wanted.branch, reason: `${wanted.branch} is not deployed in this plan; using ${chosen.branch}, ${how}` } };
}

function use(b: RouteBranch): Pick<RouteDecision, "branch" | "size" | "entry" | "models"> {
  return { branch: b.branch, size: b.size, entry: b.entry, models: [...b.models] };
}

/** Index into `branches` (ascending size) chosen by the rule, with the reason in words. */
function pick(rule: RouteRule, branches: readonly RouteBranch[], metric: number): { index: number; reason: string } {
  if (rule.rule === "no-upscale") {
    let index = -1;
    branches.forEach((b, i) => { if (b.size <= metric) index = i; });
    if (index < 0) return { index: 0, reason: `${metric} is below every size; the smallest (${branches[0]!.size}), letterboxed, never upscaled` };
    return { index, reason: `${branches[index]!.size} is the largest size <= ${metric} (no upscaling)` };
  }
  if (branches.length === 1) return { index: 0, reason: `${branches[0]!.branch} is the family's only ready branch` };
  const tier = rule.upTo.findIndex((bound) => metric <= bound);
  const t = tier < 0 ? rule.upTo.length : tier;
  const index = Math.min(t, branches.length - 1);
  const range = tier < 0 ? `> ${rule.upTo.at(-1)}` : `<= ${rule.upTo[tier]}${tier > 0 ? ` and > ${rule.upTo[tier - 1]}` : ""}`;
  const capped = index < t ? ` (only ${branches.length} ready branches: the largest)` : "";
  return { index, reason: `${metric} ${range}: tier ${t + 1} of ${rule.upTo.length + 1}${capped}` };
}

function variantFor(table: RoutingTable, fam: FamilyRoute, v: RouteOptions["variant"]): string {
  if (v === undefined) return fam.defaultVariant;
  if (typeof v === "string") {
    if (!table.families.some((f) => f.branches.some((b) => b.variant === v))) {
      throw new UserError({ message: `no family has variant '${v}'`, hint: "name a variant of the catalog, e.g. yolo11x" }, 2);
    }
    return fam.branches.some((b) => b.variant === v) ? v : fam.defaultVariant;
  }
  for (const name of Object.keys(v)) {
    if (!table.families.some((f) => f.family === name)) throw new UserError({ message: `variant given for unknown family '${name}'` }, 2);
  }
  return v[fam.family] ?? fam.defaultVariant;
}
