/**
 * The contract every client wire format meets: parse a request body into the
 * canonical request, render answers, streams and errors back in its own shape.
 */
import type { RoutedResponse, RoutedStream } from '../canonical/outcome.ts';
import type { ChatRequest, RequestHeaders } from '../canonical/types.ts';
import type { ResolvedRoute } from '../config/load.ts';
import type { TokenPakError } from '../errors.ts';
import type { ClientFormat } from '../logs/types.ts';

/** A parsed client request. */
export interface ParsedRequest {
  request: ChatRequest;
  /** The client asked for a stream. */
  stream: boolean;
  /**
   * Request fields the format's renderers need back, in the format's own
   * terms (for example OpenAI's `stream_options.include_usage`, or the
   * settings a Responses API `response` object repeats).
   */
  echo?: Record<string, unknown>;
  /** The request continues, or asks TokenPak to keep, a server-held conversation. */
  conversation?: ConversationRequest;
}

/**
 * What a request asks of a server-held conversation. `request.messages` then
 * holds only the messages the client sent; the server puts the stored history
 * in front of them.
 */
export interface ConversationRequest {
  /**
   * Whose rules apply. `responses` (OpenAI `previous_response_id`): only the
   * messages carry over, not `instructions` or `tools`, and a turn may be
   * continued any number of times. `thread` (Anthropic message threads): the
   * `system` and `tools` the thread was created with carry over and may not
   * change, and each turn is continued at most once.
   */
  kind: 'responses' | 'thread';
  /** Id of the stored answer this request continues from. */
  previousId?: string;
  /** Keep this turn (the history and its answer) under the answer's id. */
  store: boolean;
}

/** An HTTP answer as data: the server turns it into a Response. */
export interface RenderedError {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Extra facts a format may put into its answers. */
export interface RenderContext {
  /** Request id, also sent as `x-request-id`. */
  requestId: string;
  /** {@link ParsedRequest.echo} of the request being answered, when it was parsed. */
  echo?: Record<string, unknown>;
}

/** A model a client can ask for, as `GET /v1/models` lists it. */
export interface ModelListing {
  /** The route: its name is the model id clients send. */
  route: ResolvedRoute;
  /** When the proxy started serving it, epoch milliseconds. */
  createdAt: number;
}

export interface WireFormat {
  readonly name: ClientFormat;
  /** Parses and validates a JSON body; throws a `RequestError` saying what to fix. */
  parseRequest(body: unknown, headers: RequestHeaders): ParsedRequest;
  /** The JSON body of a complete answer. */
  renderResponse(result: RoutedResponse, context: RenderContext): unknown;
  /** The SSE text of a streamed answer, chunk by chunk. */
  renderStream(stream: RoutedStream, context: RenderContext): AsyncIterable<string>;
  /** An error in this format's shape and status. */
  renderError(error: TokenPakError, context: RenderContext): RenderedError;
  /** The body of `GET /v1/models` in this format's shape, for formats that have one. */
  renderModels?(models: readonly ModelListing[], context: RenderContext): unknown;
  /** The body of `GET /v1/models/{id}`, for formats that have one. */
  renderModel?(model: ModelListing, context: RenderContext): unknown;
  /**
   * Parses the body of this API's token-counting endpoint (Anthropic's
   * `/v1/messages/count_tokens`, OpenAI's `/v1/responses/input_tokens`): the
   * request as it would be sent, without what only generation needs.
   */
  parseCountRequest?(body: unknown, headers: RequestHeaders): ParsedRequest;
  /** The body of a token-count answer. */
  renderCount?(inputTokens: number, context: RenderContext): unknown;
  /**
   * The id this format gives the answer to a request, for formats whose
   * clients continue conversations by it (`resp_…`, `msg_…`).
   */
  responseId?(context: RenderContext): string;
  /** Headers this API sends with every answer (for example Anthropic's `request-id`). */
  headers?(context: RenderContext): Record<string, string>;
}
