/**
 * The call log: one record per client request, with every provider attempt.
 * Stores (memory, SQLite, PostgreSQL) meet one interface and pass one shared
 * contract suite (`test/logs/store-contract.ts`).
 */

/** The chat wire format a client spoke. */
export type ClientFormat = 'tokenpak' | 'openai-chat' | 'openai-responses' | 'anthropic-messages';

/** What a logged call was: a chat request in one of the {@link ClientFormat}s, or an OpenAI embeddings request. */
export type CallFormat = ClientFormat | 'openai-embeddings';

/** One try of one provider within a call. */
export interface AttemptRecord {
  /** Configured provider name. */
  provider: string;
  /** The provider's kind (`mock`, `openai`, `anthropic`, or a custom provider's own). */
  providerType: string;
  /** Model name sent upstream. */
  model: string;
  outcome: 'ok' | 'error';
  /** HTTP status of the attempt (200 when it succeeded). */
  status: number;
  /** Stable TokenPak error code, when it failed. */
  errorCode?: string;
  /** What went wrong, when it failed. Never contains secrets. */
  errorMessage?: string;
  latencyMs: number;
  /** Time to the first streamed event, for streams. */
  ttftMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** Cost of this attempt in US cents; null when the price is unknown. */
  costCents: number | null;
  /**
   * What the provider changed about its answer and why (the mock: a canned
   * answer replaced by a generated one to meet the request's demands). Kept
   * by the memory store; the SQL stores do not store it.
   */
  warnings?: string[];
  /**
   * For a try that was retried at the same provider: milliseconds waited
   * before the next try (backoff, or the upstream's `retry-after`).
   */
  waitMs?: number;
}

/** One client request. */
export interface CallRecord {
  /** Request id (also the `x-request-id` header). */
  id: string;
  /** Start time, epoch milliseconds. */
  startedAt: number;
  clientFormat: CallFormat;
  /** Model name the client asked for. */
  model: string;
  /** Provider that answered; null when none did. */
  provider: string | null;
  /** Upstream model that answered. */
  upstreamModel: string | null;
  outcome: 'ok' | 'error';
  /** HTTP status the client received. */
  status: number;
  errorCode?: string;
  errorMessage?: string;
  latencyMs: number;
  ttftMs?: number;
  inputTokens: number;
  outputTokens: number;
  /** Sum of the priced attempts in US cents; null if an attempt that used tokens had no known price. */
  costCents: number | null;
  stream: boolean;
  /** Every provider tried, in order. */
  attempts: AttemptRecord[];
  /** Request body, only when `logs.capture_bodies` is on. */
  requestBody?: unknown;
  /** Response body (or streamed text), only when `logs.capture_bodies` is on. */
  responseBody?: unknown;
  /**
   * Position in the store: larger for every call stored later. Set by the
   * store (the memory store on append, the others when read back); used to
   * read a growing log with {@link CallQuery.afterSeq}.
   */
  seq?: number;
}

/** What to read back from a store. */
export interface CallQuery {
  /** Calls in which this provider was attempted. */
  provider?: string;
  /** Calls for this requested model. */
  model?: string;
  outcome?: 'ok' | 'error';
  /** Calls that started at or after this time (epoch ms). */
  since?: number;
  /** Most calls returned: the newest ones, returned oldest first. */
  limit?: number;
  /**
   * Only calls stored after this position ({@link CallRecord.seq}), in
   * storage order instead of start order (`limit` still keeps the newest):
   * for reading a log as it grows (`tokenpak logs --follow`).
   */
  afterSeq?: number;
}

/** Which calls {@link CallLogStore.stats} summarises. */
export interface StatsQuery {
  /** Calls that started at or after this time (epoch ms). */
  since?: number;
}

/** Figures for one group of calls (or attempts). */
export interface StatsRow {
  /** Provider name, model name, or `*` for the total. */
  name: string;
  /** Calls; for a provider row, attempts made to that provider. */
  calls: number;
  /** Calls that failed; for a provider row, attempts that failed. */
  errors: number;
  /**
   * Calls that needed more than one attempt; for a provider row, attempts
   * made to it as a fallback (after another attempt of the call failed).
   */
  fallbacks: number;
  /** Median latency in ms (nearest rank); null when there are no calls. */
  p50LatencyMs: number | null;
  /** 95th percentile latency in ms (nearest rank); null when there are no calls. */
  p95LatencyMs: number | null;
  inputTokens: number;
  outputTokens: number;
  /** Sum of the known costs in US cents. */
  costCents: number;
  /** Calls (or attempts) whose cost is unknown (no price), left out of `costCents`. */
  unpriced: number;
}

/** Summary of a window of the log. */
export interface CallStats {
  /** Every call in the window. */
  total: StatsRow;
  /** Per provider attempted, by name. */
  providers: StatsRow[];
  /** Per requested model, by name. */
  models: StatsRow[];
}

/** Where call records go. */
export interface CallLogStore {
  /** Records a call. Never throws and never blocks the request path. */
  append(record: CallRecord): void;
  /** Calls matching the query, oldest first (by start time, then storage order). */
  query(query?: CallQuery): Promise<CallRecord[]>;
  /** Calls, errors, fallbacks, latency percentiles, tokens and cost over a window. */
  stats(query?: StatsQuery): Promise<CallStats>;
  /**
   * Applies retention now (`max_rows`, `max_age`); stores also do it in the
   * background. Resolves with the number of calls removed.
   */
  prune(): Promise<number>;
  /** Waits until every appended record is readable. */
  flush(): Promise<void>;
  /**
   * Rejects, saying why, when the store cannot take writes now (for `/readyz`).
   * Absent: the store is always writable (memory).
   */
  checkWritable?(): Promise<void>;
  /** Flushes and releases the store. */
  close(): Promise<void>;
}
