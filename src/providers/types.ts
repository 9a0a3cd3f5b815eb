/**
 * The Provider contract. The mock, OpenAI and Anthropic providers all meet it
 * and all pass the one shared contract suite (`test/providers/provider-contract.ts`).
 * A provider sees only canonical requests: never the HTTP server, its request
 * object, or the client's wire format.
 */
import type { ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, RequestHeaders, StreamEvent } from '../canonical/types.ts';
import type { ProviderType as BuiltInProviderType } from '../config/schema.ts';
import type { TokenPakError } from '../errors.ts';

/** Per-call options. */
export interface CallOptions {
  /** Aborted when the client goes away or the call is cancelled. */
  signal?: AbortSignal;
  /** TokenPak's request id, for logs and upstream tracing headers. */
  requestId?: string;
  /**
   * The client's request headers, read-only, for providers that answer
   * according to them (mock rules with `when: {header: ...}`). Credential
   * headers (authorization, API keys, cookies) read as absent. Providers never
   * forward these upstream.
   */
  headers?: RequestHeaders;
  /**
   * Headers to send upstream with this call (from call observers: W3C
   * `traceparent`). HTTP providers add them to their request; others ignore them.
   */
  upstreamHeaders?: Readonly<Record<string, string>>;
  /**
   * Called for each failed try that the provider retries itself, before it
   * waits `waitMs`, so that every try gets its own attempt record.
   */
  onRetry?: (retry: { error: TokenPakError; waitMs: number }) => void;
}


/** A configured LLM provider. */
export interface Provider {
  /** The provider's name in the config (`providers.<name>`). */
  readonly name: string;
  /**
   * Its kind: `mock`, `openai` and `anthropic` are built in; a provider of your own names
   * its own (`type: custom` in the config, see {@link ProviderFactory}). Shown in the call
   * log as `providerType`, and used to look up prices.
   */
  readonly type: BuiltInProviderType | (string & {});
  /**
   * One complete answer. `request.model` is the upstream model name. Failures
   * reject with a `ProviderError` whose `retryable` tells the router whether
   * to move on to the next provider.
   */
  complete(request: ChatRequest, options?: CallOptions): Promise<ChatResponse>;
  /**
   * A streamed answer: `start`, deltas, then `finish`. A failure before the
   * first event may be retried elsewhere; a failure after it is thrown from the
   * iterator and ends the stream.
   */
  stream(request: ChatRequest, options?: CallOptions): AsyncIterable<StreamEvent>;
  /**
   * Embedding vectors, one per input, for providers that offer them (the mock,
   * OpenAI). A provider without embeddings leaves this out or rejects with a
   * retryable `unsupported_endpoint` error, so that the router tries the
   * route's next provider. Failures reject as `complete()`'s do.
   */
  embed?(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResponse>;
  /**
   * The input tokens `request` would cost, from the upstream's own counting
   * endpoint where it has one (Anthropic `count_tokens`, OpenAI
   * `responses/input_tokens`), or the provider's estimate (the mock). Nothing is
   * generated and nothing is billed.
   */
  countTokens?(request: ChatRequest, options?: CallOptions): Promise<number>;
  /** Releases connections and timers. */
  close?(): Promise<void>;
  /** The provider's upstream connections now (for metrics), when it keeps a pool of its own. */
  connections?(): UpstreamConnections;
}

/** A provider's pool of upstream connections at one moment. */
export interface UpstreamConnections {
  /** Connections open. */
  open: number;
  /** Open connections carrying a request. */
  inUse: number;
  /** Requests waiting for a connection. */
  queued: number;
}
