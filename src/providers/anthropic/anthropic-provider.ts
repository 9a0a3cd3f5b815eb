/**
 * The Anthropic provider: the Messages API over undici.
 */
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { ChatRequest, ChatResponse, StreamEvent } from '../../canonical/types.ts';
import type { AnthropicProviderSettings } from '../../config/schema.ts';
import { classifyStatus, ProviderError } from '../../errors.ts';
import {
  ANTHROPIC_BASE_URL,
  anthropicErrorMessage,
  AnthropicStreamDecoder,
  fromAnthropicResponse,
  statusOfErrorType,
  toAnthropicRequest,
  type AnthropicStreamError,
} from '../../formats/anthropic-messages.ts';
import { redact } from '../../util/redact.ts';
import { baseUrlOf, upstreamSettingsOf, type HttpProviderOptions } from '../http/settings.ts';
import { createUpstream } from '../http/upstream.ts';
import type { CallOptions, Provider } from '../types.ts';

export function createAnthropicProvider(name: string, settings: AnthropicProviderSettings, options: HttpProviderOptions = {}): Provider {
  const baseUrl = baseUrlOf(name, settings, 'ANTHROPIC_BASE_URL', ANTHROPIC_BASE_URL, options.env);
  const shared = upstreamSettingsOf(settings, options);
  const { secrets } = shared;
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
    ...shared,
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
          const status = statusOfErrorType(event.error?.type);
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

    async embed() {
      // Retryable so that a route's next provider (OpenAI, the mock) can answer instead.
      throw new ProviderError('unsupported_endpoint', `${who} cannot answer embeddings: Anthropic has no embeddings API. Route embedding models to an OpenAI or mock provider (Anthropic recommends Voyage AI, which speaks the OpenAI format: a provider of type openai with its base_url).`, {
        provider: name,
        status: 400,
        retryable: true,
      });
    },

    async countTokens(request: ChatRequest, call: CallOptions = {}): Promise<number> {
      // count_tokens takes the Messages body without max_tokens and stream.
      const { max_tokens: _maxTokens, stream: _stream, ...payload } = body(request, false);
      const response = await upstream.post('/messages/count_tokens', payload, call);
      const json = (await response.json()) as { input_tokens?: unknown };
      if (typeof json?.input_tokens !== 'number') throw malformed(`a token count without input_tokens: ${JSON.stringify(json).slice(0, 200)}`);
      return json.input_tokens;
    },

    close: () => upstream.close(),
    connections: () => upstream.connections(),
  };
}
