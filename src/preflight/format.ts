// preflight's report for people: one row per check (status, what was seen, the fix), then what a
// rollout of this plan may take, part by part (the progress deadline's arithmetic).
import Table from "cli-table3";
import { formatDuration } from "../plan/rollout.ts";
import type { PreflightReport } from "./run.ts";

export function formatPreflight(r: PreflightReport): string {
  const table = new Table({ head: ["check", "status", "seen", "fix"], style: { head: [], border: [], compact: true }, colWidths: [30, 8, 52, 52], wordWrap: true });
  for (const c of r.checks) table.push([c.title, c.status.toUpperCase(), c.detail, c.fix ?? ""]);
  const failed = r.checks.filter((c) => c.status === "fail").length;
  const warned = r.checks.filter((c) => c.status === "warn").length;
  const rollout = r.rollout.parts.map((p) => `  ${formatDuration(p.seconds).padStart(12)}  ${p.what}`);
  return [
    `preflight — profile ${r.profile}${r.waitedSeconds !== undefined ? ` (waited ${formatDuration(r.waitedSeconds)} for a GPU node)` : ""}`,
    table.toString(),
    r.ok ? `ready to deploy${warned ? ` (${warned} warning${warned > 1 ? "s" : ""})` : ""}` : `${failed} check${failed > 1 ? "s" : ""} failed: fix them before cdktf deploy`,
    "",
    `a first rollout may take up to ${formatDuration(r.rollout.progressDeadlineSeconds)} (the Deployment's progress deadline; terraform waits ${r.rollout.timeoutMinutes.create} min):`,
    ...rollout,
  ].join("\n");
}
