// The plan for people (a table with the arithmetic) and for machines (--json). The JSON shape is a
// contract other services read; change it only by adding fields.
import Table from "cli-table3";
import { formatFit } from "./memory.ts";
import { planEntries, type Plan, type PlanEntry } from "./plan.ts";
import { quote } from "../config/text-writer.ts";
import { ENGINE_CACHE_MOUNT } from "./engine-cache.ts";
import type { RoutingTable } from "../routing/table.ts";
import type { StartupBudget } from "./startup.ts";

/** The plan's table; with `startup`, the startup probe's budget and its parts under it. */
export function formatPlanTable(plan: Plan, startup?: StartupBudget): string {
  const p = plan.profile;
  const o = plan.onnxRuntime;
  const head = `profile ${p.name} (${p.file}): ${p.gpu.product}, ${p.gpu.vramMiB} MiB - reserve ${p.reserveMiB} = budget ${plan.budgetMiB} MiB, policy ${p.policy}: ${o.formula} <= budget`;
  const tensorrt = plan.selected.filter((e) => e.accelerator).length;
  const why = [
    ...(o.modelLoadThreadCount === 1 ? ["one warm-up at a time, so start-up peaks do not add up"] : []),
    ...(o.rateLimiter ? ["one GPU model runs at a time, so run peaks do not add up"] : []),
  ];
  const configs = [
    `every ONNX Runtime config: parameters ${Object.entries(o.parameters).map(([k, v]) => `${k}: ${quote(v)}`).join(", ")} (cuDNN search ${o.cudnnConvAlgoSearch}${p.policy === "serial" ? ", arena shrinks after each run" : ", arenas keep their peaks"})`,
    `  and ${o.warmup}${o.rateLimiter ? `; every GPU instance holds the global rate-limiter resource ${o.rateLimiter.resource} (count 1)` : ""}`,
    `tritonserver ${[`--model-load-thread-count=${o.modelLoadThreadCount}`, ...(o.rateLimiter?.args ?? [])].join(" ")}${why.length > 0 ? ` (${why.join("; ")})` : ""}`,
    o.tensorrt
      ? `TensorRT on (profile tensorrt: true) for ${tensorrt} selected branches: each engine's context memory (its workspace) is held while loaded, so it is in the resident column; engines cached in ${ENGINE_CACHE_MOUNT}/<model>/<export key>`
      : "TensorRT off (profile tensorrt: false): ONNX Runtime's CUDA provider runs every branch; the specs' accelerator blocks are not written",
  ];
  const table = new Table({
    head: ["#", "branch", "models", "resident", "peak", p.policy === "serial" ? "Σ resident + max peak" : "Σ resident + Σ peak", "decision"],
    style: { head: [], border: [], compact: true },
    colAligns: ["right", "left", "left", "right", "right", "right", "left"],
  });
  for (const e of planEntries(plan)) {
    table.push([String(e.step), `${e.branch}\n(${e.tier})`, e.models.map((m) => m.name).join("\n"), residentCell(e), String(e.memory.peakMiB), e.fit ? formatFit(e.fit) : "-", decision(e)]);
  }
  const t = plan.totals;
  const lines = [
    head,
    ...configs,
    table.toString(),
    `selected ${plan.selected.length} branches (${plan.loadModels.length} models): ${t.residentMiB} + ${t.peakMiB} = ${t.needMiB} of ${plan.budgetMiB} MiB, headroom ${t.headroomMiB} MiB${headroomOnReported(plan)}`,
    `excluded ${plan.excluded.length}: ${plan.excluded.map((e) => e.branch).join(", ") || "none"}`,
  ];
  for (const o of plan.overrides) lines.push(`override ${o.kind} ${o.branch}: ${o.note}`);
  if (startup) lines.push(`startup budget ${startup.seconds} s: ${startup.parts.map((x) => `${x.what} ${x.seconds} s`).join(", ")}`);
  return lines.join("\n");
}

/** The resident figure, and where TensorRT runs, its share: "796\nTRT FP16\n+256 ctx". */
function residentCell(e: PlanEntry): string {
  const a = e.accelerator;
  if (!a) return String(e.memory.residentMiB);
  return `${e.memory.residentMiB}\nTRT ${a.precision}${e.memory.workspaceMiB ? `\n+${e.memory.workspaceMiB} ctx` : ""}`;
}

/** The headroom on what the card reports (NVML's total), beside the nominal one the budget uses. */
function headroomOnReported(plan: Plan): string {
  const reported = plan.profile.gpu.reportedMiB;
  const h = plan.totals.reportedHeadroomMiB;
  if (reported === undefined || h === undefined) return ` (on the nominal ${plan.profile.gpu.vramMiB} MiB)`;
  const real = `${h} MiB on the ${reported} MiB the card reports (nvidia.com/gpu.memory)`;
  if (h >= 0) return ` on the nominal ${plan.profile.gpu.vramMiB} MiB; real headroom ${real}`;
  return ` on the nominal ${plan.profile.gpu.vramMiB} MiB, but ${real}: the set does not fit the real card (lower reserveMiB only if measured, or exclude a branch)`;
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
  /** TensorRT's context memory included, where the profile runs it. */
  residentMiB: number;
  peakMiB: number;
  /** The part of residentMiB that is TensorRT's context memory, counted at the spec's workspace (estimates only). */
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
