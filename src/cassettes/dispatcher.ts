/**
 * The seam between a real provider and its API when cassettes are on: an
 * undici dispatcher that answers from cassettes, or passes the request to the
 * network and records the exchange. Everything above it (retries, timeouts,
 * error classification, SSE parsing, translation) runs exactly as it does
 * against the live API, on the recorded bytes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, Dispatcher } from 'undici';
import { TokenPakError } from '../errors.ts';
import type { CassetteSet } from './cassette-set.ts';
import { endpointOf } from './match.ts';
import { eventBytes, splitEvents, type TimedChunk } from './sse-events.ts';
import type { Interaction, ReplayTiming, WireReplay } from './types.ts';

/** The provider a dispatcher serves. */
export interface CassetteProviderInfo {
  /** Configured provider name. */
  name: string;
  /** Connect timeout for recording through the network, in milliseconds. */
  connectTimeoutMs?: number;
}

// Response headers worth keeping: what a client or a retry policy reads. Never cookies or account ids.
const KEPT_HEADERS = /^(content-type|retry-after|retry-after-ms|x-request-id|request-id|openai-processing-ms|openai-version|x-ratelimit-[\w-]+|anthropic-ratelimit-[\w-]+)$/i;

export function createCassetteDispatcher(set: CassetteSet, provider: CassetteProviderInfo): Dispatcher {
  return new CassetteDispatcher(set, provider);
}

class CassetteDispatcher extends Dispatcher {
  readonly #set: CassetteSet;
  readonly #provider: CassetteProviderInfo;
  #network: Dispatcher | undefined;
  #agent: Agent | undefined;

  constructor(set: CassetteSet, provider: CassetteProviderInfo) {
    super();
    this.#set = set;
    this.#provider = provider;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const set = this.#set;
    const requestId = headerOf(options.headers, 'x-tokenpak-request-id');
    const name = set.nameFor(requestId);
    const method = options.method ?? 'GET';
    const path = options.path;
    let body: unknown;
    try {
      body = typeof options.body === 'string' ? JSON.parse(options.body) : undefined;
    } catch {
      body = options.body;
    }
    if (set.mode === 'record') return this.#record(options, handler, name, body);
    const found = set.find(name, method, path, body);
    if (!(found instanceof TokenPakError)) {
      void replay(found.interaction, handler, set.timing, (wire) => requestId !== undefined && set.setWire(requestId, { provider: this.#provider.name, format: wireFormatOf(path), ...wire }));
      return true;
    }
    if (set.mode === 'auto' || set.onMiss === 'record') return this.#record(options, handler, name, body);
    // `fallthrough`: a retryable failure, so the route's next provider answers.
    const error =
      set.onMiss === 'fallthrough'
        ? new TokenPakError('cassette_miss', found.detail, { status: 502, retryable: true, provider: this.#provider.name, cause: found })
        : new TokenPakError('cassette_miss', found.detail, { status: 404, retryable: false, provider: this.#provider.name });
    const controller = new ReplayController(handler);
    queueMicrotask(() => {
      handler.onRequestStart?.(controller, {});
      if (!controller.aborted) handler.onResponseError?.(controller, error);
    });
    return true;
  }

  #record(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, name: string, body: unknown): boolean {
    this.#network ??= (this.#agent = new Agent({
      connect: { timeout: this.#provider.connectTimeoutMs ?? 10_000 },
      keepAliveTimeout: 30_000,
    }));
    const started = performance.now();
    const recorder = new RecordingHandler(handler, started, (response) => {
      const set = this.#set;
      const interaction: Interaction = {
        provider: this.#provider.name,
        origin: String(options.origin ?? ''),
        recorded_at: new Date().toISOString(),
        request: { method: options.method ?? 'GET', path: options.path, body: set.normalize(body) },
        response: {
          ...response,
          headers: Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, set.redactor.text(v)])),
          ...(response.body !== undefined ? { body: set.redactor.text(response.body) } : {}),
          ...(response.events !== undefined ? { events: set.redactor.events(response.events) } : {}),
        },
      };
      set.add(name, interaction).catch((error: unknown) => {
        process.emitWarning(`[tokenpak] could not write cassette "${name}": ${(error as Error).message}`);
      });
    });
    return this.#network.dispatch(options, recorder);
  }

  override async close(): Promise<void> {
    await this.#agent?.close();
  }

  override async destroy(): Promise<void> {
    await this.#agent?.destroy();
  }
}

/** The controller a replayed response hands its handler: abort stops the replay. */
class ReplayController implements Dispatcher.DispatchController {
  #aborted = false;
  #reason: Error | null = null;
  readonly #handler: Dispatcher.DispatchHandler;
  readonly stop = new AbortController();

  constructor(handler: Dispatcher.DispatchHandler) {
    this.#handler = handler;
  }

  get aborted() {
    return this.#aborted;
  }
  get paused() {
    return false;
  }
  get reason() {
    return this.#reason;
  }
  abort(reason: Error) {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.stop.abort(reason);
    this.#handler.onResponseError?.(this, reason);
  }
  // A replay produces small bodies; the consumer buffers them, so pausing is not needed.
  pause() {}
  resume() {}
}

/** Scales a recorded offset by the timing setting. */
export function replayOffset(at: number, timing: ReplayTiming): number {
  if (timing === 'instant') return 0;
  if (timing === 'recorded') return at;
  return at * timing.scale;
}

/** Plays a recorded response into an undici handler, at the recorded (or scaled) times. */
async function replay(
  interaction: Interaction,
  handler: Dispatcher.DispatchHandler,
  timing: ReplayTiming,
  onWire: (wire: Omit<WireReplay, 'provider' | 'format'>) => void,
): Promise<void> {
  const { response } = interaction;
  const controller = new ReplayController(handler);
  const start = performance.now();
  const until = async (at: number) => {
    const wait = start + replayOffset(at, timing) - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: controller.stop.signal });
  };
  try {
    // Handlers expect their callbacks after dispatch() has returned.
    await Promise.resolve();
    handler.onRequestStart?.(controller, {});
    if (controller.aborted) return;
    const headers: Record<string, string> = { ...response.headers };
    if (response.status >= 200 && response.status < 300) {
      onWire({
        startedAt: start,
        status: response.status,
        headers,
        ...(response.body !== undefined ? { body: response.body } : {}),
        ...(response.events !== undefined ? { events: response.events.map((e) => ({ at: replayOffset(e.at, timing), bytes: eventBytes(e) })) } : {}),
        ...(response.cut ? { cut: true } : {}),
      });
    }
    const firstData = response.events?.[0]?.at ?? response.duration_ms;
    await until(Math.min(response.headers_ms ?? firstData, firstData));
    if (controller.aborted) return;
    handler.onResponseStart?.(controller, response.status, headers, '');
    if (response.events) {
      for (const event of response.events) {
        await until(event.at);
        if (controller.aborted) return;
        handler.onResponseData?.(controller, Buffer.from(eventBytes(event)));
      }
    } else if (response.body !== undefined) {
      await until(response.duration_ms);
      if (controller.aborted) return;
      handler.onResponseData?.(controller, Buffer.from(response.body));
    }
    await until(response.duration_ms);
    if (controller.aborted) return;
    if (response.cut) {
      handler.onResponseError?.(controller, Object.assign(new Error('other side closed (as recorded)'), { code: 'UND_ERR_SOCKET' }));
    } else {
      handler.onResponseEnd?.(controller, {});
    }
  } catch (error) {
    if (!controller.aborted) handler.onResponseError?.(controller, error as Error);
  }
}

/** Passes a live exchange through and hands over what it saw when it ends. */
class RecordingHandler implements Dispatcher.DispatchHandler {
  readonly #inner: Dispatcher.DispatchHandler;
  readonly #started: number;
  readonly #done: (response: Interaction['response']) => void;
  readonly #decoder = new TextDecoder();
  readonly #chunks: TimedChunk[] = [];
  #status = 0;
  #headers: Record<string, string> = {};
  #headersMs = 0;
  #stream = false;

  constructor(inner: Dispatcher.DispatchHandler, started: number, done: (response: Interaction['response']) => void) {
    this.#inner = inner;
    this.#started = started;
    this.#done = done;
  }

  #now() {
    return Math.round(performance.now() - this.#started);
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown) {
    this.#inner.onRequestStart?.(controller, context);
  }
  onRequestUpgrade(...args: Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestUpgrade']>>) {
    this.#inner.onRequestUpgrade?.(...args);
  }
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string) {
    if (statusCode >= 200) {
      this.#status = statusCode;
      this.#headersMs = this.#now();
      for (const [key, value] of Object.entries(headers)) {
        if (value !== undefined && KEPT_HEADERS.test(key)) this.#headers[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
      }
      this.#stream = /text\/event-stream/i.test(this.#headers['content-type'] ?? '');
    }
    this.#inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer) {
    this.#chunks.push({ at: this.#now(), text: this.#decoder.decode(chunk, { stream: true }) });
    this.#inner.onResponseData?.(controller, chunk);
  }
  onResponseEnd(controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>) {
    this.#finish(false);
    this.#inner.onResponseEnd?.(controller, trailers);
  }
  onResponseError(controller: Dispatcher.DispatchController, error: Error) {
    // Only an answer that had begun is worth replaying; a refused connection records nothing.
    if (this.#status !== 0) this.#finish(true);
    this.#inner.onResponseError?.(controller, error);
  }

  #finish(cut: boolean) {
    const tail = this.#decoder.decode();
    if (tail) this.#chunks.push({ at: this.#now(), text: tail });
    const duration = this.#now();
    const response: Interaction['response'] = { status: this.#status, headers: this.#headers, headers_ms: this.#headersMs, duration_ms: duration };
    if (this.#stream) {
      const { events } = splitEvents(this.#chunks);
      response.events = events;
    } else {
      response.body = this.#chunks.map((c) => c.text).join('');
    }
    if (cut) response.cut = true;
    this.#done(response);
  }
}

/** The client wire format that speaks an API endpoint's bytes, for byte-for-byte replay. */
function wireFormatOf(path: string): string {
  const endpoint = endpointOf(path);
  if (endpoint.endsWith('/chat/completions')) return 'openai-chat';
  if (endpoint.endsWith('/messages')) return 'anthropic-messages';
  if (endpoint.endsWith('/responses')) return 'openai-responses';
  return endpoint;
}

function headerOf(headers: Dispatcher.DispatchOptions['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
    return undefined;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [key, value] of headers as Iterable<[string, string]>) if (key.toLowerCase() === name) return value;
    return undefined;
  }
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? String(value[0]) : String(value);
  }
  return undefined;
}
