// The plan for people (a table with the arithmetic) and for machines (--json). The JSON shape is a
// contract other services read; change it only by adding fields.
import Table from "cli-table3";
import { formatFit } from "./memory.ts";
import { planEntries, type Plan, type PlanEntry } from "./plan.ts";
import { quote } from "../config/text-writer.ts";
import type { RoutingTable } from "../routing/table.ts";
import type { StartupBudget } from "./startup.ts";

/** The plan's table; with `startup`, the startup probe's budget and its parts under it. */
export function formatPlanTable(plan: Plan, startup?: StartupBudget): string {
  const p = plan.profile;
  const o = plan.onnxRuntime;
  const head = `profile ${p.name} (${p.file}): ${p.gpu.product}, ${p.gpu.vramMiB} MiB - reserve ${p.reserveMiB} = budget ${plan.budgetMiB} MiB, policy ${p.policy}: ${o.formula} <= budget`;
  const configs = [
    `every ONNX Runtime config: parameters ${Object.entries(o.parameters).map(([k, v]) => `${k}: ${quote(v)}`).join(", ")} (cuDNN search ${o.cudnnConvAlgoSearch}${p.policy === "serial" ? ", arena shrinks after each run" : ", arenas keep their peaks"})`,
    `  and ${o.warmup}; tritonserver --model-load-thread-count=${o.modelLoadThreadCount}${o.modelLoadThreadCount === 1 ? " (one warm-up at a time, so start-up peaks do not add up)" : ""}`,
  ];
  const table = new Table({
    head: ["#", "branch", "models", "resident", "peak", p.policy === "serial" ? "Σ resident + max peak" : "Σ resident + Σ peak", "decision"],
    style: { head: [], border: [], compact: true },
    colAligns: ["right", "left", "left", "right", "right", "right", "left"],
  });
  for (const e of planEntries(plan)) {
    table.push([String(e.step), `${e.branch}\n(${e.tier})`, e.models.map((m) => m.name).join("\n"), String(e.memory.residentMiB), peakCell(e), e.fit ? formatFit(e.fit) : "-", decision(e)]);
  }
  const t = plan.totals;
  const lines = [
    head,
    ...configs,
    table.toString(),
    `selected ${plan.selected.length} branches (${plan.loadModels.length} models): ${t.residentMiB} + ${t.peakMiB} = ${t.needMiB} of ${plan.budgetMiB} MiB, headroom ${t.headroomMiB} MiB`,
    `excluded ${plan.excluded.length}: ${plan.excluded.map((e) => e.branch).join(", ") || "none"}`,
  ];
  for (const o of plan.overrides) lines.push(`override ${o.kind} ${o.branch}: ${o.note}`);
  if (startup) lines.push(`startup budget ${startup.seconds} s: ${startup.parts.map((x) => `${x.what} ${x.seconds} s`).join(", ")}`);
  return lines.join("\n");
}

/** The peak, and where TensorRT is on, its share: "1656\nTRT FP16\n+256 ws". */
function peakCell(e: PlanEntry): string {
  const a = e.accelerator;
  if (!a) return String(e.memory.peakMiB);
  return `${e.memory.peakMiB}\nTRT ${a.precision}${e.memory.workspaceMiB ? `\n+${e.memory.workspaceMiB} ws` : ""}`;
}

function decision(e: PlanEntry): string {
  const selected = e.cause === "required" || e.cause === "included" || e.cause === "fits";
  const why = { required: "required", included: "forced by overrides.include", fits: "fits", "does-not-fit": "does not fit", "excluded-by-override": "overrides.exclude", planned: "status planned" }[e.cause];
  return `${selected ? "SELECTED" : "EXCLUDED"}: ${why}`;
}

export interface PlanJson {
  profile: Plan["profile"];
  /** Policy, cuDNN search, the parameters and warm-up every ONNX Runtime config carries. */
  onnxRuntime: Plan["onnxRuntime"];
  budgetMiB: number;
  totals: Plan["totals"];
  selected: EntryJson[];
  excluded: EntryJson[];
  overrides: Plan["overrides"];
  /** One --load-model=<name> per entry, in this order. */
  loadModels: string[];
  routing: RoutingTable;
  /** How long the startup probe lets Triton start (loading, warm-up, first TensorRT builds). */
  startup?: StartupBudget;
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
  /** TensorRT's workspace included. */
  peakMiB: number;
  /** The part of peakMiB that is TensorRT's workspace (estimates only). */
  workspaceMiB?: number;
  memorySource: string;
  accelerator?: PlanEntry["accelerator"];
  cause: string;
  reason: string;
  fit?: PlanEntry["fit"];
}

export function planJson(plan: Plan, startup?: StartupBudget): PlanJson {
  const entry = (e: PlanEntry): EntryJson => ({
    branch: e.branch,
    family: e.family,
    variant: e.variant,
    size: e.size,
    tier: e.tier,
    models: Object.fromEntries(e.models.map((m) => [m.role, m.name])),
    residentMiB: e.memory.residentMiB,
    peakMiB: e.memory.peakMiB,
    ...(e.memory.workspaceMiB ? { workspaceMiB: e.memory.workspaceMiB } : {}),
    memorySource: e.memory.source,
    ...(e.accelerator ? { accelerator: e.accelerator } : {}),
    cause: e.cause,
    reason: e.reason,
    ...(e.fit ? { fit: e.fit } : {}),
  });
  return {
    profile: plan.profile,
    onnxRuntime: plan.onnxRuntime,
    budgetMiB: plan.budgetMiB,
    totals: plan.totals,
    selected: plan.selected.map(entry),
    excluded: plan.excluded.map(entry),
    overrides: plan.overrides,
    loadModels: plan.loadModels,
    routing: plan.routing,
    ...(startup ? { startup } : {}),
  };
}
