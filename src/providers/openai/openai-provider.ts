/**
 * The OpenAI provider: Chat Completions over undici, for OpenAI itself and any
 * OpenAI-compatible server (Azure OpenAI, OpenRouter, vLLM, Ollama, …) by
 * `base_url`. Streams always ask for usage, so every call can be priced.
 */
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, StreamEvent } from '../../canonical/types.ts';
import type { OpenAIProviderSettings } from '../../config/schema.ts';
import { ProviderError } from '../../errors.ts';
import { fromOpenAIResponse, OPENAI_BASE_URL, openaiErrorMessage, OpenAIStreamDecoder, toOpenAIRequest } from '../../formats/openai-chat.ts';
import { fromOpenAIEmbeddings } from '../../formats/openai-embeddings.ts';
import { toResponsesInputTokensRequest } from '../../formats/openai-responses.ts';
import { redact } from '../../util/redact.ts';
import { baseUrlOf, upstreamSettingsOf, type HttpProviderOptions } from '../http/settings.ts';
import { createUpstream } from '../http/upstream.ts';
import type { CallOptions, Provider } from '../types.ts';

export function createOpenAIProvider(name: string, settings: OpenAIProviderSettings, options: HttpProviderOptions = {}): Provider {
  const baseUrl = baseUrlOf(name, settings, 'OPENAI_BASE_URL', OPENAI_BASE_URL, options.env);
  const shared = upstreamSettingsOf(settings, options);
  const { secrets } = shared;
  const upstream = createUpstream({
    provider: name,
    label: 'OpenAI',
    baseUrl,
    headers: {
      ...(settings.api_key ? { authorization: `Bearer ${settings.api_key}` } : {}),
      ...(settings.organization ? { 'openai-organization': settings.organization } : {}),
      ...(settings.project ? { 'openai-project': settings.project } : {}),
      ...settings.headers,
    },
    ...shared,
    errorMessage: openaiErrorMessage,
  });
  const who = `OpenAI provider "${name}"`;
  const malformed = (what: string, cause?: unknown) =>
    new ProviderError('provider_error', redact(`${who} sent ${what}`, secrets), { provider: name, status: 502, retryable: true, cause });

  return {
    name,
    type: 'openai',

    async complete(request: ChatRequest, call: CallOptions = {}): Promise<ChatResponse> {
      const response = await upstream.post('/chat/completions', toOpenAIRequest(request, false), call);
      const body = await response.json();
      try {
        return fromOpenAIResponse(body);
      } catch (error) {
        throw malformed(`an answer that is not a chat completion (${(error as Error).message}): ${JSON.stringify(body).slice(0, 200)}`, error);
      }
    },

    async *stream(request: ChatRequest, call: CallOptions = {}): AsyncGenerator<StreamEvent> {
      const response = await upstream.post('/chat/completions', toOpenAIRequest(request, true), { ...call, accept: 'text/event-stream' });
      const decoder = new OpenAIStreamDecoder();
      let done = false;
      for await (const event of response.events()) {
        // Read on to the end of the body after [DONE], so the connection goes back to the pool.
        if (done) continue;
        if (event.data === '[DONE]') {
          done = true;
          continue;
        }
        let chunk: ChatCompletionChunk & { error?: unknown };
        try {
          chunk = JSON.parse(event.data);
        } catch (error) {
          throw malformed(`a stream chunk that is not JSON: ${JSON.stringify(event.data.slice(0, 200))}`, error);
        }
        if (chunk.error !== undefined) {
          // OpenAI reports failures after the headers as a data line with an error object.
          throw new ProviderError('provider_error', redact(`${who} failed in the middle of its answer: ${openaiErrorMessage(chunk) ?? event.data.slice(0, 200)}`, secrets), {
            provider: name,
            status: 502,
            retryable: true,
          });
        }
        yield* decoder.chunk(chunk);
      }
      // A stream cut before [DONE] is complete only if both the finish reason and the usage came.
      if (!done && !(decoder.finished && decoder.hasUsage)) {
        throw new ProviderError('provider_connection_error', `${who} ended the stream before it finished (no [DONE]).`, { provider: name, status: 502, retryable: true });
      }
      yield* decoder.end();
    },

    async embed(request: EmbeddingRequest, call: CallOptions = {}): Promise<EmbeddingResponse> {
      // Floats on the wire whatever the client asked for: the client's format renders base64 itself.
      const payload = { model: request.model, input: request.input, encoding_format: 'float', ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}) };
      const response = await upstream.post('/embeddings', payload, call);
      const body = await response.json();
      try {
        return fromOpenAIEmbeddings(body, request.input.length);
      } catch (error) {
        throw malformed(`an answer that is not an embedding list (${(error as Error).message}): ${JSON.stringify(body).slice(0, 200)}`, error);
      }
    },

    async countTokens(request: ChatRequest, call: CallOptions = {}): Promise<number> {
      const response = await upstream.post('/responses/input_tokens', toResponsesInputTokensRequest(request), call);
      const body = (await response.json()) as { input_tokens?: unknown };
      if (typeof body?.input_tokens !== 'number') throw malformed(`a token count without input_tokens: ${JSON.stringify(body).slice(0, 200)}`);
      return body.input_tokens;
    },

    close: () => upstream.close(),
    connections: () => upstream.connections(),
  };
}
