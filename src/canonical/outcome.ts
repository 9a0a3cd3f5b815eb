/**
 * What a routed call gives back: who answered and how, with the answer or the
 * stream. The router produces these; the wire formats render them.
 */
import type { ResolvedRoute } from '../config/load.ts';
import type { AttemptRecord, CallRecord } from '../logs/types.ts';
import type { ChatResponse, EmbeddingResponse, StreamEvent } from './types.ts';

/** Who answered, and how. */
export interface RouteOutcome {
  requestId: string;
  route: ResolvedRoute;
  /** Provider that answered. */
  provider: string;
  /** Upstream model that answered. */
  upstreamModel: string;
  /** Every provider tried, the answering one last. */
  attempts: AttemptRecord[];
}

/** A complete answer with its routing outcome. */
export interface RoutedResponse extends RouteOutcome {
  response: ChatResponse;
  /** Cost of all attempts in US cents; null when a price is unknown. */
  costCents: number | null;
  latencyMs: number;
}

/** A stream that has produced its first event (so headers can be sent). */
export interface RoutedStream extends RouteOutcome {
  /**
   * The events, first one included. A failure after the first event is
   * yielded as an `error` event (never thrown); the iterator then ends.
   */
  events: AsyncIterable<StreamEvent>;
  /** Resolves with the call record once the stream has ended and been logged. */
  done: Promise<CallRecord>;
}

/** Embeddings with their routing outcome. */
export interface RoutedEmbeddings extends RouteOutcome {
  response: EmbeddingResponse;
  /** Cost of all attempts in US cents; null when a price is unknown. */
  costCents: number | null;
}

/** A token count with its routing outcome. */
export interface RoutedCount extends RouteOutcome {
  inputTokens: number;
}
