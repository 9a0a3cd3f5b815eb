/**
 * Call statistics computed in JavaScript, for stores that keep records in
 * memory. The SQL stores compute the same figures in SQL; the shared contract
 * suite holds them to the same definitions.
 */
import type { CallRecord, CallStats, StatsQuery, StatsRow } from './types.ts';

interface Sample {
  outcome: 'ok' | 'error';
  fallback: boolean;
  latencyMs: number;
  inputTokens: number;
  outputTokens: number;
  costCents: number | null;
}

/** Nearest-rank percentile of ascending values: the value at rank ceil(p × n). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  // p × n first, in integers, so that 95% of 20 is rank 19 exactly.
  return sorted[Math.max(0, Math.ceil((p * sorted.length) / 100) - 1)]!;
}

/** Rounds a sum of costs so that every store reports the same number. */
export function roundCents(cents: number): number {
  return Math.round(cents * 1e6) / 1e6;
}

function summarise(name: string, samples: readonly Sample[]): StatsRow {
  const latencies = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  let errors = 0;
  let fallbacks = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  let costCents = 0;
  let unpriced = 0;
  for (const s of samples) {
    if (s.outcome === 'error') errors++;
    if (s.fallback) fallbacks++;
    inputTokens += s.inputTokens;
    outputTokens += s.outputTokens;
    if (s.costCents === null) unpriced++;
    else costCents += s.costCents;
  }
  return {
    name,
    calls: samples.length,
    errors,
    fallbacks,
    p50LatencyMs: percentile(latencies, 50),
    p95LatencyMs: percentile(latencies, 95),
    inputTokens,
    outputTokens,
    costCents: roundCents(costCents),
    unpriced,
  };
}

function grouped(groups: Map<string, Sample[]>): StatsRow[] {
  return [...groups.keys()].sort().map((name) => summarise(name, groups.get(name)!));
}

function push(groups: Map<string, Sample[]>, name: string, sample: Sample) {
  const list = groups.get(name);
  if (list) list.push(sample);
  else groups.set(name, [sample]);
}

/** Stats over records (any order), as defined on {@link StatsRow}. */
export function computeStats(records: Iterable<CallRecord>, query: StatsQuery = {}): CallStats {
  const calls: Sample[] = [];
  const models = new Map<string, Sample[]>();
  const providers = new Map<string, Sample[]>();
  for (const record of records) {
    if (query.since !== undefined && record.startedAt < query.since) continue;
    const call: Sample = {
      outcome: record.outcome,
      fallback: record.attempts.length > 1,
      latencyMs: record.latencyMs,
      inputTokens: record.inputTokens,
      outputTokens: record.outputTokens,
      costCents: record.costCents,
    };
    calls.push(call);
    push(models, record.model, call);
    record.attempts.forEach((attempt, n) =>
      push(providers, attempt.provider, {
        outcome: attempt.outcome,
        fallback: n > 0,
        latencyMs: attempt.latencyMs,
        inputTokens: attempt.inputTokens ?? 0,
        outputTokens: attempt.outputTokens ?? 0,
        costCents: attempt.costCents,
      }),
    );
  }
  return { total: summarise('*', calls), providers: grouped(providers), models: grouped(models) };
}
