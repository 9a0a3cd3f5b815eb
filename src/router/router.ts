/**
 * The router: a requested model → its route's provider chain. A retryable
 * failure moves on to the next provider; anything else comes back at once.
 * Every attempt is recorded, and every call goes to the call log (records are
 * built by ./recorder.ts).
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
import { estimateInputTokens, estimateOutputTokens } from '../providers/mock/tokens.ts';
import { observerFailed, watchCall, type Admission, type CallAnswer, type CallObserver, type CallWatch, type ObservedCall } from './observer.ts';
import { createRecorder, elapsed, sumCost, type AttemptTarget, type CallResult, type CallStart } from './recorder.ts';

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
  /** Who the client is (an id of its `server.auth` key, never the key), for observers and admission. */
  client?: string;
}

export interface RouterOptions {
  config: Config;
  /** Providers by configured name (disabled ones may be absent). */
  providers: ReadonlyMap<string, Provider>;
  pricer: Pricer;
  log: CallLogStore;
  /** Watch every logged call (metrics, traces, limits' accounting); see ./observer.ts. */
  observers?: readonly CallObserver[];
  /** Lets each call through or refuses it before routing (rate limits, budgets); see ./observer.ts. */
  admit?: Admission;
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
  const { config, providers, pricer, log, observers = [], admit } = options;
  const routes = Object.values(config.models);
  const observing = observers.length > 0;

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

  const recorder = createRecorder({ log, pricer, captureBodies: config.logs.capture_bodies });
  const who = (provider: Provider, target: RouteTarget): AttemptTarget => ({ provider: provider.name, providerType: provider.type, model: target.model });
  const callStart = (requestId: string, request: { model: string }, context: RouteContext, stream: boolean): CallStart => ({
    requestId,
    startedAt: Date.now(),
    started: performance.now(),
    clientFormat: context.clientFormat,
    model: request.model,
    stream,
    ...(context.rawBody !== undefined ? { rawBody: context.rawBody } : {}),
  });

  const observed = (start: CallStart, context: RouteContext): ObservedCall => ({
    requestId: start.requestId,
    startedAt: start.startedAt,
    started: start.started,
    clientFormat: start.clientFormat,
    model: start.model,
    route: Object.hasOwn(config.models, start.model) ? start.model : undefined,
    stream: start.stream,
    headers: context.headers,
    client: context.client,
  });
  /** The observers' watch of a call, or undefined when none watches it (then nothing is timed). */
  const watchOf = (start: CallStart, context: RouteContext, call?: ObservedCall): Watched | undefined => {
    if (!observing) return undefined;
    let watch: CallWatch | undefined;
    try {
      watch = watchCall(observers, call ?? observed(start, context));
    } catch (error) {
      observerFailed(error);
    }
    return watch ? { watch, upstreamMs: 0 } : undefined;
  };
  /** Admission, then the watch: a refused call is logged and watched by the server's refusal path. Without admission, calls skip this `await`. */
  const begin = async (start: CallStart, context: RouteContext): Promise<Watched | undefined> => {
    // One description of the call for admission and the observers alike.
    const call = observed(start, context);
    if (admit) await admit(call);
    return watchOf(start, context, call);
  };
  const finish = (start: CallStart, attempts: AttemptRecord[], result: CallResult, watched: Watched | undefined, answer?: CallAnswer): CallRecord => {
    const call = recorder.finish(start, attempts, result);
    if (watched) {
      try {
        watched.watch.onCallEnd?.(call, { latencyMs: call.latencyMs, ttftMs: call.ttftMs, upstreamMs: Math.round(watched.upstreamMs * 100) / 100 }, answer);
      } catch (error) {
        observerFailed(error);
      }
    }
    return call;
  };

  const router: Router = {
    routes,

    refused(context, error) {
      const start: CallStart = {
        requestId: context.requestId,
        startedAt: context.startedAt,
        started: context.started,
        clientFormat: context.clientFormat,
        model: context.model,
        stream: context.stream,
        ...(context.rawBody !== undefined ? { rawBody: context.rawBody } : {}),
      };
      return finish(start, [], { ok: false, error }, watchOf(start, context));
    },
    resolve,

    async complete(request, context) {
      const route = resolve(request.model);
      const requestId = context.requestId ?? randomUUID();
      const start = callStart(requestId, request, context, false);
      const watched = admit ? await begin(start, context) : watchOf(start, context);
      const attempts: AttemptRecord[] = [];
      const outcome = await alongChain(route, requestId, context, attempts, watched, (provider, target, options) => provider.complete({ ...request, model: target.model }, options));
      if (!outcome.ok) {
        finish(start, attempts, { ok: false, error: outcome.error }, watched);
        throw outcome.error;
      }
      const { value: response, provider, target } = outcome;
      push(attempts, recorder.ok(who(provider, target), response.usage, outcome.started, { warnings: response.warnings }), watched);
      finish(start, attempts, { ok: true, usage: response.usage, responseBody: response }, watched, { model: response.model || target.model, stopReason: response.stopReason });
      return {
        requestId,
        route,
        provider: provider.name,
        upstreamModel: response.model || target.model,
        attempts,
        response,
        costCents: sumCost(attempts),
        latencyMs: elapsed(start.started),
      };
    },

    async stream(request, context) {
      const route = resolve(request.model);
      const requestId = context.requestId ?? randomUUID();
      const start = callStart(requestId, request, context, true);
      const watched = admit ? await begin(start, context) : watchOf(start, context);
      const attempts: AttemptRecord[] = [];
      // An attempt succeeds once its first event has come: until then a failure may move on to the next provider.
      const outcome = await alongChain(route, requestId, context, attempts, watched, async (provider, target, options) => {
        const iterator = provider.stream({ ...request, model: target.model }, options)[Symbol.asyncIterator]();
        const first = await iterator.next();
        if (first.done) throw new TokenPakError('provider_error', `Provider "${provider.name}" ended the stream without sending anything.`, { status: 502, retryable: true, provider: provider.name });
        if (first.value.type === 'error') throw first.value.error;
        return { iterator, first: first.value };
      });
      if (!outcome.ok) {
        finish(start, attempts, { ok: false, error: outcome.error }, watched);
        throw outcome.error;
      }
      const { provider, target, started: attemptStarted } = outcome;
      const { iterator, first: firstEvent } = outcome.value;
      const ttftMs = elapsed(start.started);
      let resolveDone!: (call: CallRecord) => void;
      const done = new Promise<CallRecord>((resolve) => (resolveDone = resolve));
      const events = (async function* (): AsyncGenerator<StreamEvent> {
        const collected = new StreamAccumulator(target.model);
        let failure: TokenPakError | undefined;
        try {
          collected.add(firstEvent);
          yield firstEvent;
          while (!collected.finish) {
            let step: IteratorResult<StreamEvent>;
            const waitedFrom = watched ? performance.now() : 0;
            try {
              step = await iterator.next();
            } catch (thrown) {
              failure = withProvider(toTokenPakError(thrown), provider.name);
              break;
            } finally {
              if (watched) watched.upstreamMs += performance.now() - waitedFrom;
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
          if (finished) {
            push(attempts, recorder.ok(who(provider, target), finished.usage, attemptStarted, { ttftMs, warnings: finished.warnings }), watched);
            const response = collected.response();
            resolveDone(finish(start, attempts, { ok: true, usage: response.usage, ttftMs, responseBody: response }, watched, { model: response.model || target.model, stopReason: response.stopReason }));
          } else {
            // A stream cut short is still paid for up to where it stopped (providers bill what they produced).
            const usage = producedUsage({ ...request, model: target.model }, firstEvent, collected);
            push(attempts, recorder.failed(who(provider, target), failure!, attemptStarted, { ttftMs, usage }), watched);
            resolveDone(finish(start, attempts, { ok: false, error: failure!, usage }, watched));
          }
        }
      })();
      return { requestId, route, provider: provider.name, upstreamModel: target.model, attempts, events, done };
    },

    async embed(request, context) {
      const route = resolve(request.model);
      const requestId = context.requestId ?? randomUUID();
      // Vectors are large and say nothing a reader of the log needs: only the request is kept.
      const start = callStart(requestId, request, context, false);
      const watched = admit ? await begin(start, context) : watchOf(start, context);
      const attempts: AttemptRecord[] = [];
      const outcome = await alongChain(route, requestId, context, attempts, watched, (provider, target, options) =>
        provider.embed ? provider.embed({ ...request, model: target.model }, options) : unsupported(provider, 'embeddings'),
      );
      if (!outcome.ok) {
        finish(start, attempts, { ok: false, error: outcome.error }, watched);
        throw outcome.error;
      }
      const usage = { inputTokens: outcome.value.usage.inputTokens, outputTokens: 0 };
      push(attempts, recorder.ok(who(outcome.provider, outcome.target), usage, outcome.started), watched);
      const call = finish(start, attempts, { ok: true, usage }, watched, { model: outcome.value.model || outcome.target.model, stopReason: undefined });
      return {
        requestId,
        route,
        provider: outcome.provider.name,
        upstreamModel: outcome.value.model || outcome.target.model,
        attempts,
        response: outcome.value,
        costCents: call.costCents,
      };
    },

    async countTokens(request, context) {
      const route = resolve(request.model);
      const requestId = context.requestId ?? randomUUID();
      const attempts: AttemptRecord[] = [];
      const outcome = await alongChain(route, requestId, context, attempts, undefined, (provider, target, options) =>
        provider.countTokens ? provider.countTokens({ ...request, model: target.model }, options) : unsupported(provider, 'token counting'),
      );
      if (!outcome.ok) throw outcome.error;
      attempts.push(recorder.ok(who(outcome.provider, outcome.target), { inputTokens: 0, outputTokens: 0 }, outcome.started));
      return { requestId, route, provider: outcome.provider.name, upstreamModel: outcome.target.model, attempts, inputTokens: outcome.value };
    },
  };
  return router;

  /**
   * The one attempt loop, for answers, streams, embeddings and token counts: tries `call` on
   * each provider of the route in turn until one succeeds or one fails for good (not
   * retryable), or the client goes away. Each failure is added to `attempts`; the caller
   * records the success, since a stream's ends only when the stream does.
   */
  async function alongChain<T>(
    route: ResolvedRoute,
    requestId: string,
    context: RouteContext,
    attempts: AttemptRecord[],
    watched: Watched | undefined,
    call: (provider: Provider, target: RouteTarget, options: CallOptions) => Promise<T>,
  ): Promise<{ ok: true; value: T; provider: Provider; target: RouteTarget; started: number } | { ok: false; error: RoutingError }> {
    let last: TokenPakError | undefined;
    for (const target of route.chain) {
      if (context.signal?.aborted) break;
      const provider = providerFor(target);
      // A provider that retries by itself reports each failed try, which becomes its own failed
      // attempt with the wait after it; the next try's time starts once that wait is over.
      const clock = { started: performance.now() };
      const tryStarts = (started: number) => {
        try {
          return watched?.watch.onAttemptStart?.({ ...who(provider, target), index: attempts.length, started });
        } catch (error) {
          observerFailed(error);
          return undefined;
        }
      };
      const upstreamHeaders = watched ? tryStarts(clock.started) : undefined;
      const options: CallOptions = {
        ...callOptions(requestId, context),
        ...(upstreamHeaders ? { upstreamHeaders } : {}),
        onRetry: ({ error, waitMs }) => {
          push(attempts, { ...recorder.failed(who(provider, target), withProvider(error, provider.name), clock.started), waitMs }, watched);
          clock.started = performance.now() + waitMs;
          if (watched) tryStarts(clock.started);
        },
      };
      // Every try at this provider and the waits between them are time spent on the upstream.
      const providerStarted = clock.started;
      try {
        const value = await call(provider, target, options);
        if (watched) watched.upstreamMs += performance.now() - providerStarted;
        return { ok: true, value, provider, target, started: clock.started };
      } catch (thrown) {
        if (watched) watched.upstreamMs += performance.now() - providerStarted;
        last = withProvider(toTokenPakError(thrown), provider.name);
        push(attempts, recorder.failed(who(provider, target), last, clock.started), watched);
        if (!last.retryable) break;
      }
    }
    return { ok: false, error: new RoutingError(last ?? cancelled(), attempts, route.name, requestId) };
  }
}

/** A call that observers watch, with the time it has spent waiting on providers so far. */
interface Watched {
  watch: CallWatch;
  upstreamMs: number;
}

/** Adds a finished try to the call's attempts and tells the observers. */
function push(attempts: AttemptRecord[], record: AttemptRecord, watched: Watched | undefined): void {
  attempts.push(record);
  if (!watched) return;
  try {
    watched.watch.onAttemptEnd?.(record, attempts.length - 1);
  } catch (error) {
    observerFailed(error);
  }
}

/**
 * The usage of a stream that ended before its final event: the input tokens
 * as the provider reported them up front (Anthropic's `message_start`), or
 * counted from the request; the output tokens counted from what was streamed
 * (the tokenizer for OpenAI-family models, the estimate for others).
 */
function producedUsage(request: ChatRequest, first: StreamEvent, collected: StreamAccumulator): Usage {
  const reported = first.type === 'start' ? first.inputTokens : undefined;
  return {
    inputTokens: reported ?? estimateInputTokens(request),
    outputTokens: estimateOutputTokens(collected.response().content, request.model),
  };
}

/** A provider without the endpoint: a retryable failure, so the next provider of the chain is tried. */
function unsupported(provider: Provider, what: string): never {
  throw new TokenPakError('unsupported_endpoint', `Provider "${provider.name}" (type ${provider.type}) does not offer ${what}. Route this model to a provider that does.`, { status: 400, retryable: true, provider: provider.name });
}

function callOptions(requestId: string, context: RouteContext): CallOptions {
  return { requestId, ...(context.signal ? { signal: context.signal } : {}), ...(context.headers ? { headers: context.headers } : {}) };
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
