// Top-k of a score vector (Places365 top-5, best CLIP prompts): best first, ties to the lower index,
// NaN never ranked, so the result is deterministic for any input.

export interface Ranked {
  index: number;
  value: number;
}

export function topK(values: ArrayLike<number>, k: number): Ranked[] {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
  const kept: Ranked[] = [];
  if (k === 0) return kept;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    if (kept.length === k && !(v > kept[k - 1]!.value)) continue;
    // insertion into the small sorted list: strictly greater moves ahead, equal stays behind
    let at = kept.length;
    while (at > 0 && v > kept[at - 1]!.value) at--;
    kept.splice(at, 0, { index: i, value: v });
    if (kept.length > k) kept.pop();
  }
  return kept;
}
