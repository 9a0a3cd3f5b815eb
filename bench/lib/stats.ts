/** Small statistics helpers for the bench (no timing here, just numbers). */

/** The median; the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median() of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The p-th percentile (0 < p ≤ 100) by nearest rank: the smallest value with
 * at least p% of the values at or below it. `sorted` must be ascending.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new Error('percentile() of no values');
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Rounds to `digits` decimals (for reports, not for comparisons). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** `[count, median, min, max]` of a sample, rounded to `digits` decimals: the usual columns of a bench row. */
export function spread(values: readonly number[], digits = 2): [number, number, number, number] {
  return [values.length, round(median(values), digits), round(Math.min(...values), digits), round(Math.max(...values), digits)];
}
