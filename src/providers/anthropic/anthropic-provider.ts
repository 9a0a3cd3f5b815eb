/**
 * The Anthropic provider: the Messages API over undici.
 */
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { ChatRequest, ChatResponse, StreamEvent } from '../../canonical/types.ts';
import type { AnthropicProviderSettings } from '../../config/schema.ts';
import { classifyStatus, ProviderError } from '../../errors.ts';
import { redact } from '../http/redact.ts';
import { baseUrlOf, retryOf, timeoutsOf, type HttpProviderOptions } from '../http/settings.ts';
import { createUpstream } from '../http/upstream.ts';
import type { CallOptions, Provider } from '../types.ts';
import { AnthropicStreamDecoder, fromAnthropicResponse, toAnthropicRequest, type AnthropicStreamError } from './translate.ts';

/** Where Anthropic's API is when neither `base_url` nor `ANTHROPIC_BASE_URL` says otherwise. */
export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

/** The message of an Anthropic error body, `{type: "error", error: {type, message}}`. */
export function anthropicErrorMessage(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object') {
    const { message, type } = error as { message?: unknown; type?: unknown };
    if (typeof message === 'string') return typeof type === 'string' ? `${message} (${type})` : message;
  }
  return undefined;
}

/** The HTTP status an `error` event inside a stream stands for. */
const STREAM_ERROR_STATUS: Record<string, number> = {
  overloaded_error: 529,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
};

export function createAnthropicProvider(name: string, settings: AnthropicProviderSettings, options: HttpProviderOptions = {}): Provider {
  const baseUrl = baseUrlOf(name, settings, 'ANTHROPIC_BASE_URL', ANTHROPIC_BASE_URL, options.env);
  const secrets = settings.api_key ? [settings.api_key] : [];
  const upstream = createUpstream({
    provider: name,
    label: 'Anthropic',
    // The SDK's base URL is the host and the API lives under /v1; a base_url that already ends in /v1 is taken as is.
    baseUrl: baseUrl.replace(/\/+$/, '').replace(/(?<!\/v1)$/, '/v1'),
    headers: {
      ...(settings.api_key ? { 'x-api-key': settings.api_key } : {}),
      'anthropic-version': settings.anthropic_version,
      ...settings.headers,
    },
    secrets,
    timeouts: timeoutsOf(settings),
    retry: retryOf(settings),
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    errorMessage: anthropicErrorMessage,
  });
  const who = `Anthropic provider "${name}"`;
  const malformed = (what: string, cause?: unknown) =>
    new ProviderError('provider_error', redact(`${who} sent ${what}`, secrets), { provider: name, status: 502, retryable: true, cause });
  const body = (request: ChatRequest, stream: boolean) => toAnthropicRequest(request, { defaultMaxTokens: settings.default_max_tokens, stream });

  return {
    name,
    type: 'anthropic',

    async complete(request: ChatRequest, call: CallOptions = {}): Promise<ChatResponse> {
      const response = await upstream.post('/messages', body(request, false), call);
      const json = await response.json();
      try {
        return fromAnthropicResponse(json);
      } catch (error) {
        throw malformed(`an answer that is not a message (${(error as Error).message}): ${JSON.stringify(json).slice(0, 200)}`, error);
      }
    },

    async *stream(request: ChatRequest, call: CallOptions = {}): AsyncGenerator<StreamEvent> {
      const response = await upstream.post('/messages', body(request, true), { ...call, accept: 'text/event-stream' });
      const decoder = new AnthropicStreamDecoder();
      for await (const sse of response.events()) {
        // Read on to the end of the body after message_stop, so the connection goes back to the pool.
        if (decoder.stopped) continue;
        let event: RawMessageStreamEvent | AnthropicStreamError | { type: 'ping' };
        try {
          event = JSON.parse(sse.data);
        } catch (error) {
          throw malformed(`a stream event that is not JSON: ${JSON.stringify(sse.data.slice(0, 200))}`, error);
        }
        if (event.type === 'error') {
          // Anthropic reports failures after the headers (overloaded, …) as an `error` event.
          const status = STREAM_ERROR_STATUS[event.error?.type] ?? 500;
          const { code, retryable } = classifyStatus(status);
          throw new ProviderError(code, redact(`${who} failed in the middle of its answer: ${anthropicErrorMessage(event) ?? sse.data.slice(0, 200)}`, secrets), {
            provider: name,
            status,
            retryable,
          });
        }
        if (event.type === 'ping') continue;
        yield* decoder.event(event);
      }
      if (!decoder.stopped) {
        throw new ProviderError('provider_connection_error', `${who} ended the stream before it finished (no message_stop).`, { provider: name, status: 502, retryable: true });
      }
    },

    close: () => upstream.close(),
  };
}
