// Step 4: one or two inferences per entry model (the ensembles and direct models callers use) with
// deterministic inputs; every output must have the spec's dtype and shape and finite values, a
// fixture's outputs must equal the fixture function's numbers, and a real model's outputs must
// depend on its input (constant.ts) unless the model is accepted with --accept-constant-output.
import { deterministicTensor } from "../fixtures/tensor.ts";
import { clipTokenIds, syntheticPrompts } from "../pipeline/clip.ts";
import { componentBranch, expectOutput, tensorOf, type ComponentBranch, type Tensor } from "../pipeline/tensor.ts";
import type { TensorSpec } from "../spec/schema.ts";
import { constantOutputProblem } from "./constant.ts";
import type { Check } from "./report.ts";
import { blocked, branchReady, checkedInfer, explain, selectedBranches, type CallLog, type VerifyContext } from "./context.ts";
import type { StepOutcome } from "./steps.ts";

/** The verify-ready flag that accepts a real model whose output does not depend on its input. */
export const ACCEPT_CONSTANT_FLAG = "--accept-constant-output";

/** Inferences per entry model, each with its own seed (two different inputs: the constant-output check needs both). */
export const SMOKE_SEEDS = [1, 2] as const;

/**
 * Input `seed` for a tensor: CLIP token ids for INT64 [1, T] (start, prompt, end, zero padding),
 * floats in [0, 1) for FP32 (a letterboxed image), otherwise the fixtures' deterministic values
 * (bytes 0–255 for raw RGB).
 */
export function smokeInput(spec: TensorSpec, seed: number): Tensor {
  if (spec.dtype === "INT64" && spec.dims.length === 2 && spec.dims[0] === 1) {
    const prompts = syntheticPrompts();
    return tensorOf(spec, clipTokenIds(prompts[seed % prompts.length]!, spec.dims[1]));
  }
  if (spec.dtype === "FP32") return tensorOf(spec, deterministicTensor(spec, seed, { lo: 0, hi: 1 }));
  return tensorOf(spec, deterministicTensor(spec, seed));
}

async function smokeOne(ctx: VerifyContext, b: ComponentBranch): Promise<Check> {
  const t = performance.now();
  const log: CallLog = { calls: 0, exact: 0 };
  const infer = checkedInfer(ctx, log);
  const answers: Tensor[][] = [];
  try {
    for (const seed of SMOKE_SEEDS) {
      const inputs = b.inputs.map((s, i) => smokeInput(s, seed * 10 + i));
      const outputs = await infer(b.entry, inputs, b.outputs.map((o) => o.name));
      answers.push(b.outputs.map((spec) => expectOutput(b.entry, outputs, spec)));
    }
  } catch (e) {
    return { name: b.entry, status: "fail", durationMs: performance.now() - t, message: explain(ctx, b.entry, e) };
  }
  const fixture = ctx.oracle.fixtureOf(b.entry);
  const data = { calls: log.calls, exact: log.exact };
  if (fixture) return { name: b.entry, status: "pass", durationMs: performance.now() - t, message: `${log.calls} inferences; numbers equal fixture ${fixture.functionId}`, data };
  const constant = constantOutputProblem(b.entry, answers, ACCEPT_CONSTANT_FLAG);
  const accepted = ctx.acceptConstant?.has(b.entry) || ctx.acceptConstant?.has(b.branch);
  if (constant && !accepted) return { name: b.entry, status: "fail", durationMs: performance.now() - t, message: constant, data };
  const how = constant ? `constant output accepted (${ACCEPT_CONSTANT_FLAG})` : "dtype, shape, finite, output changes with the input (no fixture: numbers not compared)";
  return { name: b.entry, status: "pass", durationMs: performance.now() - t, message: `${log.calls} inferences; ${how}`, data };
}

export async function smokeStep(ctx: VerifyContext): Promise<StepOutcome> {
  const checks: Check[] = [];
  for (const cb of selectedBranches(ctx)) {
    const b = componentBranch(cb);
    const stop = blocked(ctx);
    if (stop) checks.push({ name: b.entry, status: "skip", durationMs: 0, message: stop });
    else if (!branchReady(ctx, cb)) checks.push({ name: b.entry, status: "skip", durationMs: 0, message: "not run: the branch's models are not all READY (see step 2)" });
    else checks.push(await smokeOne(ctx, b));
  }
  const pass = checks.filter((c) => c.status === "pass");
  const exact = pass.filter((c) => ((c.data?.exact as number | undefined) ?? 0) > 0).length;
  const fail = checks.filter((c) => c.status === "fail").length;
  const skip = checks.length - pass.length - fail;
  return {
    checks,
    summary: `${pass.length} entry models × ${SMOKE_SEEDS.length} inferences OK (${exact} exact vs fixtures)${fail ? `, ${fail} failed` : ""}${skip ? `, ${skip} skipped` : ""}`,
    details: checks.filter((c) => c.status === "fail").map((c) => c.message!),
  };
}
