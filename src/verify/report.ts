// The gate's result as data: six named steps, each with its checks (one per model, resolution or
// probe), durations and messages. The JSON report is this object; the terminal table and the JUnit
// XML are views of it. Change the shape only by adding fields: CI and the post-deploy step read it.

export type Status = "pass" | "fail" | "skip";

export const STEP_NAMES = ["health", "repository", "metadata", "smoke", "e2e", "report"] as const;
export type StepName = (typeof STEP_NAMES)[number];

export const STEP_TITLES: Record<StepName, string> = {
  health: "server live, then ready",
  repository: "repository index vs the profile's checklist and plan",
  metadata: "model metadata vs the specs",
  smoke: "smoke inference per entry model",
  e2e: "component flows per resolution",
  report: "table, JSON and JUnit reports",
};

export interface Check {
  /** What was checked: a model, a resolution, a probe. Unique within its step. */
  name: string;
  status: Status;
  durationMs: number;
  /** Why it failed or was skipped; for a pass, a short note. */
  message?: string;
  /** Machine-readable details (e2e: resolved_model_mapping, models_used, component results). */
  data?: Record<string, unknown>;
}

export interface StepReport {
  /** 1 … 6, as in design.md §8. */
  index: number;
  name: StepName;
  title: string;
  status: Status;
  durationMs: number;
  /** One-line summary for the table. */
  summary: string;
  /** Lines worth reading: what failed and why, notes (optional models, fallbacks). */
  details: string[];
  checks: Check[];
}

export interface ReportPlan {
  profile: string;
  /** Branches the plan loads and their models (what must be READY, plus optional ones). */
  selected: { branch: string; tier: string; models: string[] }[];
  /** Branches the plan leaves out, with its reason. */
  excluded: { branch: string; cause: string; reason: string; models: string[] }[];
  loadModels: string[];
}

export interface VerifyReport {
  tool: "triton-deploy verify-ready";
  /** Report format version. */
  version: 1;
  url: string;
  profile: string;
  specsDir: string;
  onnxRoot: string | null;
  resolutions: { name: string; width: number; height: number }[];
  timeoutS: number;
  startedAt: string;
  durationMs: number;
  status: Exclude<Status, "skip">;
  /** 0 pass, 1 fail (as the command exits). */
  exitCode: 0 | 1;
  plan: ReportPlan;
  steps: StepReport[];
}

/** A step's status from its checks: any failure fails it; all skipped (or none) skips it. */
export function rollUp(checks: readonly Check[]): Status {
  if (checks.some((c) => c.status === "fail")) return "fail";
  if (checks.length === 0 || checks.every((c) => c.status === "skip")) return "skip";
  return "pass";
}

/**
 * The gate passes only when no step failed and the steps that prove readiness (health, repository,
 * metadata, smoke, e2e) did not skip.
 */
export function overallStatus(steps: readonly StepReport[]): "pass" | "fail" {
  const required: StepName[] = ["health", "repository", "metadata", "smoke", "e2e"];
  if (steps.some((s) => s.status === "fail")) return "fail";
  return required.every((n) => steps.find((s) => s.name === n)?.status === "pass") ? "pass" : "fail";
}

export function failedChecks(report: Pick<VerifyReport, "steps">): { step: StepName; check: Check }[] {
  return report.steps.flatMap((s) => s.checks.filter((c) => c.status === "fail").map((check) => ({ step: s.name, check })));
}
