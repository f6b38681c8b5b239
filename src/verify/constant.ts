// Step 4's check that a real model computes something from its input: a model whose every output
// holds one value everywhere, or comes back byte for byte the same for two different inputs, is what
// a model with its weights not loaded (zeros, or a head left unconnected) or a broken export returns:
// the dtype, shape and finite values all pass, so only the numbers give it away. The model is judged
// as a whole: one output that is legitimately the same for two inputs (zero-padded detections, an
// argmax class) does not fail it while another output changes. Fixtures are compared number for
// number instead. A model, or one of its outputs, that is meant to be constant is accepted by name.
import type { Tensor } from "../pipeline/tensor.ts";

/** Element values compared as numbers (0 and -0 alike: a zeroed head gives both), bigints as bigints. */
function valueAt(t: Tensor, i: number): number | bigint {
  return t.data[i]!;
}

/** The single value every element holds, or undefined when two differ (or there is only one element). */
function singleValue(t: Tensor): string | undefined {
  const n = t.data.length;
  if (n < 2) return undefined;
  const v = valueAt(t, 0);
  for (let i = 1; i < n; i++) if (valueAt(t, i) !== v) return undefined;
  return String(v);
}

function sameValues(a: Tensor, b: Tensor): boolean {
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (valueAt(a, i) !== valueAt(b, i)) return false;
  return true;
}

export const CONSTANT_HINT = "weights not loaded (zeros or random initializers left in), or a broken export (an output cut off from the input)";

/** One `--accept-constant-output` entry: a model (entry model or branch), or one output of it. */
export interface AcceptedConstant {
  model: string;
  /** Undefined: every output of the model. */
  output?: string;
}

/**
 * Parses the flag's entries, `model` or `model:output`, each value possibly a comma list (the flag
 * may be given several times). Throws an Error naming the entry that is neither.
 */
export function parseAcceptedConstant(values: readonly string[]): AcceptedConstant[] {
  const out: AcceptedConstant[] = [];
  for (const entry of values.flatMap((v) => v.split(",")).map((s) => s.trim()).filter(Boolean)) {
    const parts = entry.split(":");
    if (parts.length > 2 || parts.some((p) => p === "")) throw new Error(`'${entry}' is neither MODEL nor MODEL:OUTPUT`);
    out.push(parts[1] === undefined ? { model: parts[0]! } : { model: parts[0]!, output: parts[1] });
  }
  return out;
}

/** The accepted entries that concern a model known by any of `names` (its entry model, its branch). */
export function acceptedFor(accepted: readonly AcceptedConstant[], names: readonly string[]): { all: boolean; outputs: Set<string> } {
  const mine = accepted.filter((a) => names.includes(a.model));
  return { all: mine.some((a) => a.output === undefined), outputs: new Set(mine.flatMap((a) => (a.output === undefined ? [] : [a.output]))) };
}

/** What the check found for one model. */
export interface ConstantVerdict {
  /** Set when every output judged is constant or the same for both inputs: the check fails. */
  problem?: string;
  /** Outputs constant or unchanged that did not fail the model (another output changes, or accepted), each described. */
  constant: string[];
  /** Outputs taken out of the judgement by the accept flag (all of them when the model is accepted). */
  accepted: string[];
}

/**
 * Judges `model` from its answers to two different inputs (`answers[k]`: the outputs for input k,
 * matched by name). Outputs accepted by the flag are left out; the model fails only when every
 * output left is constant (one value everywhere) or the same value for value for both inputs.
 */
export function judgeConstantOutputs(model: string, answers: readonly (readonly Tensor[])[], accept: { all: boolean; outputs: ReadonlySet<string> }, acceptFlag: string): ConstantVerdict {
  const [first, second] = answers;
  const verdict: ConstantVerdict = { constant: [], accepted: [] };
  if (!first || !second) return verdict;
  const judged: (string | undefined)[] = [];
  for (const a of first) {
    const b = second.find((t) => t.name === a.name);
    if (!b) continue;
    if (accept.all || accept.outputs.has(a.name)) {
      verdict.accepted.push(a.name);
      continue;
    }
    judged.push(finding(a, b));
  }
  const found = judged.filter((j) => j !== undefined);
  if (judged.length > 0 && found.length === judged.length) {
    const unknown = [...accept.outputs].filter((o) => !first.some((t) => t.name === o));
    const what = judged.length === 1 ? found[0]! : `no output depends on the input: ${found.join("; ")}`;
    const ignored = unknown.length > 0 ? ` (${acceptFlag} ${unknown.map((o) => `${model}:${o}`).join(",")} names no output of ${model}; its outputs: ${first.map((t) => t.name).join(", ")})` : "";
    verdict.problem = `${model}: ${what}: a real model's output depends on its input; this suggests ${CONSTANT_HINT}. Re-export the model with its weights, or pass ${acceptFlag} ${model} if it is meant to${ignored}`;
    return verdict;
  }
  verdict.constant = found;
  return verdict;
}

/** Why output `a` (and `b`, its value for the other input) looks computed from nothing, or undefined. */
function finding(a: Tensor, b: Tensor): string | undefined {
  const va = singleValue(a);
  const vb = singleValue(b);
  if (va !== undefined && vb !== undefined) {
    return va === vb ? `output ${a.name} is ${va} everywhere (${a.data.length} values) for two different inputs` : `output ${a.name} holds one value everywhere (${a.data.length} values: ${va}, then ${vb} for another input)`;
  }
  if (sameValues(a, b)) return `output ${a.name} is the same, value for value, for two different inputs`;
  return undefined;
}
