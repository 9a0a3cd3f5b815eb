/**
 * What the routes read of a request and hand back as an answer, whichever
 * adapter serves them: the node:http one (node-adapter.ts, which builds no
 * web `Request`, `Headers`, `URL` or stream per request) or the fetch-style
 * `App.fetch` (tests, the Vitest plugin, in-process use). One route table
 * (app.ts) behind both.
 */
import type { RequestHeaders } from '../canonical/types.ts';
import { RequestError } from '../errors.ts';

/** A request's headers, read by lower-case name; several fields of one name read as one, joined by `, ` (as `Headers.get`). */
export interface ServerHeaders extends RequestHeaders {
  has(name: string): boolean;
}

/** A request as the routes see it. */
export interface ServerRequest {
  readonly method: string;
  /**
   * The path without the query, as sent (`/v1/messages`), or the RequestError
   * to answer when the request target with its Host header is no URL.
   */
  readonly path: string | RequestError;
  readonly headers: ServerHeaders;
  /** Aborted when the client goes away before its answer is complete. */
  readonly signal: AbortSignal;
  /**
   * The body as UTF-8 text, whatever its Content-Type; rejects with a 413
   * {@link tooLarge} past `limit` bytes (read no further than that) and with
   * {@link ClientGone} when the client leaves before sending all of it.
   */
  text(limit: number): Promise<string>;
}

/** An answer as the routes build it. */
export interface ServerAnswer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** A serialised body (JSON), a stream of bytes (server-sent events), or none. An error thrown by a stream cuts the connection. */
  body: string | AsyncIterable<Uint8Array> | null;
}

/** The client went away before its request was read: there is no one to answer, and it is not TokenPak's fault. */
export class ClientGone extends RequestError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, status: 499 });
  }
}

export function tooLarge(limit: number): RequestError {
  return new RequestError(`The request body is larger than the limit of ${limit} bytes. Send a smaller request, or raise server.body_limit in the config.`, {
    code: 'payload_too_large',
    status: 413,
  });
}

export function noBody(): RequestError {
  return new RequestError('The request has no body. Send a JSON object.');
}

export function clientLeftMidBody(cause: unknown): ClientGone {
  return new ClientGone('The client closed the connection before sending the whole request body.', { cause });
}

/** The RequestError for a Host header that makes the request's URL unreadable. */
export function badHost(host: string): RequestError {
  return new RequestError(`The Host header ${JSON.stringify(host.slice(0, 200))} is not a valid host name and port. Send this server's address, for example Host: 127.0.0.1:8000.`);
}

/** The path of `http://<host><target>` as the URL parser reads it, or the error to answer. */
export function pathFromUrl(host: string, target: string): string | RequestError {
  try {
    return new URL(`http://${host}${target}`).pathname;
  } catch {
    return badHost(host);
  }
}
