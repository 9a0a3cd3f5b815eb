/**
 * The server core: one route table behind two thin adapters, `handle` (a
 * ServerRequest in, a ServerAnswer out: what node-adapter.ts serves, with no
 * web objects per request) and the fetch-style `fetch` (`Request` in,
 * `Response` out: testable without a socket, used in process). Routes throw;
 * one error path renders every error in the client's wire format.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/load.ts';
import { ProviderError, RequestError, RoutingError, TokenPakError, toTokenPakError } from '../errors.ts';
import type { ChatResponse, StreamEvent } from '../canonical/types.ts';
import { StreamAccumulator } from '../canonical/types.ts';
import { anthropicMessagesFormat } from '../formats/anthropic-messages.ts';
import { openaiChatFormat } from '../formats/openai-chat.ts';
import { parseEmbeddingRequest, renderEmbeddings } from '../formats/openai-embeddings.ts';
import { openaiResponsesFormat } from '../formats/openai-responses.ts';
import { SSE_HEADERS } from '../formats/sse.ts';
import { tokenpakFormat } from '../formats/tokenpak.ts';
import type { WireFormat } from '../formats/types.ts';
import { isOwnRequest } from '../util/loop.ts';
import type { RoutedResponse, RouteOutcome } from '../canonical/outcome.ts';
import type { CallFormat } from '../logs/types.ts';
import type { Router } from '../router/router.ts';
import type { AppCassettes } from '../cassettes/types.ts';
import { createConversationStore, type ConversationStore } from './conversation-store.ts';
import { resume, settle } from './conversations.ts';
import { nestsDeeperThan } from './json-depth.ts';
import type { RequestHeaders } from '../canonical/types.ts';
import { createRedactor } from '../util/redact.ts';
import { checkModelAllowed, createAccess, type AccessOptions } from './access.ts';
import { jsonResponse } from './lightweight.ts';
import { badHost, clientLeftMidBody, ClientGone, noBody, tooLarge, type ServerAnswer, type ServerHeaders, type ServerRequest } from './exchange.ts';
import { CASSETTE_HEADER, RecordedCut, wantsRecordedBytes, wireStream } from './wire-replay.ts';

export interface AppOptions {
  config: Config;
  router: Router;
  /** Called with errors that are TokenPak's own fault (500s), for the operator's log. */
  onInternalError?: (error: unknown) => void;
  /** Called with one line when a client goes away before its request was read (nothing to answer). */
  onClientGone?: (line: string) => void;
  /** Aborted when a stop's grace period is over: streams still open end with an error event. */
  shutdownSignal?: AbortSignal;
  /** Recorded provider traffic, when providers record or replay (`src/cassettes/`). */
  cassettes?: AppCassettes;
  /**
   * For an app served on a socket: turns on client keys (`server.auth`), the
   * Host check and the Origin/CORS rules. Absent, the app answers every
   * request (in-process use, where no browser or stranger can reach it).
   */
  access?: AccessOptions;
  /**
   * Receives each call's request body as the client sent it (the parsed JSON,
   * or the text when it is not JSON), keyed by request id, before the call is
   * logged. The Vitest plugin keeps it as `call.clientRequest`; the proxy
   * keeps nothing (call log bodies follow `logs.capture_bodies`).
   */
  onClientRequest?: (requestId: string, body: unknown) => void;
  /** Serves `/metrics` (Prometheus text; needs a client key like any endpoint when `server.auth` is set). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** What `/readyz` reports; absent: always ready. It must make no LLM call. */
  readiness?: () => Promise<Readiness>;
  /** Server-held conversations of an earlier app, kept across a config reload; default: a new store. */
  conversations?: ConversationStore;
}

/** Whether this TokenPak should be sent traffic, and each check's result (`ok`, or why not). */
export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

/** Endpoints that answer without a client key: load balancers and supervisors probe them. */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/livez', '/readyz']);

/** A fetch-style app. */
export interface App {
  fetch(request: Request): Promise<Response>;
  /** The same routes without web objects: what the node:http adapter serves (absent on an app that only wraps `fetch`). */
  handle?(request: ServerRequest): Promise<ServerAnswer>;
}

interface HandlerContext {
  requestId: string;
  format: WireFormat;
  /** The models the client's key may use; undefined: all. */
  allowedModels: ReadonlySet<string> | undefined;
  /** Id of the client's key (a digest), when the proxy has keys. */
  client: string | undefined;
}

type Handler = (request: ServerRequest, context: HandlerContext) => Promise<ServerAnswer>;

interface Endpoint {
  /** The wire format of this endpoint's answers and errors, chosen per request. */
  format(request: ServerRequest): WireFormat;
  methods: Record<string, Handler>;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createApp(options: AppOptions): App {
  const { config, router } = options;
  const limit = config.server.body_limit_bytes;
  const maxDepth = config.server.max_json_depth;

  const startedAt = Date.now();
  // Server-held conversations live as long as this app: one store per TokenPak instance.
  const conversations = options.conversations ?? createConversationStore({
    maxCount: config.server.conversations.max_count,
    maxBytes: config.server.conversation_memory_bytes,
  });

  const access = options.access ? createAccess(config, options.access) : undefined;
  // Configured secrets never reach a client, even inside an error TokenPak did not expect to carry one.
  const redactText = config.secrets.length > 0 ? createRedactor(config.secrets) : (text: string) => text;

  /**
   * A handler for an endpoint that makes calls. A request refused before the
   * router has logged it (a body that is no JSON or no valid request, an
   * unknown model, …) is logged here as a failed call, so that it shows in
   * the call log and in tests' calls and transcripts too.
   */
  const callHandler = (
    clientFormat: (format: WireFormat) => CallFormat,
    handle: (request: ServerRequest, context: HandlerContext, readBody: () => Promise<unknown>, routed: () => void) => Promise<ServerAnswer>,
  ): Handler => async (request, context) => {
    const startedAt = Date.now();
    const started = performance.now();
    let body: unknown;
    let logged = false;
    const keep = (value: unknown) => {
      body = value;
      options.onClientRequest?.(context.requestId, value);
    };
    const readBody = async () => {
      const text = await request.text(limit);
      keep(text);
      const raw = parseJson(text, maxDepth);
      keep(raw);
      return raw;
    };
    try {
      return await handle(request, context, readBody, () => (logged = true));
    } catch (thrown) {
      if (!logged && !(thrown instanceof RoutingError) && !(thrown instanceof ClientGone)) {
        const fields = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
        router.refused(
          {
            requestId: context.requestId,
            clientFormat: clientFormat(context.format),
            model: typeof fields.model === 'string' ? fields.model : '',
            stream: fields.stream === true,
            ...(context.client !== undefined ? { client: context.client } : {}),
            startedAt,
            started,
            ...(config.logs.capture_bodies && body !== undefined ? { rawBody: body } : {}),
          },
          toTokenPakError(thrown),
        );
      }
      throw thrown;
    }
  };

  const chat = callHandler((format) => format.name, async (request, { requestId, format, allowedModels, client }, readBody, routed) => {
    refuseOwnRequest(request);
    const raw = await readBody();
    const parsed = format.parseRequest(raw, request.headers);
    checkModelAllowed(parsed.request.model, allowedModels);
    const ask = parsed.conversation;
    const resumed = ask ? resume(conversations, ask, parsed.request) : undefined;
    const conversationId = format.responseId?.({ requestId });
    // Stores the answer for later continuations (or frees the continued turn when there is no answer).
    const keep = (answer: ChatResponse | undefined) => {
      if (ask && resumed && conversationId) settle(conversations, ask, resumed, conversationId, answer);
    };
    const chatRequest = resumed?.request ?? parsed.request;
    const context = {
      requestId,
      clientFormat: format.name,
      signal: request.signal,
      headers: withoutCredentials(request.headers),
      ...(client !== undefined ? { client } : {}),
      ...(config.logs.capture_bodies ? { rawBody: raw } : {}),
    };
    const renderContext = { requestId, ...(parsed.echo ? { echo: parsed.echo } : {}) };
    const formatHeaders = format.headers?.(renderContext);
    const cassettes = options.cassettes;
    if (cassettes) return withCassette(cassettes, requestId, request.headers.get(CASSETTE_HEADER) ?? undefined, () => answer());
    return answer();

    async function answer(): Promise<ServerAnswer> {
      if (parsed.stream) {
        const stream = await router.stream(chatRequest, context).catch((error: unknown) => {
          keep(undefined);
          throw error;
        });
        routed();
        const kept = ask ? keepOnFinish(stream.events, keep) : stream.events;
        const wire = cassettes?.takeWire(requestId);
        if (wire?.events && wire.format === format.name && wire.provider === stream.provider && wantsRecordedBytes(format.name, raw, true)) {
          void stream.done.finally(() => cassettes!.release(requestId));
          return wireStream(wire, kept, { ...formatHeaders, ...outcomeHeaders(requestId, stream) });
        }
        if (cassettes) void stream.done.finally(() => cassettes.release(requestId));
        let events = cutOnDisconnect(kept);
        if (options.shutdownSignal) events = endOnShutdown(events, options.shutdownSignal);
        const chunks = format.renderStream({ ...stream, events }, renderContext);
        return { status: 200, headers: { ...SSE_HEADERS, ...formatHeaders, ...outcomeHeaders(requestId, stream) }, body: encodeText(chunks, options.onInternalError) };
      }
      let result: RoutedResponse;
      try {
        result = await router.complete(chatRequest, context);
      } catch (error) {
        keep(undefined);
        throw error;
      }
      routed();
      keep(result.response);
      const headers = {
        ...formatHeaders,
        ...outcomeHeaders(requestId, result),
        'x-tokenpak-cost-cents': result.costCents === null ? 'unknown' : String(result.costCents),
      };
      const wire = cassettes?.takeWire(requestId);
      if (wire?.body !== undefined && wire.format === format.name && wire.provider === result.provider) return { status: 200, headers: { 'content-type': 'application/json', ...headers }, body: wire.body };
      return json(200, format.renderResponse(result, renderContext), headers);
    }
  });

  const embeddings = callHandler(() => 'openai-embeddings', async (request, { requestId, allowedModels, client }, readBody, routed) => {
    refuseOwnRequest(request);
    const raw = await readBody();
    const { request: parsed, encoding } = parseEmbeddingRequest(raw);
    checkModelAllowed(parsed.model, allowedModels);
    const result = await router.embed(parsed, {
      requestId,
      clientFormat: 'openai-embeddings',
      signal: request.signal,
      headers: withoutCredentials(request.headers),
      ...(client !== undefined ? { client } : {}),
      ...(config.logs.capture_bodies ? { rawBody: raw } : {}),
    });
    routed();
    return json(200, renderEmbeddings(result, encoding), {
      ...outcomeHeaders(requestId, result),
      'x-tokenpak-cost-cents': result.costCents === null ? 'unknown' : String(result.costCents),
    });
  });

  const countTokens: Handler = async (request, { requestId, format, allowedModels }) => {
    refuseOwnRequest(request);
    const raw = await readJson(request, limit, maxDepth);
    const parsed = format.parseCountRequest!(raw, request.headers);
    checkModelAllowed(parsed.request.model, allowedModels);
    // Counting a continuation counts its whole history; nothing is stored or marked.
    const counted = parsed.conversation?.previousId ? resume(conversations, parsed.conversation, parsed.request).request : parsed.request;
    const result = await router.countTokens(counted, { requestId, clientFormat: format.name, signal: request.signal });
    return json(200, format.renderCount!(result.inputTokens, { requestId }), { ...format.headers?.({ requestId }), ...outcomeHeaders(requestId, result) });
  };

  const models: Handler = async (_request, { requestId, format, allowedModels }) => {
    const listing = router.routes.filter((route) => !allowedModels || allowedModels.has(route.name)).map((route) => ({ route, createdAt: startedAt }));
    return json(200, format.renderModels!(listing, { requestId }), { ...format.headers?.({ requestId }), 'x-request-id': requestId });
  };

  const model: Handler = async (request, { requestId, format, allowedModels }) => {
    const raw = pathOf(request).replace(/^\/(?:v1\/)?models\//, '');
    let id = raw;
    try {
      id = decodeURIComponent(raw);
    } catch {
      // A malformed %-escape: look the id up as written, which gives the usual 404.
    }
    const listing = { route: router.resolve(id), createdAt: startedAt };
    checkModelAllowed(listing.route.name, allowedModels);
    return json(200, format.renderModel!(listing, { requestId }), { ...format.headers?.({ requestId }), 'x-request-id': requestId });
  };

  const ready: Handler = async () => {
    const readiness = (await options.readiness?.()) ?? { ready: true, checks: {} };
    const body = { status: readiness.ready ? 'ready' : 'not_ready', checks: readiness.checks };
    return { status: readiness.ready ? 200 : 503, headers: { 'content-type': 'application/json' }, body: redactText(JSON.stringify(body)) };
  };

  const metrics: Handler = async () => {
    const { contentType, body } = await options.metrics!();
    return { status: 200, headers: { 'content-type': contentType }, body };
  };

  // Anthropic's SDKs always send `anthropic-version`; without it /v1/messages speaks TokenPak's own format (the recipe's).
  const anthropicOr = (fallback: WireFormat) => (request: ServerRequest) => (request.headers.has('anthropic-version') ? anthropicMessagesFormat : fallback);

  const endpoints = new Map<string, Endpoint>([
    ['/healthz', { format: () => tokenpakFormat, methods: { GET: async () => json(200, { status: 'ok' }) } }],
    // The process serves: nothing else is checked, so a supervisor restarts only a stuck process.
    ['/livez', { format: () => tokenpakFormat, methods: { GET: async () => json(200, { status: 'ok' }) } }],
    ['/readyz', { format: () => tokenpakFormat, methods: { GET: ready } }],
    ...(options.metrics ? [['/metrics', { format: () => tokenpakFormat, methods: { GET: metrics } }] as const] : []),
    ['/v1/messages', { format: anthropicOr(tokenpakFormat), methods: { POST: chat } }],
    ['/v1/chat/completions', { format: () => openaiChatFormat, methods: { POST: chat } }],
    ['/v1/responses', { format: () => openaiResponsesFormat, methods: { POST: chat } }],
    ['/v1/messages/count_tokens', { format: () => anthropicMessagesFormat, methods: { POST: countTokens } }],
    ['/v1/responses/input_tokens', { format: () => openaiResponsesFormat, methods: { POST: countTokens } }],
    // Embeddings are OpenAI's API only (Anthropic has none); errors come in OpenAI's shape.
    ['/v1/embeddings', { format: () => openaiChatFormat, methods: { POST: embeddings } }],
    ['/v1/models', { format: anthropicOr(openaiChatFormat), methods: { GET: models } }],
    ['/v1/models/{id}', { format: anthropicOr(openaiChatFormat), methods: { GET: model } }],
  ]);

  async function handle(request: ServerRequest): Promise<ServerAnswer> {
      const incoming = request.headers.get('x-request-id');
      const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      let format: WireFormat = anthropicOr(tokenpakFormat)(request);
      let cors: Record<string, string> = {};
      try {
        const path = pathOf(request);
        // SDKs disagree on whether a base URL includes /v1 (the Anthropic SDK's does not, @ai-sdk/anthropic's
        // does), so one ANTHROPIC_BASE_URL serves both: a path without /v1 is the /v1 endpoint.
        const endpoint =
          endpoints.get(path) ?? endpoints.get(`/v1${path}`) ?? (/^\/(?:v1\/)?models\/./.test(path) ? endpoints.get('/v1/models/{id}') : undefined);
        if (endpoint) format = endpoint.format(request);
        // Before anything else: a refused web page learns nothing, not even which paths exist.
        if (access) cors = access.checkBrowser(request);
        if (!endpoint) {
          throw new TokenPakError('route_not_found', `No endpoint at ${request.method} ${path}. TokenPak serves ${[...endpoints.keys()].join(', ')}.`, { status: 404 });
        }
        // HEAD is GET without the body; OPTIONS answers CORS preflights (listed origins) and says what is allowed.
        const methods = Object.keys(endpoint.methods);
        const allowed = [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
        if (request.method === 'OPTIONS') {
          return access?.preflight(request, allowed.split(', '), cors) ?? { status: 204, headers: { ...cors, allow: allowed }, body: null };
        }
        const head = request.method === 'HEAD';
        const handler = endpoint.methods[head ? 'GET' : request.method];
        if (!handler) {
          throw Object.assign(
            new TokenPakError('method_not_allowed', `${request.method} is not allowed on ${path}; use ${methods.join(', ')}.`, { status: 405 }),
            { allow: allowed },
          );
        }
        const client = access && !OPEN_PATHS.has(path) ? access.authenticate(request) : undefined;
        const answer = await handler(request, { requestId, format, allowedModels: client?.models, client: client?.id });
        if (access) Object.assign(answer.headers, cors);
        return head ? await withoutBody(answer) : answer;
      } catch (thrown) {
        const error = toTokenPakError(thrown);
        if (error.code === 'internal_error') options.onInternalError?.(thrown);
        if (thrown instanceof ClientGone) options.onClientGone?.(`${error.detail} (${request.method} ${safePath(request)}, request ${requestId})`);
        const rendered = format.renderError(error, { requestId });
        const allow = (thrown as { allow?: string }).allow;
        const headers = {
          ...format.headers?.({ requestId }),
          'x-request-id': requestId,
          ...(allow ? { allow } : {}),
          ...(error.status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
          ...cors,
          ...rendered.headers,
        };
        const answer: ServerAnswer = { status: rendered.status, headers: { 'content-type': 'application/json', ...headers }, body: redactText(JSON.stringify(rendered.body)) };
        return request.method === 'HEAD' ? withoutBody(answer) : answer;
      }
  }

  return {
    handle,
    async fetch(request) {
      return toResponse(await handle(fromFetch(request)));
    },
  };
}

/** A fetch `Request` as the routes see it. */
function fromFetch(request: Request): ServerRequest {
  let path: string | RequestError;
  try {
    path = new URL(request.url).pathname;
  } catch {
    path = badHost(request.headers.get('host') ?? '');
  }
  return { method: request.method, path, headers: request.headers, signal: request.signal, text: (limit) => readText(request, limit) };
}

/** An answer as a fetch `Response` (a JSON one that the node adapters can write without reading it back). */
function toResponse(answer: ServerAnswer): Response {
  const { status, headers, body } = answer;
  if (typeof body === 'string') return jsonResponse(status, body, headers);
  if (body === null) return new Response(null, { status, headers });
  return new Response(ReadableStream.from(body), { status, headers });
}

/** A request that a provider's base_url sent back to this TokenPak would loop for ever. */
function refuseOwnRequest(request: ServerRequest): void {
  if (isOwnRequest(request.headers)) {
    throw new TokenPakError('provider_error', 'This request came from this TokenPak itself: a provider\'s base_url (or OPENAI_BASE_URL / ANTHROPIC_BASE_URL in the proxy\'s environment) points back at the proxy. Point it at the real API.', { status: 508 });
  }
}

/**
 * Runs a chat request bound to its cassette scenario. A stream keeps its
 * binding until it ends (the answer releases it); anything else is released here.
 */
async function withCassette(cassettes: AppCassettes, requestId: string, name: string | undefined, answer: () => Promise<ServerAnswer>): Promise<ServerAnswer> {
  cassettes.bind(requestId, name);
  let response: ServerAnswer | undefined;
  try {
    response = await answer();
    return response;
  } finally {
    if (!response?.headers['content-type']?.startsWith('text/event-stream')) cassettes.release(requestId);
  }
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

/** Headers that carry credentials: providers (mock rules) never see them. */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie|x-api-key|api-key)$|key|token|secret/i;

/** The client's headers as providers see them: read-only, credentials reading as absent. */
function withoutCredentials(headers: ServerHeaders): RequestHeaders {
  return { get: (name) => (CREDENTIAL_HEADER.test(name) ? null : headers.get(name)) };
}

/** The answer to a HEAD request: the GET answer's status and headers (its length included), no body. */
async function withoutBody(answer: ServerAnswer): Promise<ServerAnswer> {
  let length = 0;
  if (typeof answer.body === 'string') length = Buffer.byteLength(answer.body);
  else if (answer.body) for await (const chunk of answer.body) length += chunk.byteLength;
  return { status: answer.status, headers: { ...answer.headers, 'content-length': String(length) }, body: null };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): ServerAnswer {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/**
 * Passes events through; stores the conversation when the answer finishes
 * (before the client sees the end, so a continuation sent right after finds
 * it), and frees the continued turn when the stream fails or is abandoned.
 */
async function* keepOnFinish(events: AsyncIterable<StreamEvent>, keep: (answer: ChatResponse | undefined) => void): AsyncGenerator<StreamEvent> {
  const collected = new StreamAccumulator();
  let kept = false;
  try {
    for await (const event of events) {
      if (event.type !== 'error') collected.add(event);
      if (event.type === 'finish') {
        kept = true;
        keep(collected.response());
      }
      yield event;
    }
  } finally {
    if (!kept) keep(undefined);
  }
}

/** Thrown into a response body to cut the client's connection. */
class StreamCut extends Error {}

/**
 * A simulated dropped connection (a provider error with `dropsConnection`, such as the mock's
 * injected `disconnect`) reaches the client as a dropped connection: the stream stops with no
 * terminal event. Any other failure mid-stream reaches it as an error event in its own format.
 */
async function* cutOnDisconnect(events: AsyncIterable<StreamEvent>): AsyncGenerator<StreamEvent> {
  for await (const event of events) {
    if (event.type === 'error' && event.error instanceof ProviderError && event.error.dropsConnection) {
      throw new StreamCut(event.error.message, { cause: event.error });
    }
    yield event;
  }
}

/**
 * Ends a stream with an error event when the server stops before the stream
 * is over, so that the client learns it was cut rather than seeing the
 * connection drop.
 */
async function* endOnShutdown(events: AsyncIterable<StreamEvent>, signal: AbortSignal): AsyncGenerator<StreamEvent> {
  const iterator = events[Symbol.asyncIterator]();
  let onAbort!: () => void;
  const stopped = new Promise<'stopped'>((resolve) => (onAbort = () => resolve('stopped')));
  signal.addEventListener('abort', onAbort, { once: true });
  let finished = false;
  try {
    for (;;) {
      const step = signal.aborted ? 'stopped' : await Promise.race([iterator.next(), stopped]);
      if (step === 'stopped') break;
      if (step.done) {
        finished = true;
        return;
      }
      yield step.value;
    }
    yield {
      type: 'error',
      error: new TokenPakError('shutting_down', 'TokenPak is stopping and the shutdown grace period (server.shutdown_grace_ms) is over: the stream was cut. Send the request again.', {
        status: 503,
        retryable: true,
      }),
    };
  } finally {
    signal.removeEventListener('abort', onAbort);
    // The router's stream records the call once it ends; a pending read ends when the connection closes.
    if (!finished) void iterator.return?.()?.catch(() => {});
  }
}

/** Encodes SSE text; an error while rendering errors the body, which cuts the connection. */
async function* encodeText(chunks: AsyncIterable<string>, onInternalError?: (error: unknown) => void): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  try {
    for await (const chunk of chunks) yield encoder.encode(chunk);
  } catch (error) {
    if (!(error instanceof StreamCut) && !(error instanceof RecordedCut)) onInternalError?.(error);
    throw error;
  }
}

/**
 * Reads the body as text whatever its Content-Type (the recipe's curl loop
 * sends none, so curl labels it form data), enforcing the size limit while
 * reading rather than after.
 */
async function readText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  if (!request.body) throw noBody();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    let step: Awaited<ReturnType<typeof reader.read>>;
    try {
      step = await reader.read();
    } catch (error) {
      // The body comes from the client's socket: a failure here is the client leaving mid-upload.
      throw clientLeftMidBody(error);
    }
    const { done, value } = step;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Reads and parses the body (for endpoints whose requests are not logged as calls). */
async function readJson(request: ServerRequest, limit: number, maxDepth: number): Promise<unknown> {
  return parseJson(await request.text(limit), maxDepth);
}

/** The body's JSON, within the nesting limit. */
function parseJson(text: string, maxDepth: number): unknown {
  if (text.trim() === '') throw new RequestError('The request body is empty. Send a JSON object.');
  if (nestsDeeperThan(text, maxDepth)) {
    throw new RequestError(`The request body nests arrays and objects more than ${maxDepth} levels deep. Send a flatter body, or raise server.max_json_depth in the config.`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RequestError(`The request body is not valid JSON (${(error as Error).message}). Send a JSON object, for example {"model": "gpt-4", "messages": [{"role": "user", "content": "Hello"}]}.`);
  }
}

/**
 * The request's path without trailing slashes. The URL is built from the
 * client's Host header, so a Host that is no host (`a:99999`) is the
 * client's error, not ours.
 */
function pathOf(request: ServerRequest): string {
  const { path } = request;
  if (typeof path !== 'string') throw path;
  return path.replace(/\/+$/, '') || '/';
}

/** The path for a log line, whatever the Host header was. */
function safePath(request: ServerRequest): string {
  return typeof request.path === 'string' ? request.path : '(unreadable URL)';
}
