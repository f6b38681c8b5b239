// The gate (design.md §8) as one library call: load the catalog, profile and plan, then run the six
// steps in order against a server, each timed and reported, and write the JSON and JUnit reports.
// Steps after a failure still run where they can (a full picture beats the first error), except
// that a server that cannot be reached, or a spent --timeout, skips what is left with the reason.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { loadPlan } from "../plan/load.ts";
import type { Plan } from "../plan/plan.ts";
import type { NamedResolution } from "../pipeline/frame.ts";
import type { VerifyContext } from "./context.ts";
import { Deadline } from "./deadline.ts";
import { e2eStep } from "./e2e.ts";
import { FixtureOracle } from "./expected.ts";
import { junitXml } from "./junit.ts";
import { overallStatus, rollUp, STEP_TITLES, type Check, type ReportPlan, type StepName, type StepReport, type VerifyReport } from "./report.ts";
import type { KServeServer } from "./server.ts";
import { smokeStep } from "./smoke.ts";
import { healthStep, metadataStep, repositoryStep, type StepOutcome } from "./steps.ts";
import { kubernetesDownHint, selectedBranches } from "./context.ts";

export interface VerifyOptions {
  server: KServeServer;
  /** Model spec directory. @default "model-specs" */
  specsDir?: string;
  /** GPU profile whose checklist and plan the server must match. @default "gpu-local" */
  profile?: string;
  /** ONNX root the repository was written from; where an export there is a fixture, numbers are checked exactly. */
  onnxRoot?: string;
  resolutions: readonly NamedResolution[];
  /** Budget for the whole run, in seconds; every wait and request is bounded by what is left. */
  timeoutS: number;
  /** Write the JSON report here. */
  reportFile?: string;
  /** Write the JUnit XML report here. */
  junitFile?: string;
  /** Progress lines (one per step), e.g. to stderr. */
  progress?: (line: string) => void;
  /** `MODEL` (entry model or branch) or `MODEL:OUTPUT`, each constant, or the same for different inputs, on purpose. */
  acceptConstantOutput?: readonly string[];
}

function reportPlan(plan: Plan): ReportPlan {
  return {
    profile: plan.profile.name,
    selected: plan.selected.map((e) => ({ branch: e.branch, tier: e.tier, models: e.models.map((m) => m.name) })),
    excluded: plan.excluded.map((e) => ({ branch: e.branch, cause: e.cause, reason: e.reason, models: e.models.map((m) => m.name) })),
    loadModels: plan.loadModels,
  };
}

export async function verifyReady(o: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const specsDir = o.specsDir ?? "model-specs";
  const { catalog, plan, profile } = await loadPlan({ specsDir, profile: o.profile ?? "gpu-local" });
  const deadline = new Deadline(o.timeoutS * 1000);
  const ctx: VerifyContext = {
    server: o.server,
    catalog,
    plan,
    oracle: FixtureOracle.none(),
    deadline,
    ready: new Set(),
    step: "health",
    timeoutS: o.timeoutS,
    downHint: kubernetesDownHint(profile.spec.deployment.namespace),
    acceptConstant: new Set(o.acceptConstantOutput ?? []),
  };
  if (o.onnxRoot) ctx.oracle = await FixtureOracle.load(selectedBranches(ctx), o.onnxRoot);
  const progress = o.progress ?? (() => {});

  const steps: StepReport[] = [];
  const run = async (index: number, name: StepName, body: () => Promise<StepOutcome>) => {
    ctx.step = name;
    progress(`step ${index} ${name}: ${STEP_TITLES[name]} …`);
    const t = performance.now();
    const out = await body();
    const step: StepReport = { index, name, title: STEP_TITLES[name], status: rollUp(out.checks), durationMs: performance.now() - t, summary: out.summary, details: out.details, checks: out.checks };
    steps.push(step);
    progress(`step ${index} ${name}: ${step.status.toUpperCase()} in ${(step.durationMs / 1000).toFixed(2)} s — ${step.summary}`);
  };

  await run(1, "health", () => healthStep(ctx));
  await run(2, "repository", () => repositoryStep(ctx));
  await run(3, "metadata", () => metadataStep(ctx));
  await run(4, "smoke", async () => {
    const out = await smokeStep(ctx);
    return { ...out, details: [...out.details, ...ctx.oracle.notes] };
  });
  await run(5, "e2e", () => e2eStep(ctx, o.resolutions));

  const reportStart = performance.now();
  const files: Check[] = [];
  const report: VerifyReport = {
    tool: "triton-deploy verify-ready",
    version: 1,
    url: o.server.url,
    profile: plan.profile.name,
    specsDir,
    onnxRoot: o.onnxRoot ?? null,
    resolutions: o.resolutions.map((r) => ({ name: r.name, width: r.width, height: r.height })),
    timeoutS: o.timeoutS,
    startedAt,
    durationMs: 0,
    status: overallStatus(steps),
    exitCode: overallStatus(steps) === "pass" ? 0 : 1,
    plan: reportPlan(plan),
    steps,
  };
  files.push({ name: "table", status: "pass", durationMs: 0, message: "printed on the terminal" });
  if (o.reportFile) files.push({ name: "json", status: "pass", durationMs: 0, message: o.reportFile });
  if (o.junitFile) files.push({ name: "junit", status: "pass", durationMs: 0, message: o.junitFile });
  const step6: StepReport = { index: 6, name: "report", title: STEP_TITLES.report, status: "pass", durationMs: 0, summary: files.map((f) => f.message).join(", "), details: [], checks: files };
  steps.push(step6);
  report.durationMs = performance.now() - started;
  step6.durationMs = performance.now() - reportStart;
  await writeReports(report, o);
  return report;
}

/** Writes the reports; a file that cannot be written fails step 6 (and the gate) with the reason. */
async function writeReports(report: VerifyReport, o: Pick<VerifyOptions, "reportFile" | "junitFile">): Promise<void> {
  const step6 = report.steps.find((s) => s.name === "report")!;
  const write = async (name: string, file: string | undefined, text: () => string) => {
    if (!file) return;
    const check = step6.checks.find((c) => c.name === name)!;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, text());
    } catch (e) {
      check.status = "fail";
      check.message = `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
      step6.status = "fail";
      step6.details.push(check.message);
      report.status = "fail";
      report.exitCode = 1;
    }
  };
  await write("junit", o.junitFile, () => junitXml(report));
  await write("json", o.reportFile, () => `${JSON.stringify(report, null, 2)}\n`);
}
