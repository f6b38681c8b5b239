// Steps 1–3 of the gate over the server: health with back-off, the repository index against the
// plan, and each loaded model's metadata against its spec. Each returns checks, a summary and the
// lines worth reading; the pure comparisons live in repository.ts and metadata.ts.
import type { Check } from "./report.ts";
import { blocked, explain, selectedBranches, type VerifyContext } from "./context.ts";
import { waitWithBackoff, type ProbeAnswer } from "./deadline.ts";
import { compareMetadata, specModels } from "./metadata.ts";
import { compareRepository, expectationFromPlan, indexStates } from "./repository.ts";
import { describeError, isRestricted } from "./server.ts";

export interface StepOutcome {
  checks: Check[];
  summary: string;
  details: string[];
}

const since = (t: number) => performance.now() - t;

/**
 * The ready probe. A server with strict readiness (Triton's --strict-readiness, serve-local) stays
 * not-ready while any loaded model is UNAVAILABLE; once the index shows nothing LOADING twice in a
 * row, waiting longer cannot help, so the probe gives up naming those models and step 2 says more.
 * An index restricted to a header the gate lacks (403) stays so: it gives up at once, saying which.
 */
function readyProbe(ctx: VerifyContext): (signal: AbortSignal) => Promise<ProbeAnswer> {
  let settled = 0;
  return async (signal) => {
    if (await ctx.server.ready({ signal })) return true;
    let index;
    try {
      index = await ctx.server.repositoryIndex({ signal });
    } catch (e) {
      if (isRestricted(e)) return { giveUp: `answered not ready, and the index that says why is restricted: ${describeError(e)}` };
      return false; // the index may not be up yet: keep waiting
    }
    if (index.some((e) => e.state === "LOADING" || e.state === "UNLOADING")) {
      settled = 0;
      return false;
    }
    if (++settled < 2) return false;
    // explicit model control lists models never loaded by name only, and unloaded ones as
    // UNAVAILABLE "unloaded" (Triton's strict readiness ignores both): not the problem
    const bad = index.filter((e) => e.state && e.state !== "READY" && e.reason !== "unloaded");
    const names = bad.map((e) => `${e.name} ${e.state}${e.reason ? ` (${e.reason})` : ""}`);
    return { giveUp: `answered not ready with no model loading${names.length ? `; not READY: ${names.join(", ")}` : ""}` };
  };
}

/** Step 1: /v2/health/live, then /v2/health/ready, each with bounded exponential back-off. */
export async function healthStep(ctx: VerifyContext): Promise<StepOutcome> {
  const checks: Check[] = [];
  const details: string[] = [];
  for (const probe of ["live", "ready"] as const) {
    const t = performance.now();
    if (checks.some((c) => c.status === "fail")) {
      checks.push({ name: probe, status: "skip", durationMs: 0, message: "not run: the server is not live" });
      continue;
    }
    const r = await waitWithBackoff(probe === "live" ? (signal) => ctx.server.live({ signal }) : readyProbe(ctx), ctx.deadline);
    const ms = since(t);
    const path = `/v2/health/${probe}`;
    if (r.ok) checks.push({ name: probe, status: "pass", durationMs: ms, message: `${path} OK after ${r.tries} ${r.tries === 1 ? "try" : "tries"}` });
    else {
      const how = r.gaveUp ? "stopped waiting" : `--timeout ${ctx.timeoutS} s`;
      const down = probe === "live" && ctx.downHint ? `; ${ctx.downHint}` : "";
      const message = `${path} not OK after ${r.tries} tries in ${(ms / 1000).toFixed(1)} s (${how}); last: ${r.last ?? "no answer"}${down}`;
      checks.push({ name: probe, status: "fail", durationMs: ms, message });
      details.push(message);
      // not live: nothing else can run; live but not ready: the later steps still say why
      if (probe === "live") ctx.unreachable ??= `the server at ${ctx.server.url} never became live`;
    }
  }
  const ok = checks.every((c) => c.status === "pass");
  return { checks, details, summary: ok ? checks.map((c) => `${c.name} after ${(c.durationMs / 1000).toFixed(2)} s`).join(", ") : `server at ${ctx.server.url} not ${checks.find((c) => c.status !== "pass")?.name}` };
}

/** Step 2: POST /v2/repository/index against the plan: required READY, optional reported, excluded not loaded. */
export async function repositoryStep(ctx: VerifyContext): Promise<StepOutcome> {
  const t = performance.now();
  const stop = blocked(ctx);
  if (stop) return { checks: [{ name: "repository index", status: "skip", durationMs: 0, message: stop }], summary: "not run", details: [] };
  let index;
  try {
    index = await ctx.server.repositoryIndex({ signal: ctx.deadline.signal() });
  } catch (e) {
    const message = explain(ctx, "POST /v2/repository/index", e);
    return { checks: [{ name: "repository index", status: "fail", durationMs: since(t), message }], summary: "index unavailable", details: [message] };
  }
  for (const [name, s] of indexStates(index)) if (s.state === "READY") ctx.ready.add(name);
  const exp = expectationFromPlan(ctx.plan);
  const cmp = compareRepository(index, exp);
  const ms = since(t);
  const checks: Check[] = [
    ...cmp.required.map((r): Check => ({
      name: r.model,
      status: r.ok ? "pass" : "fail",
      durationMs: 0,
      message: r.ok ? `READY (required, branch ${r.branch})` : cmp.failures.find((f) => f.startsWith(`required model ${r.model} `))!,
    })),
    ...cmp.optional.map((o): Check => ({
      name: o.model,
      status: o.state === "READY" ? "pass" : "skip",
      durationMs: 0,
      message: `${o.state} (optional, branch ${o.branch})${o.reason ? `: ${o.reason}` : ""}`,
    })),
    ...cmp.loadedButExcluded.map((m): Check => ({
      name: m.model,
      status: "fail",
      durationMs: 0,
      message: cmp.failures.find((f) => f.startsWith(`model ${m.model} `))!,
    })),
  ];
  if (checks[0]) checks[0].durationMs = ms;
  const requiredReady = cmp.required.filter((r) => r.ok).length;
  const optionalReady = cmp.optional.filter((o) => o.state === "READY").length;
  const summary = [
    `${requiredReady}/${cmp.required.length} required READY`,
    `optional ${optionalReady}/${cmp.optional.length} READY`,
    cmp.loadedButExcluded.length > 0 ? `${cmp.loadedButExcluded.length} loaded but excluded by the plan` : `none of the ${exp.excluded.length} excluded models loaded`,
  ].join("; ");
  return { checks, summary, details: [...cmp.failures, ...cmp.notes] };
}

/** Step 3: GET /v2/models/{m} for every READY model of the plan's branches, compared with the spec. */
export async function metadataStep(ctx: VerifyContext): Promise<StepOutcome> {
  const checks: Check[] = [];
  const details: string[] = [];
  for (const cb of selectedBranches(ctx)) {
    for (const spec of specModels(cb)) {
      const t = performance.now();
      const stop = blocked(ctx);
      if (stop) {
        checks.push({ name: spec.model, status: "skip", durationMs: 0, message: stop });
        continue;
      }
      if (!ctx.ready.has(spec.model)) {
        checks.push({ name: spec.model, status: "skip", durationMs: 0, message: "not READY on the server (see step 2)" });
        continue;
      }
      try {
        const meta = await ctx.server.modelMetadata(spec.model, { signal: ctx.deadline.signal() });
        const problems = compareMetadata(meta, spec);
        if (problems.length === 0) checks.push({ name: spec.model, status: "pass", durationMs: since(t), message: `${spec.role}: ${spec.inputs.length} in, ${spec.outputs.length} out match` });
        else {
          checks.push({ name: spec.model, status: "fail", durationMs: since(t), message: `stale deployment? ${problems.join("; ")}` });
          details.push(...problems);
        }
      } catch (e) {
        const message = explain(ctx, `GET /v2/models/${spec.model}`, e);
        checks.push({ name: spec.model, status: "fail", durationMs: since(t), message });
        details.push(message);
      }
    }
  }
  const pass = checks.filter((c) => c.status === "pass").length;
  const fail = checks.filter((c) => c.status === "fail").length;
  return { checks, details, summary: `${pass} models match the spec${fail ? `, ${fail} differ` : ""}${checks.length - pass - fail ? `, ${checks.length - pass - fail} not checked` : ""}` };
}
