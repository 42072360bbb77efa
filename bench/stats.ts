// Order statistics the benchmarks report (medians with their range), written once.

/** The q-quantile of xs, interpolating between neighbours (q = 0.5: the median). */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] ?? 0) + ((s[hi] ?? 0) - (s[lo] ?? 0)) * (pos - lo);
}

/** The median: the middle sample, or the mean of the two middle ones. */
export const median = (xs: readonly number[]): number => quantile(xs, 0.5);
