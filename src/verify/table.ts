// The report for people: the six steps with status, time and summary; the e2e routing per resolution
// (which branch each family used, what came out); then every failure and note, in full.
import Table from "cli-table3";
import { failedChecks, type StepReport, type VerifyReport } from "./report.ts";

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mark = (s: string) => s.toUpperCase();
const style = { head: [], border: [], compact: true };

interface ComponentData {
  component: string;
  branches: string[];
  status: string;
  summary?: string;
  error?: string;
}

function e2eTable(step: StepReport): string | undefined {
  const rows = step.checks.filter((c) => c.data);
  if (rows.length === 0) return undefined;
  const components = [...new Set(rows.flatMap((c) => ((c.data!.components as ComponentData[]) ?? []).map((x) => x.component)))];
  const table = new Table({ head: ["resolution", "W×H", ...components.map((c) => c.replace(/^core_/, "")), "calls", "time", "status"], style });
  for (const c of rows) {
    const d = c.data!;
    const byComponent = new Map(((d.components as ComponentData[]) ?? []).map((x) => [x.component, x]));
    table.push([
      String(d.resolution),
      `${d.width}×${d.height}`,
      ...components.map((name) => {
        const x = byComponent.get(name);
        if (!x) return "-";
        const boxes = (x as { result?: { kind: string; detections?: unknown[] } }).result;
        const extra = boxes?.kind === "detections" ? ` (${boxes.detections?.length ?? 0} det)` : "";
        return `${x.branches.join(" + ")}${extra}${x.status === "fail" ? " FAIL" : ""}`;
      }),
      String(d.calls ?? 0),
      secs(c.durationMs),
      mark(c.status),
    ]);
  }
  return table.toString();
}

export function formatReportTable(r: VerifyReport): string {
  const lines: string[] = [];
  const p = r.plan;
  lines.push(
    `verify-ready ${r.url} — profile ${r.profile}: plan loads ${p.selected.length} branches (${p.loadModels.length} models), excludes ${p.excluded.map((e) => e.branch).join(", ") || "nothing"}`,
  );
  const steps = new Table({ head: ["#", "step", "status", "time", "checks", "summary"], style, colAligns: ["right", "left", "left", "right", "right", "left"] });
  for (const s of r.steps) {
    const counts = ["pass", "fail", "skip"].map((st) => s.checks.filter((c) => c.status === st).length);
    steps.push([String(s.index), s.name, mark(s.status), secs(s.durationMs), `${counts[0]}/${counts[1]}/${counts[2]}`, s.summary]);
  }
  lines.push(steps.toString(), "  (checks: passed/failed/skipped)");
  const e2e = r.steps.find((s) => s.name === "e2e");
  const t = e2e && e2eTable(e2e);
  if (t) lines.push("e2e: the branch each component used per resolution (resolved_model_mapping)", t);

  const failures = failedChecks(r);
  if (failures.length > 0) {
    lines.push("failures:");
    for (const f of failures) {
      const message = f.check.message ?? "failed";
      // messages usually start with the model they are about; do not say it twice
      lines.push(`  [${f.step}] ${message.startsWith(`${f.check.name}: `) ? message : `${f.check.name}: ${message}`}`);
    }
  }
  const said = failures.map((f) => f.check.message ?? "");
  const notes = r.steps.flatMap((s) => s.details.filter((d) => !said.some((m) => m.includes(d) || d.includes(m))).map((d) => `  [${s.name}] ${d}`));
  if (notes.length > 0) lines.push("notes:", ...notes);
  lines.push(`verify-ready: ${mark(r.status)} in ${secs(r.durationMs)} (exit ${r.exitCode})`);
  return lines.join("\n");
}
