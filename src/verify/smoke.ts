// Step 4: one or two inferences per entry model (the ensembles and direct models callers use) with
// deterministic inputs; every output must have the spec's dtype and shape and finite values, a
// fixture's outputs must equal the fixture function's numbers, and a real model's outputs must
// depend on its input (constant.ts: at least one output changes with it, leaving out the model or
// outputs accepted with --accept-constant-output MODEL or MODEL:OUTPUT).
import { deterministicTensor } from "../fixtures/tensor.ts";
import { clipTokenIds, syntheticPrompts } from "../pipeline/clip.ts";
import { componentBranch, expectOutput, tensorOf, type ComponentBranch, type Tensor } from "../pipeline/tensor.ts";
import type { TensorSpec } from "../spec/schema.ts";
import { acceptedFor, judgeConstantOutputs, parseAcceptedConstant, type AcceptedConstant } from "./constant.ts";
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

async function smokeOne(ctx: VerifyContext, b: ComponentBranch, accepted: readonly AcceptedConstant[]): Promise<Check> {
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
  const verdict = judgeConstantOutputs(b.entry, answers, acceptedFor(accepted, [b.entry, b.branch]), ACCEPT_CONSTANT_FLAG);
  if (verdict.problem) return { name: b.entry, status: "fail", durationMs: performance.now() - t, message: verdict.problem, data };
  const all = b.outputs.length > 0 && verdict.accepted.length === b.outputs.length;
  const notes = [
    all ? `constant output accepted (${ACCEPT_CONSTANT_FLAG})` : "dtype, shape, finite, output changes with the input (no fixture: numbers not compared)",
    ...(!all && verdict.accepted.length > 0 ? [`output ${verdict.accepted.join(", ")} left out (${ACCEPT_CONSTANT_FLAG})`] : []),
    ...(verdict.constant.length > 0 ? [`${verdict.constant.join("; ")}, while another output changes`] : []),
  ];
  return { name: b.entry, status: "pass", durationMs: performance.now() - t, message: `${log.calls} inferences; ${notes.join("; ")}`, data };
}

export async function smokeStep(ctx: VerifyContext): Promise<StepOutcome> {
  const checks: Check[] = [];
  let accepted: AcceptedConstant[];
  try {
    accepted = parseAcceptedConstant([...(ctx.acceptConstant ?? [])]);
  } catch (e) {
    const message = `${ACCEPT_CONSTANT_FLAG}: ${(e as Error).message}; give MODEL or MODEL:OUTPUT, comma-separated or repeated`;
    return { checks: [{ name: ACCEPT_CONSTANT_FLAG, status: "fail", durationMs: 0, message }], summary: "not run: bad accept list", details: [message] };
  }
  for (const cb of selectedBranches(ctx)) {
    const b = componentBranch(cb);
    const stop = blocked(ctx);
    if (stop) checks.push({ name: b.entry, status: "skip", durationMs: 0, message: stop });
    else if (!branchReady(ctx, cb)) checks.push({ name: b.entry, status: "skip", durationMs: 0, message: "not run: the branch's models are not all READY (see step 2)" });
    else checks.push(await smokeOne(ctx, b, accepted));
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
