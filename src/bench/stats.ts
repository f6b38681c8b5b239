// Summary statistics of a set of measurements, as every benchmark reports them: percentiles by linear
// interpolation between the closest ranks (numpy's default, as seed 001's run_bench used), mean,
// population standard deviation and the coefficient of variation. Pure; no I/O.

export interface LatencyStats {
  /** Number of measurements. */
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  /** Population standard deviation (ddof 0, numpy's default). */
  std: number;
  /** std / mean; 0 when the mean is 0. */
  cv: number;
}

/** The p-th percentile (0…100) of values already sorted ascending; linear between closest ranks. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError("percentile of no values");
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0…100`);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const w = rank - lo;
  return sorted[lo]! * (1 - w) + sorted[hi]! * w;
}

export function percentile(values: readonly number[], p: number): number {
  return percentileSorted([...values].sort((a, b) => a - b), p);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("mean of no values");
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Population standard deviation. */
export function std(values: readonly number[]): number {
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) ** 2;
  return Math.sqrt(s / values.length);
}

/** Coefficient of variation σ/μ (seed 002's stability measure); 0 for a zero mean. */
export function coefficientOfVariation(values: readonly number[]): number {
  const m = mean(values);
  return m === 0 ? 0 : std(values) / m;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function summarize(values: readonly number[]): LatencyStats {
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`a measurement is not finite: ${v}`);
  const sorted = [...values].sort((a, b) => a - b);
  const m = mean(sorted);
  const s = std(sorted);
  return {
    count: sorted.length,
    min: sorted[0]!,
    p50: percentileSorted(sorted, 50),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    max: sorted[sorted.length - 1]!,
    mean: m,
    std: s,
    cv: m === 0 ? 0 : s / m,
  };
}

/** Points of the empirical CDF: (value, fraction of values ≤ it), ascending; for charts. */
export function empiricalCdf(values: readonly number[]): { x: number; p: number }[] {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.map((x, i) => ({ x, p: (i + 1) / sorted.length }));
}
