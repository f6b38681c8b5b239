// The plan for people (a table with the arithmetic) and for machines (--json). The JSON shape is a
// contract other services read; change it only by adding fields.
import Table from "cli-table3";
import { formatFit } from "./memory.ts";
import { planEntries, type Plan, type PlanEntry } from "./plan.ts";
import type { RoutingTable } from "../routing/table.ts";

export function formatPlanTable(plan: Plan): string {
  const p = plan.profile;
  const head = `profile ${p.name} (${p.file}): ${p.gpu.product}, ${p.gpu.vramMiB} MiB - reserve ${p.reserveMiB} = budget ${plan.budgetMiB} MiB, policy ${p.policy}: sum(resident) + max(peak) <= budget`;
  const table = new Table({
    head: ["#", "branch", "models", "resident", "peak", "Σ resident + max peak", "decision"],
    style: { head: [], border: [], compact: true },
    colAligns: ["right", "left", "left", "right", "right", "right", "left"],
  });
  for (const e of planEntries(plan)) {
    table.push([String(e.step), `${e.branch}\n(${e.tier})`, e.models.map((m) => m.name).join("\n"), String(e.memory.residentMiB), String(e.memory.peakMiB), e.fit ? formatFit(e.fit) : "-", decision(e)]);
  }
  const t = plan.totals;
  const lines = [
    head,
    table.toString(),
    `selected ${plan.selected.length} branches (${plan.loadModels.length} models): ${t.residentMiB} + ${t.peakMiB} = ${t.needMiB} of ${plan.budgetMiB} MiB, headroom ${t.headroomMiB} MiB`,
    `excluded ${plan.excluded.length}: ${plan.excluded.map((e) => e.branch).join(", ") || "none"}`,
  ];
  for (const o of plan.overrides) lines.push(`override ${o.kind} ${o.branch}: ${o.note}`);
  return lines.join("\n");
}

function decision(e: PlanEntry): string {
  const selected = e.cause === "required" || e.cause === "included" || e.cause === "fits";
  const why = { required: "required", included: "forced by overrides.include", fits: "fits", "does-not-fit": "does not fit", "excluded-by-override": "overrides.exclude", planned: "status planned" }[e.cause];
  return `${selected ? "SELECTED" : "EXCLUDED"}: ${why}`;
}

export interface PlanJson {
  profile: Plan["profile"];
  budgetMiB: number;
  totals: Plan["totals"];
  selected: EntryJson[];
  excluded: EntryJson[];
  overrides: Plan["overrides"];
  /** One --load-model=<name> per entry, in this order. */
  loadModels: string[];
  routing: RoutingTable;
}

interface EntryJson {
  branch: string;
  family: string;
  variant: string;
  size: number;
  tier: string;
  /** Ensemble, preprocess step and ONNX model, where the branch has each. */
  models: { ensemble?: string; preprocess?: string; onnx?: string };
  residentMiB: number;
  peakMiB: number;
  memorySource: string;
  cause: string;
  reason: string;
  fit?: PlanEntry["fit"];
}

export function planJson(plan: Plan): PlanJson {
  const entry = (e: PlanEntry): EntryJson => ({
    branch: e.branch,
    family: e.family,
    variant: e.variant,
    size: e.size,
    tier: e.tier,
    models: Object.fromEntries(e.models.map((m) => [m.role, m.name])),
    residentMiB: e.memory.residentMiB,
    peakMiB: e.memory.peakMiB,
    memorySource: e.memory.source,
    cause: e.cause,
    reason: e.reason,
    ...(e.fit ? { fit: e.fit } : {}),
  });
  return {
    profile: plan.profile,
    budgetMiB: plan.budgetMiB,
    totals: plan.totals,
    selected: plan.selected.map(entry),
    excluded: plan.excluded.map(entry),
    overrides: plan.overrides,
    loadModels: plan.loadModels,
    routing: plan.routing,
  };
}
