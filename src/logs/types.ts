/**
 * The call log: one record per client request, with every provider attempt.
 * Stores (memory now; SQLite and PostgreSQL later) meet one interface and pass
 * one shared contract suite.
 */
import type { ProviderType } from '../config/schema.ts';

/** The wire format a client spoke. */
export type ClientFormat = 'tokenpak' | 'openai-chat' | 'openai-responses' | 'anthropic-messages';

/** One try of one provider within a call. */
export interface AttemptRecord {
  /** Configured provider name. */
  provider: string;
  providerType: ProviderType;
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
}

/** One client request. */
export interface CallRecord {
  /** Request id (also the `x-request-id` header). */
  id: string;
  /** Start time, epoch milliseconds. */
  startedAt: number;
  clientFormat: ClientFormat;
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
}

/** Where call records go. */
export interface CallLogStore {
  /** Records a call. Never throws and never blocks the request path. */
  append(record: CallRecord): void;
  /** Calls matching the query, oldest first. */
  query(query?: CallQuery): Promise<CallRecord[]>;
  /** Waits until every appended record is readable. */
  flush(): Promise<void>;
  /** Flushes and releases the store. */
  close(): Promise<void>;
}
