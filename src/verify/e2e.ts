// Step 5: for each resolution, route as the orchestrator does (design.md §7, over the branches the
// plan selected and the server has READY), then run each component's flow on two consecutive
// synthetic frames through the server, as the pipeline does. Records resolved_model_mapping and
// models_used[] per resolution; a component that fails fails the resolution, naming the model.
import { syntheticFrame, type NamedResolution } from "../pipeline/frame.ts";
import { runPipelineFrame, type ComponentResult, type ComponentRun } from "../pipeline/components.ts";
import { componentBranch, type ComponentBranch } from "../pipeline/tensor.ts";
import { route, type RouteResult } from "../routing/route.ts";
import { buildRoutingTable, type RoutingTable } from "../routing/table.ts";
import { findBranch } from "../spec/catalog.ts";
import type { Check } from "./report.ts";
import { blocked, branchReady, checkedInfer, explain, selectedBranches, type CallLog, type VerifyContext } from "./context.ts";
import type { StepOutcome } from "./steps.ts";

/** The routing table over what is really there: the plan's branches whose models are all READY. */
export function liveRoutingTable(ctx: VerifyContext): RoutingTable {
  return buildRoutingTable(ctx.catalog, new Set(selectedBranches(ctx).filter((cb) => branchReady(ctx, cb)).map((cb) => cb.branch.name)));
}

/** One line per component result, for the table and the report. */
export function describeResult(r: ComponentResult): string {
  const n = (v: number) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : v.toPrecision(3));
  switch (r.kind) {
    case "depth":
      return `${r.branch}: depth ${n(r.min)}…${n(r.max)}, mean ${n(r.mean)}`;
    case "flow":
      return `${r.branch}: |flow| mean ${n(r.meanMagnitude)}, max ${n(r.maxMagnitude)}`;
    case "clip":
      return `${r.imageBranch} + ${r.textBranch}: ${r.prompts} prompts, EOT at ${Math.min(...r.eotPositions)}–${Math.max(...r.eotPositions)}, best prompt #${r.topPrompts[0]?.index ?? "-"}`;
    case "detections": {
      const g = r.geometry;
      const boxes = r.detections.slice(0, 3).map((d) => `c${d.classId} ${d.score.toFixed(2)} [${d.box.map((v) => v.toFixed(0)).join(",")}]`);
      return `${r.branch}: ${g.srcWidth}×${g.srcHeight}→${g.width}×${g.height} in ${g.size} (scale ${g.scale.toFixed(3)}), ${r.candidates} candidates, ${r.detections.length} after NMS${boxes.length ? `: ${boxes.join("; ")}` : ""}`;
    }
    case "places":
      return `${r.branch}: top-5 ${r.top5.map((t) => t.index).join(", ")}`;
  }
}

function componentData(run: ComponentRun): Record<string, unknown> {
  return {
    component: run.component,
    branches: run.branches,
    ms: Math.round(run.ms * 10) / 10,
    status: run.error ? "fail" : "pass",
    ...(run.result ? { summary: describeResult(run.result), result: run.result } : {}),
    ...(run.error ? { error: run.error } : {}),
  };
}

async function runResolution(ctx: VerifyContext, table: RoutingTable, res: NamedResolution): Promise<Check> {
  const t = performance.now();
  const name = `${res.name} (${res.width}×${res.height})`;
  let routed: RouteResult;
  try {
    routed = route(table, { width: res.width, height: res.height });
  } catch (e) {
    return { name, status: "fail", durationMs: performance.now() - t, message: `routing failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  const branches: ComponentBranch[] = routed.decisions.map((d) => componentBranch(findBranch(ctx.catalog, d.branch)!));
  const log: CallLog = { calls: 0, exact: 0 };
  const frames = { frame: syntheticFrame(res.width, res.height, 0), next: syntheticFrame(res.width, res.height, 1) };
  const runs = await runPipelineFrame(checkedInfer(ctx, log), branches, frames);
  const failed = runs.filter((r) => r.error);
  const data = {
    resolution: res.name,
    width: res.width,
    height: res.height,
    metric: routed.metric,
    resolved_model_mapping: routed.resolved_model_mapping,
    models_used: routed.models_used,
    routing: routed.decisions.map((d) => ({ family: d.family, component: d.component, wanted: d.wanted, branch: d.branch, reason: d.reason, ...(d.fallback ? { fallback: d.fallback.reason } : {}) })),
    components: runs.map(componentData),
    calls: log.calls,
    exactCalls: log.exact,
  };
  const ms = performance.now() - t;
  if (failed.length > 0) {
    const why = failed.map((r) => `${r.component}: ${explain(ctx, r.branches.join(" + "), r.failure ?? r.error)}`);
    return { name, status: "fail", durationMs: ms, message: why.join("; "), data };
  }
  const fallbacks = routed.decisions.filter((d) => d.fallback).length;
  return { name, status: "pass", durationMs: ms, message: `${runs.length} components, ${log.calls} calls (${log.exact} exact vs fixtures)${fallbacks ? `, ${fallbacks} fallback(s)` : ""}`, data };
}

export async function e2eStep(ctx: VerifyContext, resolutions: readonly NamedResolution[]): Promise<StepOutcome> {
  const checks: Check[] = [];
  const details: string[] = [];
  const table = liveRoutingTable(ctx);
  const routedFamilies = new Set(table.families.filter((f) => f.branches.some((b) => b.deployed)).map((f) => f.family));
  for (const f of new Set(ctx.plan.selected.map((e) => e.family))) {
    if (!blocked(ctx) && !routedFamilies.has(f)) details.push(`family ${f}: no branch of the plan is READY on the server; its component is not run`);
  }
  const fallbacks = new Map<string, string[]>();
  for (const res of resolutions) {
    const stop = blocked(ctx);
    const check = stop ? { name: `${res.name} (${res.width}×${res.height})`, status: "skip" as const, durationMs: 0, message: stop } : await runResolution(ctx, table, res);
    checks.push(check);
    if (check.status === "fail") details.push(`${check.name}: ${check.message}`);
    for (const r of (check.data?.routing as { fallback?: string }[] | undefined) ?? []) {
      if (r.fallback) fallbacks.set(r.fallback, [...(fallbacks.get(r.fallback) ?? []), res.name]);
    }
  }
  for (const [why, where] of fallbacks) details.push(`fallback at ${where.join(", ")}: ${why}`);
  const pass = checks.filter((c) => c.status === "pass").length;
  const calls = checks.reduce((n, c) => n + ((c.data?.calls as number | undefined) ?? 0), 0);
  return { checks, details: [...new Set(details)], summary: `${pass}/${checks.length} resolutions through every routed component (${calls} calls)` };
}
