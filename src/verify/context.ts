// What every step of the gate shares: the server, the catalog and plan, the fixture oracle, the
// deadline, what earlier steps learned (which models are READY) and whether the server has gone away,
// so later steps skip with the reason instead of piling up the same connection error.
import type { Plan } from "../plan/plan.ts";
import { PipelineError, type Infer, type Tensor } from "../pipeline/tensor.ts";
import type { Catalog, CatalogBranch } from "../spec/catalog.ts";
import { Deadline, isTimeout } from "./deadline.ts";
import { FixtureOracle, numbersDiffer } from "./expected.ts";
import { describeError, isUnreachable, type KServeServer } from "./server.ts";

export interface VerifyContext {
  server: KServeServer;
  catalog: Catalog;
  plan: Plan;
  oracle: FixtureOracle;
  deadline: Deadline;
  /** Models the repository index reports READY (filled by step 2). */
  ready: Set<string>;
  /** Set when a request found the server gone; later checks skip with it. */
  unreachable?: string;
  /** The step running now, for timeout messages. */
  step: string;
  timeoutS: number;
  /** What a server that is not there most likely means where it is deployed (kubernetesDownHint). */
  downHint?: string;
  /** `MODEL` (entry model or branch) or `MODEL:OUTPUT` whose output may be constant on purpose (--accept-constant-output; constant.ts parses them). */
  acceptConstant?: ReadonlySet<string>;
}

/**
 * The likely cause of a Triton that does not answer on Kubernetes: it exits when a model it must load
 * at start-up fails (--exit-on-error defaults to true, server src/command_line_parser.h r24.08), and
 * the pod crash-loops; the previous container's log names the model and the reason.
 */
export function kubernetesDownHint(namespace: string, deployment = "triton"): string {
  return `on Kubernetes the likely cause is a model that failed to load at start-up: Triton exits (--exit-on-error=true) and the pod crash-loops; \`kubectl --namespace ${namespace} logs deployment/${deployment} --previous\` names the failing model and why`;
}

/** Catalog branches the plan selected, in plan order. */
export function selectedBranches(ctx: Pick<VerifyContext, "catalog" | "plan">): CatalogBranch[] {
  return ctx.plan.selected.map((e) => ctx.catalog.branches.find((b) => b.branch.name === e.branch)).filter((b): b is CatalogBranch => b !== undefined);
}

/** True when every model of the branch is READY on the server. */
export function branchReady(ctx: Pick<VerifyContext, "ready">, cb: CatalogBranch): boolean {
  return [cb.models.ensemble, cb.models.preprocess, cb.models.onnx].every((m) => m === undefined || ctx.ready.has(m));
}

/**
 * Turns an error of a request into the check's message and remembers a vanished server. A timeout
 * names the step and the budget; a refused connection names the server.
 */
export function explain(ctx: VerifyContext, what: string, e: unknown): string {
  if (isTimeout(e) || ctx.deadline.expired()) {
    return `${what}: timed out in step ${ctx.step} (the --timeout budget of ${ctx.timeoutS} s ran out)`;
  }
  if (isUnreachable(e)) {
    const msg = `${what}: the server at ${ctx.server.url} cannot be reached in step ${ctx.step} (${describeError(e)})${ctx.downHint ? `; ${ctx.downHint}` : ""}`;
    ctx.unreachable ??= msg;
    return msg;
  }
  const text = describeError(e);
  return text.startsWith(`${what}:`) ? text : `${what}: ${text}`;
}

/** Why a check cannot run any more (server gone, no time left), or undefined. */
export function blocked(ctx: VerifyContext): string | undefined {
  if (ctx.unreachable) return `not run: ${ctx.unreachable}`;
  if (ctx.deadline.expired()) return `not run: the --timeout budget of ${ctx.timeoutS} s ran out before step ${ctx.step}`;
  return undefined;
}

export interface CallLog {
  calls: number;
  /** Calls whose numbers were compared with a fixture's. */
  exact: number;
}

/**
 * The pipeline's Infer over the server, bounded by the deadline; where the model is a fixture, each
 * answer is compared with the fixture's numbers and a difference throws, naming tensor and index.
 */
export function checkedInfer(ctx: VerifyContext, log: CallLog): Infer {
  return async (model: string, inputs: readonly Tensor[], outputs: readonly string[]) => {
    const got = await ctx.server.infer(model, inputs, outputs, { signal: ctx.deadline.signal() });
    log.calls++;
    const expected = ctx.oracle.expected(model, inputs);
    if (expected) {
      const fn = ctx.oracle.fixtureOf(model)!.functionId;
      for (const want of expected.filter((t) => outputs.includes(t.name))) {
        const t = got.find((g) => g.name === want.name);
        // Dtype and shape mismatches are the flow's to report (expectOutput); numbers only when they line up.
        if (!t || t.datatype !== want.datatype || t.shape.join() !== want.shape.join()) continue;
        const diff = numbersDiffer(model, fn, want.datatype, want.name, t.data, want.data);
        if (diff) throw new PipelineError(model, diff.slice(model.length + 2));
      }
      log.exact++;
    }
    return got;
  };
}
