/**
 * When to try an upstream call again, and how long to wait first. The
 * re-sending is upstream.ts's retry loop, which runs only after a failure;
 * this is only the policy.
 */

/** Retry settings of one provider. */
export interface RetryPolicy {
  /** Tries after the first one (0 turns retries off). */
  maxRetries: number;
  /** Backoff before retry n (from 1) is `baseMs · 2^(n-1)`, capped at `maxMs`, then jittered. */
  baseMs: number;
  /** Longest wait before a retry; a `retry-after` longer than this is not waited for. */
  maxMs: number;
}

/** Connection-level failures worth another try: nothing reached the model, or nothing came back. */
export const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/** Statuses worth another try at the same provider (the SDKs' list, plus Anthropic's 529). */
export const RETRYABLE_STATUSES: readonly number[] = [408, 409, 429, 500, 502, 503, 504, 529];

/**
 * Milliseconds the upstream asked us to wait, from `retry-after-ms` (OpenAI),
 * or `retry-after` in seconds or as an HTTP date; undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Record<string, string | string[] | undefined> | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
  const ms = Number(first(headers['retry-after-ms']));
  if (first(headers['retry-after-ms']) !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const value = first(headers['retry-after'])?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The wait before retry `n` (from 1): exponential, capped, with jitter so that
 * many clients throttled at once do not retry in step. The jitter keeps at
 * least half of the exponential wait.
 */
export function backoffMs(policy: RetryPolicy, n: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** (n - 1));
  return Math.round(exponential * (0.5 + random() / 2));
}
