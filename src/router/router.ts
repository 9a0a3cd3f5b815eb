/**
 * The router: a requested model → its route's provider chain. A retryable
 * failure moves on to the next provider; anything else comes back at once.
 * Every attempt is recorded, and every call goes to the call log.
 */
import { randomUUID } from 'node:crypto';
import type { RoutedCount, RoutedEmbeddings, RoutedResponse, RoutedStream } from '../canonical/outcome.ts';
import type { ChatRequest, ChatResponse, EmbeddingRequest, RequestHeaders, StreamEvent, Usage } from '../canonical/types.ts';
import { StreamAccumulator } from '../canonical/types.ts';
import type { Config, ResolvedRoute, RouteTarget } from '../config/load.ts';
import { RoutingError, TokenPakError, toTokenPakError } from '../errors.ts';
import type { AttemptRecord, CallFormat, CallLogStore, CallRecord } from '../logs/types.ts';
import type { Pricer } from '../pricing/pricing.ts';
import type { CallOptions, Provider } from '../providers/types.ts';
import { didYouMean } from '../util/did-you-mean.ts';

/** The call's context, from the server (or a test). */
export interface RouteContext {
  /** Request id; generated when absent. */
  requestId?: string;
  clientFormat: CallFormat;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /** The request as the client sent it, kept only when `logs.capture_bodies` is on. */
  rawBody?: unknown;
  /** The client's request headers (credentials hidden), passed to providers as {@link CallOptions.headers}. */
  headers?: RequestHeaders;
}

export interface RouterOptions {
  config: Config;
  /** Providers by configured name (disabled ones may be absent). */
  providers: ReadonlyMap<string, Provider>;
  pricer: Pricer;
  log: CallLogStore;
}

export interface Router {
  /** Routes by model name, in config order. */
  readonly routes: readonly ResolvedRoute[];
  /** The route of a model, or a 404 `model_not_found` that names the configured ones. */
  resolve(model: string): ResolvedRoute;
  complete(request: ChatRequest, context: RouteContext): Promise<RoutedResponse>;
  stream(request: ChatRequest, context: RouteContext): Promise<RoutedStream>;
  /**
   * Embedding vectors from the route's chain, falling back like `complete()`;
   * a provider without embeddings counts as a failed, retryable attempt. The
   * call is logged and priced (input tokens only).
   */
  embed(request: EmbeddingRequest, context: RouteContext): Promise<RoutedEmbeddings>;
  /**
   * The input tokens of a chat request, from the first provider of the chain
   * that can count them (falling back like `complete()`). Counting is free, so
   * it is not logged as a call.
   */
  countTokens(request: ChatRequest, context: RouteContext): Promise<RoutedCount>;
  /**
   * Logs a request refused before any provider was tried (a body that is not
   * JSON or not a valid request, an unknown model) as a failed call with no
   * attempts, so that the call log and test transcripts show it.
   */
  refused(context: RefusedContext, error: TokenPakError): CallRecord;
}

/** What is known of a request refused before routing. */
export interface RefusedContext extends RouteContext {
  requestId: string;
  /** The model asked for, or '' when the body named none. */
  model: string;
  stream: boolean;
  /** When the request arrived: epoch ms, and `performance.now()` for its latency. */
  startedAt: number;
  started: number;
}


export function createRouter(options: RouterOptions): Router {
  const { config, providers, pricer, log } = options;
  const routes = Object.values(config.models);
  const captureBodies = config.logs.capture_bodies;

  const resolve = (model: string): ResolvedRoute => {
    const route = config.models[model];
    if (route) return route;
    const names = Object.keys(config.models);
    throw new TokenPakError(
      'model_not_found',
      `Model "${model}" is not configured.${didYouMean(model, names)} Configured models: ${names.join(', ')}. Add it under models: in ${config.source}.`,
      { status: 404 },
    );
  };

  const providerFor = (target: RouteTarget): Provider => {
    const provider = providers.get(target.provider);
    // loadConfig() rejects routes to unknown or disabled providers; this is a guard for hand-built routers.
    if (!provider) throw new TokenPakError('provider_disabled', `Provider "${target.provider}" is not available (disabled or not configured).`, { status: 503, provider: target.provider });
    return provider;
  };

  const failedAttempt = (provider: Provider, target: RouteTarget, error: TokenPakError, started: number): AttemptRecord => ({
    provider: provider.name,
    providerType: provider.type,
    model: target.model,
    outcome: 'error',
    status: error.status,
    errorCode: error.code,
    errorMessage: error.detail,
    latencyMs: elapsed(started),
    costCents: 0,
  });

  /**
   * The options of one provider call. A provider that retries by itself
   * reports each failed try, which becomes its own failed attempt with the
   * wait after it; the next try's time starts once that wait is over.
   */
  const attemptOptions = (provider: Provider, target: RouteTarget, attempts: AttemptRecord[], requestId: string, context: RouteContext, clock: { started: number }): CallOptions => ({
    ...callOptions(requestId, context),
    onRetry: ({ error, waitMs }) => {
      attempts.push({ ...failedAttempt(provider, target, withProvider(error, provider.name), clock.started), waitMs });
      clock.started = performance.now() + waitMs;
    },
  });

  const okAttempt = (provider: Provider, target: RouteTarget, usage: Usage, started: number, ttftMs?: number, warnings?: string[]): AttemptRecord => ({
    provider: provider.name,
    providerType: provider.type,
    model: target.model,
    outcome: 'ok',
    status: 200,
    latencyMs: elapsed(started),
    ...(ttftMs !== undefined ? { ttftMs } : {}),
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    costCents: pricer(provider.type, target.model, usage),
    ...(warnings?.length ? { warnings } : {}),
  });

  const record = (base: {
    requestId: string;
    startedAt: number;
    started: number;
    context: RouteContext;
    request: ChatRequest;
    stream: boolean;
    attempts: AttemptRecord[];
  }, result: { ok: true; response: ChatResponse; ttftMs?: number } | { ok: false; error: TokenPakError }): CallRecord => {
    const answered = base.attempts.findLast((a) => a.outcome === 'ok');
    const costCents = sumCost(base.attempts);
    const call: CallRecord = {
      id: base.requestId,
      startedAt: base.startedAt,
      clientFormat: base.context.clientFormat,
      model: base.request.model,
      provider: answered?.provider ?? null,
      upstreamModel: answered?.model ?? null,
      outcome: result.ok ? 'ok' : 'error',
      status: result.ok ? 200 : result.error.status,
      latencyMs: elapsed(base.started),
      inputTokens: result.ok ? result.response.usage.inputTokens : 0,
      outputTokens: result.ok ? result.response.usage.outputTokens : 0,
      costCents,
      stream: base.stream,
      attempts: base.attempts,
    };
    if (!result.ok) {
      call.errorCode = result.error.code;
      call.errorMessage = result.error.detail;
    }
    if (result.ok && result.ttftMs !== undefined) call.ttftMs = result.ttftMs;
    if (captureBodies) {
      if (base.context.rawBody !== undefined) call.requestBody = base.context.rawBody;
      if (result.ok) call.responseBody = result.response;
    }
    log.append(call);
    return call;
  };

  const router: Router = {
    routes,

    refused(context, error) {
      const call: CallRecord = {
        id: context.requestId,
        startedAt: context.startedAt,
        clientFormat: context.clientFormat,
        model: context.model,
        provider: null,
        upstreamModel: null,
        outcome: 'error',
        status: error.status,
        errorCode: error.code,
        errorMessage: error.detail,
        latencyMs: elapsed(context.started),
        inputTokens: 0,
        outputTokens: 0,
        costCents: 0,
        stream: context.stream,
        attempts: [],
      };
      if (captureBodies && context.rawBody !== undefined) call.requestBody = context.rawBody;
      log.append(call);
      return call;
    },
    resolve,

    async complete(request, context) {
      const route = resolve(request.model);
      const requestId = context.requestId ?? randomUUID();
      const started = performance.now();
      const base = { requestId, startedAt: Date.now(), started, context, request, stream: false, attempts: [] as AttemptRecord[] };
      let last: TokenPakError | undefined;
      for (const target of route.chain) {
        if (context.signal?.aborted) break;
        const provider = providerFor(target);
        const clock = { started: performance.now() };
        try {
          const response = await provider.complete({ ...request, model: target.model }, attemptOptions(provider, target, base.attempts, requestId, context, clock));
          base.attempts.push(okAttempt(provider, target, response.usage, clock.started, undefined, response.warnings));
          record(base, { ok: true, response });
          return {
            requestId,
            route,
            provider: provider.name,
            upstreamModel: response.model || target.model,
            attempts: base.attempts,
            response,
            costCents: sumCost(base.attempts),
            latencyMs: elapsed(started),
          };
        } catch (thrown) {
          last = withProvider(toTokenPakError(thrown), provider.name);
          base.attempts.push(failedAttempt(provider, target, last, clock.started));
          if (!last.retryable) break;
        }
      }
      const error = new RoutingError(last ?? cancelled(), base.attempts, route.name, requestId);
      record(base, { ok: false, error });
      throw error;
    },

    async stream(request, context) {
      const route = resolve(request.model);
      const requestId = context.requestId ?? randomUUID();
      const started = performance.now();
      const base = { requestId, startedAt: Date.now(), started, context, request, stream: true, attempts: [] as AttemptRecord[] };
      let last: TokenPakError | undefined;
      for (const target of route.chain) {
        if (context.signal?.aborted) break;
        const provider = providerFor(target);
        const clock = { started: performance.now() };
        const iterator = provider
          .stream({ ...request, model: target.model }, attemptOptions(provider, target, base.attempts, requestId, context, clock))
          [Symbol.asyncIterator]();
        let first: IteratorResult<StreamEvent>;
        try {
          first = await iterator.next();
          if (first.done) throw new TokenPakError('provider_error', `Provider "${provider.name}" ended the stream without sending anything.`, { status: 502, retryable: true, provider: provider.name });
          if (first.value.type === 'error') throw first.value.error;
        } catch (thrown) {
          last = withProvider(toTokenPakError(thrown), provider.name);
          base.attempts.push(failedAttempt(provider, target, last, clock.started));
          if (!last.retryable) break;
          continue;
        }
        const ttftMs = elapsed(started);
        let resolveDone!: (call: CallRecord) => void;
        const done = new Promise<CallRecord>((resolve) => (resolveDone = resolve));
        const firstEvent = first.value;
        const events = (async function* (): AsyncGenerator<StreamEvent> {
          const collected = new StreamAccumulator(target.model);
          let failure: TokenPakError | undefined;
          try {
            collected.add(firstEvent);
            yield firstEvent;
            while (!collected.finish) {
              let step: IteratorResult<StreamEvent>;
              try {
                step = await iterator.next();
              } catch (thrown) {
                failure = withProvider(toTokenPakError(thrown), provider.name);
                break;
              }
              if (step.done) {
                failure = new TokenPakError('provider_connection_error', `Provider "${provider.name}" ended the stream before it finished.`, { status: 502, retryable: true, provider: provider.name });
                break;
              }
              if (step.value.type === 'error') {
                failure = withProvider(toTokenPakError(step.value.error), provider.name);
                break;
              }
              collected.add(step.value);
              yield step.value;
            }
            if (failure) yield { type: 'error', error: failure };
          } finally {
            const finished = collected.finish;
            if (!finished && !failure) {
              // The consumer stopped early: the client went away.
              failure = new TokenPakError('provider_connection_error', 'The client closed the connection before the stream finished.', { status: 499 });
              await iterator.return?.();
            }
            const usage = finished?.usage ?? { inputTokens: 0, outputTokens: 0 };
            if (finished) {
              base.attempts.push(okAttempt(provider, target, usage, clock.started, ttftMs, finished.warnings));
              const response = collected.response();
              resolveDone(record(base, { ok: true, response, ttftMs }));
            } else {
              base.attempts.push({ ...failedAttempt(provider, target, failure!, clock.started), ttftMs });
              resolveDone(record(base, { ok: false, error: failure! }));
            }
          }
        })();
        return { requestId, route, provider: provider.name, upstreamModel: target.model, attempts: base.attempts, events, done };
      }
      const error = new RoutingError(last ?? cancelled(), base.attempts, route.name, requestId);
      record(base, { ok: false, error });
      throw error;
    },

    async embed(request, context) {
      const route = resolve(request.model);
      const requestId = context.requestId ?? randomUUID();
      const startedAt = Date.now();
      const started = performance.now();
      const outcome = await alongChain(route, requestId, context, 'embeddings', (provider, target, options) =>
        provider.embed ? provider.embed({ ...request, model: target.model }, options) : undefined,
        (response) => ({ inputTokens: response.usage.inputTokens, outputTokens: 0 }),
      );
      const call: CallRecord = {
        id: requestId,
        startedAt,
        clientFormat: context.clientFormat,
        model: request.model,
        provider: outcome.ok ? outcome.provider.name : null,
        upstreamModel: outcome.ok ? outcome.target.model : null,
        outcome: outcome.ok ? 'ok' : 'error',
        status: outcome.ok ? 200 : outcome.error.status,
        latencyMs: elapsed(started),
        inputTokens: outcome.ok ? outcome.value.usage.inputTokens : 0,
        outputTokens: 0,
        costCents: sumCost(outcome.attempts),
        stream: false,
        attempts: outcome.attempts,
      };
      if (!outcome.ok) {
        call.errorCode = outcome.error.code;
        call.errorMessage = outcome.error.detail;
      }
      // Vectors are large and say nothing a reader of the log needs: only the request is kept.
      if (captureBodies && context.rawBody !== undefined) call.requestBody = context.rawBody;
      log.append(call);
      if (!outcome.ok) throw outcome.error;
      return {
        requestId,
        route,
        provider: outcome.provider.name,
        upstreamModel: outcome.value.model || outcome.target.model,
        attempts: outcome.attempts,
        response: outcome.value,
        costCents: call.costCents,
      };
    },

    async countTokens(request, context) {
      const route = resolve(request.model);
      const requestId = context.requestId ?? randomUUID();
      const outcome = await alongChain(route, requestId, context, 'token counting', (provider, target, options) =>
        provider.countTokens ? provider.countTokens({ ...request, model: target.model }, options) : undefined,
        () => ({ inputTokens: 0, outputTokens: 0 }),
      );
      if (!outcome.ok) throw outcome.error;
      return { requestId, route, provider: outcome.provider.name, upstreamModel: outcome.target.model, attempts: outcome.attempts, inputTokens: outcome.value };
    },
  };
  return router;

  /**
   * Tries `call` on each provider of the route in turn until one succeeds or
   * one fails for good: the attempt loop of the calls that are neither chat
   * answers nor streams. `call` returns undefined for a provider that lacks
   * the endpoint, which is a retryable failure.
   */
  async function alongChain<T>(
    route: ResolvedRoute,
    requestId: string,
    context: RouteContext,
    what: string,
    call: (provider: Provider, target: RouteTarget, options: CallOptions) => Promise<T> | undefined,
    usageOf: (value: T) => Usage,
  ): Promise<
    | { ok: true; value: T; provider: Provider; target: RouteTarget; attempts: AttemptRecord[] }
    | { ok: false; error: RoutingError; attempts: AttemptRecord[] }
  > {
    const attempts: AttemptRecord[] = [];
    let last: TokenPakError | undefined;
    for (const target of route.chain) {
      if (context.signal?.aborted) break;
      const provider = providerFor(target);
      const clock = { started: performance.now() };
      try {
        const pending = call(provider, target, attemptOptions(provider, target, attempts, requestId, context, clock));
        if (pending === undefined) {
          throw new TokenPakError('unsupported_endpoint', `Provider "${provider.name}" (type ${provider.type}) does not offer ${what}. Route this model to a provider that does.`, { status: 400, retryable: true, provider: provider.name });
        }
        const value = await pending;
        attempts.push(okAttempt(provider, target, usageOf(value), clock.started));
        return { ok: true, value, provider, target, attempts };
      } catch (thrown) {
        last = withProvider(toTokenPakError(thrown), provider.name);
        attempts.push(failedAttempt(provider, target, last, clock.started));
        if (!last.retryable) break;
      }
    }
    return { ok: false, error: new RoutingError(last ?? cancelled(), attempts, route.name, requestId), attempts };
  }
}

function callOptions(requestId: string, context: RouteContext): CallOptions {
  return { requestId, ...(context.signal ? { signal: context.signal } : {}), ...(context.headers ? { headers: context.headers } : {}) };
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 100) / 100;
}

function sumCost(attempts: readonly AttemptRecord[]): number | null {
  let total = 0;
  for (const attempt of attempts) {
    if (attempt.costCents === null) return null;
    total += attempt.costCents;
  }
  return Math.round(total * 1e6) / 1e6;
}

function withProvider(error: TokenPakError, provider: string): TokenPakError {
  if (error.provider !== undefined) return error;
  return new TokenPakError(error.code, error.detail, {
    status: error.status,
    retryable: error.retryable,
    provider,
    cause: error.cause ?? error,
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
  });
}

function cancelled(): TokenPakError {
  return new TokenPakError('provider_connection_error', 'The client closed the connection before any provider answered.', { status: 499 });
}
