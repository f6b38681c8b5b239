// Step 4's check that a real model computes something from its input: an output that holds one value
// everywhere, or that comes back byte for byte the same for two different inputs, is what a model
// with its weights not loaded (zeros, or a head left unconnected) or a broken export returns: the
// dtype, shape and finite values all pass, so only the numbers give it away. Fixtures are compared
// number for number instead; a model that is meant to do this is accepted by name.
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

/**
 * Why `model`'s answers look computed from nothing, or undefined when they do not. `answers[k]` are
 * the outputs for the k-th of two different inputs; outputs are matched by name.
 */
export function constantOutputProblem(model: string, answers: readonly (readonly Tensor[])[], acceptFlag: string): string | undefined {
  const [first, second] = answers;
  if (!first || !second) return undefined;
  const found: string[] = [];
  for (const a of first) {
    const b = second.find((t) => t.name === a.name);
    if (!b) continue;
    const va = singleValue(a);
    const vb = singleValue(b);
    if (va !== undefined && vb !== undefined) {
      found.push(va === vb ? `output ${a.name} is ${va} everywhere (${a.data.length} values) for two different inputs` : `output ${a.name} holds one value everywhere (${a.data.length} values: ${va}, then ${vb} for another input)`);
    } else if (sameValues(a, b)) {
      found.push(`output ${a.name} is the same, value for value, for two different inputs`);
    }
  }
  if (found.length === 0) return undefined;
  return `${model}: ${found.join("; ")}: a real model's output depends on its input; this suggests ${CONSTANT_HINT}. Re-export the model with its weights, or pass ${acceptFlag} ${model} if it is meant to`;
}
