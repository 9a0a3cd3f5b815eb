/**
 * The server core: a fetch-style handler (`Request` in, `Response` out),
 * testable without a socket. Routes throw; one error path renders every error
 * in the client's wire format.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/load.ts';
import { RequestError, TokenPakError, toTokenPakError } from '../errors.ts';
import { SSE_HEADERS } from '../formats/sse.ts';
import { tokenpakFormat } from '../formats/tokenpak.ts';
import type { WireFormat } from '../formats/types.ts';
import type { RouteOutcome, Router } from '../router/router.ts';

export interface AppOptions {
  config: Config;
  router: Router;
  /** Called with errors that are TokenPak's own fault (500s), for the operator's log. */
  onInternalError?: (error: unknown) => void;
}

/** A fetch-style app. */
export interface App {
  fetch(request: Request): Promise<Response>;
}

interface HandlerContext {
  requestId: string;
  format: WireFormat;
}

type Handler = (request: Request, context: HandlerContext) => Promise<Response>;

interface Endpoint {
  /** The wire format of this endpoint's answers and errors, chosen per request. */
  format(request: Request): WireFormat;
  methods: Record<string, Handler>;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createApp(options: AppOptions): App {
  const { config, router } = options;
  const limit = config.server.body_limit_bytes;

  const chat = (format: WireFormat): Handler => async (request, { requestId }) => {
    const raw = await readJson(request, limit);
    const parsed = format.parseRequest(raw, request.headers);
    const context = {
      requestId,
      clientFormat: format.name,
      signal: request.signal,
      ...(config.logs.capture_bodies ? { rawBody: raw } : {}),
    };
    if (parsed.stream) {
      const stream = await router.stream(parsed.request, context);
      const body = ReadableStream.from(encodeText(format.renderStream(stream, { requestId })));
      return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...outcomeHeaders(requestId, stream) } });
    }
    const result = await router.complete(parsed.request, context);
    return json(200, format.renderResponse(result, { requestId }), {
      ...outcomeHeaders(requestId, result),
      'x-tokenpak-cost-cents': result.costCents === null ? 'unknown' : String(result.costCents),
    });
  };

  const endpoints = new Map<string, Endpoint>([
    ['/healthz', { format: () => tokenpakFormat, methods: { GET: async () => json(200, { status: 'ok' }) } }],
    ['/v1/messages', { format: () => tokenpakFormat, methods: { POST: chat(tokenpakFormat) } }],
  ]);

  return {
    async fetch(request) {
      const incoming = request.headers.get('x-request-id');
      const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      const path = new URL(request.url).pathname.replace(/\/+$/, '') || '/';
      const endpoint = endpoints.get(path);
      let format: WireFormat = tokenpakFormat;
      try {
        if (!endpoint) {
          throw new TokenPakError('route_not_found', `No endpoint at ${request.method} ${path}. TokenPak serves ${[...endpoints.keys()].join(', ')}.`, { status: 404 });
        }
        format = endpoint.format(request);
        const handler = endpoint.methods[request.method];
        if (!handler) {
          const allowed = Object.keys(endpoint.methods).join(', ');
          throw Object.assign(
            new TokenPakError('method_not_allowed', `${request.method} is not allowed on ${path}; use ${allowed}.`, { status: 405 }),
            { allow: allowed },
          );
        }
        return await handler(request, { requestId, format });
      } catch (thrown) {
        const error = toTokenPakError(thrown);
        if (error.code === 'internal_error') options.onInternalError?.(thrown);
        const rendered = format.renderError(error, { requestId });
        const allow = (thrown as { allow?: string }).allow;
        return json(rendered.status, rendered.body, {
          'x-request-id': requestId,
          ...(allow ? { allow } : {}),
          ...rendered.headers,
        });
      }
    },
  };
}

function outcomeHeaders(requestId: string, outcome: RouteOutcome): Record<string, string> {
  return {
    'x-request-id': requestId,
    'x-tokenpak-provider': outcome.provider,
    'x-tokenpak-model': outcome.upstreamModel,
    // A stream's answering attempt is recorded only when it ends, so count it here.
    'x-tokenpak-attempts': String(outcome.attempts.length + (outcome.attempts.at(-1)?.outcome === 'ok' ? 0 : 1)),
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

async function* encodeText(chunks: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  for await (const chunk of chunks) yield encoder.encode(chunk);
}

/**
 * Reads the body as JSON whatever its Content-Type (the recipe's curl loop
 * sends none, so curl labels it form data), enforcing the size limit while
 * reading rather than after.
 */
async function readJson(request: Request, limit: number): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  if (!request.body) throw new RequestError('The request has no body. Send a JSON object.');
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  if (text.trim() === '') throw new RequestError('The request body is empty. Send a JSON object.');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RequestError(`The request body is not valid JSON (${(error as Error).message}). Send a JSON object, for example {"model": "gpt-4", "messages": [{"role": "user", "content": "Hello"}]}.`);
  }
}

function tooLarge(limit: number): RequestError {
  return new RequestError(`The request body is larger than the limit of ${limit} bytes. Send a smaller request, or raise server.body_limit in the config.`, {
    code: 'payload_too_large',
    status: 413,
  });
}
