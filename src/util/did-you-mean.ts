/**
 * Edit distance between two short strings, counting a swap of two adjacent
 * letters as one edit (optimal string alignment), since swaps are the most
 * common typo (`mokc` for `mock`).
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * Inputs longer than this get no suggestion: typos are of short names, and
 * the work must stay small whatever a client sends (a 300 KB unknown key).
 */
const MAX_INPUT_LENGTH = 64;

/**
 * The candidate closest to `input`, if it is a likely typo: within a third of
 * the input's length in edits (at most 3), or a candidate that starts with the
 * whole input (`latency` for `latency_ms`). The edit distance is computed only
 * for candidates whose length is within that many edits of the input's, so a
 * call costs at most about 64 × 67 steps per candidate.
 */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  if (input.length > MAX_INPUT_LENGTH) return undefined;
  const needle = input.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(input.length / 3)));
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of candidates) {
    const lower = candidate.toLowerCase();
    // Lengths further apart than the limit cannot be within it: skip the distance (and a long candidate's cost).
    const distance = Math.abs(lower.length - needle.length) <= limit ? editDistance(needle, lower) : Infinity;
    // A prefix match ranks just after an edit within the limit.
    const score = distance <= limit ? distance : needle.length >= 3 && lower.startsWith(needle) ? limit + 0.5 : Infinity;
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** ` Did you mean "x"?` or the empty string. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const match = closest(input, candidates);
  return match === undefined ? '' : ` Did you mean "${match}"?`;
}
