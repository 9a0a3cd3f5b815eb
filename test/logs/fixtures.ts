/** Call records for the log tests. */
import type { AttemptRecord, CallRecord } from '../../src/logs/types.ts';

let counter = 0;

export function attempt(overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return { provider: 'mock', providerType: 'mock', model: 'gpt-4', outcome: 'ok', status: 200, latencyMs: 10, inputTokens: 3, outputTokens: 7, costCents: 0, ...overrides };
}

export function failedAttempt(provider: string, overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    provider,
    providerType: provider === 'openai' || provider === 'anthropic' ? provider : 'mock',
    model: 'gpt-4',
    outcome: 'error',
    status: 503,
    errorCode: 'provider_overloaded',
    errorMessage: `Provider "${provider}" answered 503.`,
    latencyMs: 5,
    costCents: 0,
    ...overrides,
  };
}

/** A successful call answered by its last attempt. */
export function call(overrides: Partial<CallRecord> = {}): CallRecord {
  counter++;
  const attempts = overrides.attempts ?? [attempt()];
  const answered = attempts.findLast((a) => a.outcome === 'ok');
  return {
    id: `req-${counter}`,
    startedAt: 1_700_000_000_000 + counter * 1000,
    clientFormat: 'tokenpak',
    model: 'gpt-4',
    provider: answered?.provider ?? null,
    upstreamModel: answered?.model ?? null,
    outcome: answered ? 'ok' : 'error',
    status: answered ? 200 : 503,
    latencyMs: attempts.reduce((sum, a) => sum + a.latencyMs, 0),
    inputTokens: answered?.inputTokens ?? 0,
    outputTokens: answered?.outputTokens ?? 0,
    costCents: 0,
    stream: false,
    attempts,
    ...overrides,
  };
}
