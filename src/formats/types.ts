/**
 * The contract every client wire format meets: parse a request body into the
 * canonical request, render answers, streams and errors back in its own shape.
 */
import type { ChatRequest } from '../canonical/types.ts';
import type { TokenPakError } from '../errors.ts';
import type { ClientFormat } from '../logs/types.ts';
import type { RoutedResponse, RoutedStream } from '../router/router.ts';

/** A parsed client request. */
export interface ParsedRequest {
  request: ChatRequest;
  /** The client asked for a stream. */
  stream: boolean;
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
}

export interface WireFormat {
  readonly name: ClientFormat;
  /** Parses and validates a JSON body; throws a `RequestError` saying what to fix. */
  parseRequest(body: unknown, headers: Headers): ParsedRequest;
  /** The JSON body of a complete answer. */
  renderResponse(result: RoutedResponse, context: RenderContext): unknown;
  /** The SSE text of a streamed answer, chunk by chunk. */
  renderStream(stream: RoutedStream, context: RenderContext): AsyncIterable<string>;
  /** An error in this format's shape and status. */
  renderError(error: TokenPakError, context: RenderContext): RenderedError;
}
