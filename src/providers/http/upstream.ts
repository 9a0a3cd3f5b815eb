/**
 * The HTTP client every real provider uses to reach its API: one keep-alive
 * undici Pool per provider, the provider's timeouts, and retries with
 * exponential backoff and jitter that honour `retry-after`. A call that
 * succeeds at once costs one plain `Pool.request` (no retry interceptor, no
 * timer, no AbortController: the profile found those at about 15% of a
 * gateway call); the retry loop runs only after a failure. Failures come out
 * as ProviderErrors whose code, status and retryability the router acts on;
 * their messages carry the upstream's own error message, never a request
 * header or a key.
 */
import type { Dispatcher, Pool } from 'undici';
import { CallScope } from './call-scope.ts';
import { classifyStatus, ProviderError, TokenPakError, type TokenPakErrorCode } from '../../errors.ts';
import { parseSSE, type ParsedSSE } from '../../formats/sse.ts';
import type { CallOptions, UpstreamConnections } from '../types.ts';
import { INSTANCE_ID, LOOP_HEADER } from '../../util/loop.ts';
import { redact } from '../../util/redact.ts';
import { backoffMs, RETRYABLE_ERROR_CODES, RETRYABLE_STATUSES, retryAfterMs, type RetryPolicy } from './retry.ts';

/** Time limits of upstream calls, in milliseconds. */
export interface UpstreamTimeouts {
  /** To open the TCP (and TLS) connection. */
  connectMs: number;
  /** From sending the request to the response headers. A non-streaming answer's headers come only once it is complete. */
  firstByteMs: number;
  /** Longest silence between two pieces of the response body (stream chunks). */
  idleMs: number;
  /** The whole call, retries and the full stream included. */
  totalMs: number;
}

export interface UpstreamOptions {
  /** Configured provider name, for errors and attempts. */
  provider: string;
  /** Who the upstream is, for messages: `OpenAI`, `Anthropic`. */
  label: string;
  /** The API's base URL, for example `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Headers sent with every request (authentication included). */
  headers: Record<string, string>;
  /** Values that must never appear in an error message (the API key). */
  secrets: readonly string[];
  timeouts: UpstreamTimeouts;
  retry: RetryPolicy;
  /** Largest answer read, in bytes (default 32 MiB); past it the call fails with a 502 `provider_error`. */
  maxResponseBytes?: number;
  /** An undici dispatcher to send through instead of a Pool of our own (tests, proxies). Not closed by {@link Upstream.close}. */
  dispatcher?: Dispatcher;
  /** The human-readable message of an error response body, in the upstream's own format. */
  errorMessage(body: unknown): string | undefined;
}

/** A successful (2xx) upstream response whose body has not been read yet. */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as JSON; a body that is not JSON is a retryable `provider_error`. */
  json(): Promise<unknown>;
  /** The body as server-sent events. Stopping early closes the connection. */
  events(): AsyncGenerator<ParsedSSE>;
}

export interface Upstream {
  /** `https://api.openai.com`: where the pool connects. */
  readonly origin: string;
  /** POSTs JSON to `path` under the base URL. Rejects with a ProviderError for non-2xx answers and network failures. */
  post(path: string, payload: unknown, call?: CallOptions & { accept?: string }): Promise<UpstreamResponse>;
  /** Closes the pool's connections. */
  close(): Promise<void>;
  /** The pool's connections now (all zero before the first call, or with a dispatcher given in the options). */
  connections(): UpstreamConnections;
}

// Upstream error bodies are small; a huge one is read only this far.
const ERROR_BODY_LIMIT = 64 * 1024;

export function createUpstream(options: UpstreamOptions): Upstream {
  const base = new URL(options.baseUrl);
  const origin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, '');
  const { provider, label, timeouts, retry } = options;
  const who = `${label} provider "${provider}"`;
  const clean = (text: string) => redact(text, options.secrets);
  const maxBytes = options.maxResponseBytes ?? 32 * 1024 * 1024;
  const tooLarge = () =>
    new ProviderError('provider_error', `${who} sent an answer larger than ${maxBytes} bytes (providers.${provider}.max_response_bytes); it was dropped. Raise max_response_bytes if answers this large are expected.`, {
      provider,
      status: 502,
      retryable: false,
    });
  /** The body's chunks, failing once they add up to more than the limit (the connection is then closed). */
  async function* bounded(body: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Uint8Array).byteLength;
      if (size > maxBytes) throw tooLarge();
      yield chunk as Uint8Array;
    }
  }

  // undici is loaded on the first upstream call, not at import: a mock-only
  // proxy (and every Vitest test file) never pays for it.
  let owned: Pool | undefined;
  let dispatcher: Dispatcher | undefined;
  let loading: Promise<Dispatcher> | undefined;
  const getDispatcher = () =>
    (loading ??= import('undici').then(({ Pool }) => {
      dispatcher = options.dispatcher ?? (owned = new Pool(origin, { connectTimeout: timeouts.connectMs, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 }));
      return dispatcher;
    }));

  /** Turns whatever undici or the body threw into a ProviderError. */
  const failure = (error: unknown, call: CallOptions, scope: CallScope, tries: number, phase: 'request' | 'body'): TokenPakError => {
    if (TokenPakError.is(error)) return error;
    if (call.signal?.aborted) {
      return new ProviderError('provider_connection_error', `Call to ${who} was cancelled: the client went away.`, { provider, status: 499, retryable: false, cause: error });
    }
    const after = tries > 1 ? ` (after ${tries} tries)` : '';
    const timeout = (message: string) => new ProviderError('provider_timeout', `${who} ${message}${after}.`, { provider, status: 504, retryable: true, cause: error });
    if (scope.timedOut) return timeout(`did not finish within ${timeouts.totalMs} ms (timeout_ms). Raise providers.${provider}.timeout_ms for long answers`);
    const code = (error as { code?: string }).code ?? '';
    switch (code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
        return timeout(`could not connect to ${origin} within ${timeouts.connectMs} ms (connect_timeout_ms)`);
      case 'UND_ERR_HEADERS_TIMEOUT':
        return timeout(`sent no response within ${timeouts.firstByteMs} ms (first_byte_timeout_ms)`);
      case 'UND_ERR_BODY_TIMEOUT':
        return timeout(`stopped sending for more than ${timeouts.idleMs} ms in the middle of its answer (idle_timeout_ms)`);
    }
    const reason =
      code === 'ECONNREFUSED'
        ? `refused the connection at ${origin}. Check providers.${provider}.base_url`
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? `cannot be reached: the host of ${origin} does not resolve. Check providers.${provider}.base_url`
          : phase === 'body'
            ? `closed the connection in the middle of its answer (${code || (error as Error).message})`
            : `closed the connection before answering (${code || (error as Error).message})`;
    return new ProviderError('provider_connection_error', clean(`${who} ${reason}${after}.`), { provider, status: 502, retryable: true, cause: error });
  };

  /** The failure of one try that is about to be retried: a network error, or a status (its body is not read). */
  const tryError = (failed: unknown, status: number | undefined, call: CallOptions, scope: CallScope, waitMs: number): TokenPakError => {
    const retrying = ` Retrying in ${waitMs} ms.`;
    if (status === undefined) {
      const error = failure(failed, call, scope, 1, 'request');
      return new ProviderError(error.code, `${error.detail}${retrying}`, { provider, status: error.status, retryable: true, cause: failed });
    }
    const { code } = classifyStatus(status);
    return new ProviderError(code, `${who} answered HTTP ${status}.${retrying}`, { provider, status, retryable: true });
  };

  /**
   * The wait before another try after a retryable failure (a status or a
   * network error code), or undefined when there is to be none: retries used
   * up, the call over, a `retry-after` longer than `retry_max_ms` (better
   * spent at the next provider), or a wait past the call's deadline.
   */
  const retryWait = (tries: number, status: number | undefined, code: string | undefined, headers: Record<string, string | string[] | undefined> | undefined, scope: CallScope): number | undefined => {
    if (tries > retry.maxRetries || scope.cancelled) return undefined;
    const retryable = status !== undefined ? RETRYABLE_STATUSES.includes(status) : RETRYABLE_ERROR_CODES.has(code ?? '');
    if (!retryable) return undefined;
    const asked = status !== undefined ? retryAfterMs(headers) : undefined;
    if (asked !== undefined && asked > retry.maxMs) return undefined;
    const wait = asked ?? backoffMs(retry, tries);
    return Date.now() + wait >= scope.deadlineAt ? undefined : wait;
  };

  const statusError = async (status: number, headers: Record<string, string | string[] | undefined>, body: Dispatcher.ResponseData['body'], tries: number): Promise<ProviderError> => {
    let text = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        text += decoder.decode(chunk as Uint8Array, { stream: true });
        if (text.length >= ERROR_BODY_LIMIT) break;
      }
    } catch {
      // The status says enough; a body cut short adds nothing.
    }
    body.destroy();
    let message: string | undefined;
    try {
      message = options.errorMessage(JSON.parse(text));
    } catch {
      message = text.trim().slice(0, 500) || undefined;
    }
    const { code, retryable } = classifyStatus(status);
    const waitMs = retryAfterMs(headers);
    const after = tries > 1 ? ` after ${tries} tries` : '';
    const fix = FIXES[code]?.(provider) ?? '';
    return new ProviderError(code, clean(`${who} answered HTTP ${status}${after}: ${message ?? '(no error message)'}${fix}`), {
      provider,
      status,
      retryable,
      ...(waitMs !== undefined ? { retryAfterSeconds: Math.ceil(waitMs / 1000), retryAfterMs: waitMs } : {}),
    });
  };

  return {
    origin,

    connections() {
      if (!owned) return { open: 0, inUse: 0, queued: 0 };
      const { connected, free, pending } = owned.stats;
      return { open: connected, inUse: connected - free, queued: pending };
    },

    async post(path, payload, call = {}) {
      const scope = new CallScope(timeouts.totalMs, call.signal);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: call.accept ?? 'application/json',
        ...(call.requestId ? { 'x-tokenpak-request-id': call.requestId } : {}),
        [LOOP_HEADER]: INSTANCE_ID,
        // The call observers' headers (a trace's traceparent); a provider's configured headers still win.
        ...call.upstreamHeaders,
        ...options.headers,
      };
      const request: Dispatcher.RequestOptions = {
        origin,
        path: basePath + path + base.search,
        method: 'POST',
        headers,
        body: JSON.stringify(payload),
        // undici takes any object with addEventListener as a signal (its types name only AbortSignal and EventEmitter).
        signal: scope as unknown as AbortSignal,
        headersTimeout: timeouts.firstByteMs,
        bodyTimeout: timeouts.idleMs,
      };
      const send = dispatcher ?? (await getDispatcher());
      let tries = 1;
      let response: Dispatcher.ResponseData;
      for (;;) {
        try {
          // The scope is no AbortSignal (undici cannot see that it already ended): a call over before a try is not sent.
          if (scope.cancelled) throw scope.reason;
          response = await send.request(request);
        } catch (error) {
          const wait = retryWait(tries, undefined, (error as { code?: string }).code, undefined, scope);
          if (wait === undefined) {
            scope.dispose();
            throw failure(error, call, scope, tries, 'request');
          }
          // Each try is its own attempt in the call log, with the wait that follows it.
          call.onRetry?.({ error: tryError(error, undefined, call, scope, wait), waitMs: wait });
          tries++;
          await scope.pause(wait);
          continue;
        }
        const wait = response.statusCode >= 200 && response.statusCode < 300 ? undefined : retryWait(tries, response.statusCode, undefined, response.headers, scope);
        if (wait === undefined) break;
        // Read what the failed try sent, so that its connection is kept for the next one.
        void response.body.dump({ limit: ERROR_BODY_LIMIT }).catch(() => {});
        call.onRetry?.({ error: tryError(undefined, response.statusCode, call, scope, wait), waitMs: wait });
        tries++;
        await scope.pause(wait);
      }
      const { statusCode: status, headers: responseHeaders, body } = response;
      if (status < 200 || status >= 300) {
        const error = await statusError(status, responseHeaders, body, tries);
        scope.dispose();
        throw error;
      }

      return {
        status,
        headers: responseHeaders,
        async json() {
          let text: string;
          try {
            const chunks: Uint8Array[] = [];
            for await (const chunk of bounded(body)) chunks.push(chunk);
            text = Buffer.concat(chunks).toString('utf8');
          } catch (error) {
            body.destroy();
            throw failure(error, call, scope, tries, 'body');
          } finally {
            scope.dispose();
          }
          try {
            return JSON.parse(text);
          } catch {
            throw new ProviderError('provider_error', clean(`${who} answered HTTP ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))}`), { provider, status: 502, retryable: true });
          }
        },
        async *events() {
          try {
            yield* parseSSE(bounded(body));
          } catch (error) {
            throw failure(error, call, scope, tries, 'body');
          } finally {
            scope.dispose();
            if (!body.destroyed) body.destroy();
          }
        },
      };
    },

    async close() {
      await owned?.close();
    },
  };
}

const FIXES: Partial<Record<TokenPakErrorCode, (provider: string) => string>> = {
  provider_auth_error: (provider) => ` Check providers.${provider}.api_key (TokenPak's key for this provider, not the client's).`,
};
