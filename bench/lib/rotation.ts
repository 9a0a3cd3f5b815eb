/** How the sections that compare servers under load order their runs on a shared machine. */

/** How long each variant warms up, how many measured runs it gets, and how long each lasts. */
export interface RotationPlan {
  warmupS: number;
  runs: number;
  durationS: number;
}

/**
 * Warms every variant up once (results dropped), then measures each `plan.runs`
 * times, one round after another, rotating who goes first in each round: load
 * from elsewhere on the machine is then not always charged to the same variant.
 * Each variant's runs come back in round order, so that run i of two variants
 * is a same-round pair (for paired differences).
 */
export async function rotatedRuns<V extends string, R>(variants: readonly V[], plan: RotationPlan, measure: (variant: V, durationS: number) => Promise<R>): Promise<Record<V, R[]>> {
  for (const variant of variants) await measure(variant, plan.warmupS);
  const runs = Object.fromEntries(variants.map((variant) => [variant, [] as R[]])) as Record<V, R[]>;
  for (let i = 0; i < plan.runs; i++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(k + i) % variants.length]!;
      runs[variant].push(await measure(variant, plan.durationS));
    }
  }
  return runs;
}
