/**
 * What the OpenAI provider sends upstream and how it reads the answers, seen
 * from a fake OpenAI server over a real socket.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatRequest, StreamEvent } from '../../src/canonical/types.ts';
import { openaiProviderSchema } from '../../src/config/schema.ts';
import { TokenPakError } from '../../src/errors.ts';
import { createOpenAIProvider } from '../../src/providers/openai/openai-provider.ts';
import type { Provider } from '../../src/providers/types.ts';
import { createFakeOpenAI, FAKE_OPENAI_KEY, fixture, fixtureJson, replies, type FakeUpstream } from '../support/fake-upstream.ts';
import { ask, openaiAgainst } from '../support/http-providers.ts';
import { collectEvents, rejectionOf } from './provider-contract.ts';

let fake: FakeUpstream;
let provider: Provider;

beforeEach(async () => {
  fake = await createFakeOpenAI();
  provider = openaiAgainst(fake, { organization: 'org-team', project: 'proj_123', headers: { 'x-extra': 'yes' } });
});
afterEach(async () => {
  await provider.close?.();
  await fake.close();
});

const WEATHER = { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

const conversation: ChatRequest = {
  model: 'gpt-4',
  system: 'You are terse.',
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
    { role: 'assistant', content: [{ type: 'tool-call', id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
    { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', content: '18°C, sunny' }] },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'And this picture?' },
        { type: 'image', url: 'https://example.com/cat.png' },
      ],
    },
  ],
  maxTokens: 300,
  temperature: 0.2,
  topP: 0.9,
  stop: ['END'],
  tools: [WEATHER],
  toolChoice: { type: 'tool', name: 'get_weather' },
  responseFormat: { type: 'json_object' },
};

describe('OpenAI provider: the request sent upstream', () => {
  it('is a Chat Completions body with every canonical field in its OpenAI form', async () => {
    await provider.complete(conversation, { requestId: 'req-42' });
    const [request] = fake.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/v1/chat/completions');
    expect(request!.body).toEqual({
      model: 'gpt-4',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C, sunny' },
        { role: 'user', content: [{ type: 'text', text: 'And this picture?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
      ],
      max_tokens: 300,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END'],
      tools: [{ type: 'function', function: WEATHER }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      response_format: { type: 'json_object' },
    });
  });

  it('carries the key, organization, project and configured headers, and TokenPak request id', async () => {
    await provider.complete(ask('hi'), { requestId: 'req-42' });
    const headers = fake.requests[0]!.headers;
    expect(headers.authorization).toBe(`Bearer ${FAKE_OPENAI_KEY}`);
    expect(headers['openai-organization']).toBe('org-team');
    expect(headers['openai-project']).toBe('proj_123');
    expect(headers['x-extra']).toBe('yes');
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-tokenpak-request-id']).toBe('req-42');
  });

  it('asks streams for usage, so that every stream can be priced', async () => {
    await collectEvents(provider.stream(ask('hi')));
    expect(fake.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(fake.requests[0]!.headers.accept).toBe('text/event-stream');
  });

  it('gives reasoning models max_completion_tokens and leaves out the sampling parameters they reject', async () => {
    await provider.complete(ask('hi', { model: 'o3-mini', maxTokens: 50, temperature: 0.7, topP: 0.5 }));
    await provider.complete(ask('hi', { model: 'gpt-5-mini', maxTokens: 60 }));
    expect(fake.requests[0]!.body).toEqual({ model: 'o3-mini', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 50 });
    expect(fake.requests[1]!.body).toMatchObject({ model: 'gpt-5-mini', max_completion_tokens: 60 });
    expect(fake.requests[1]!.body).not.toHaveProperty('max_tokens');
  });

  it('names a JSON schema that came without a name (OpenAI requires one)', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    await provider.complete(ask('hi', { responseFormat: { type: 'json_schema', schema, strict: true } }));
    expect(fake.requests[0]!.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema, strict: true } });
  });

  it('puts tool results that came inside a user message (Anthropic style) ahead of its text', async () => {
    await provider.complete({
      model: 'gpt-4',
      messages: [
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool-call', id: 'call_9', name: 'get_weather', arguments: '{}' }] },
        { role: 'user', content: [{ type: 'text', text: 'Thanks!' }, { type: 'tool-result', toolCallId: 'call_9', content: 'rain', isError: false }] },
      ],
    });
    expect(fake.requests[0]!.body.messages).toEqual([
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_9', content: 'rain' },
      { role: 'user', content: 'Thanks!' },
    ]);
  });

  it('keeps the path and query of base_url (Azure OpenAI, proxies)', async () => {
    const azure = createOpenAIProvider(
      'azure',
      openaiProviderSchema.parse({ type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: `${fake.url}/openai/deployments/gpt4?api-version=2024-10-21`, max_retries: 0 }),
    );
    const error = await rejectionOf(azure.complete(ask('hi')));
    await azure.close?.();
    expect(fake.requests[0]!.path).toBe('/openai/deployments/gpt4/chat/completions?api-version=2024-10-21');
    // The fake answers only OpenAI's own path: its 404 body comes back as a client error.
    expect(error).toMatchObject({ status: 404, retryable: false });
    expect((error as Error).message).toContain('Invalid URL');
  });
});

describe('OpenAI provider: base URL', () => {
  it('defaults to OPENAI_BASE_URL when base_url is not set, as the SDKs do', async () => {
    const settings = openaiProviderSchema.parse({ type: 'openai', api_key: FAKE_OPENAI_KEY });
    const fromEnv = createOpenAIProvider('openai', settings, { env: { OPENAI_BASE_URL: fake.baseUrl } });
    const answer = await fromEnv.complete(ask('hi'));
    await fromEnv.close?.();
    expect(answer.content).toEqual([{ type: 'text', text: fixtureJson('openai-chat-text.json').choices[0].message.content }]);
    expect(fake.requests).toHaveLength(1);
  });

  it('rejects an OPENAI_BASE_URL that is not a URL when the provider is created', () => {
    const settings = openaiProviderSchema.parse({ type: 'openai', api_key: FAKE_OPENAI_KEY });
    expect(() => createOpenAIProvider('openai', settings, { env: { OPENAI_BASE_URL: 'localhost:8080' } })).toThrow(
      /Provider "openai" takes its base URL from OPENAI_BASE_URL, which is "localhost:8080": not an absolute http\(s\) URL/,
    );
  });
});

describe('OpenAI provider: reading answers', () => {
  it('reads tool calls, the finish reason and usage with cached prompt tokens', async () => {
    const body = fixtureJson('openai-chat-tool.json');
    body.usage.prompt_tokens_details.cached_tokens = 64;
    fake.reply(replies.status(200, body));
    const answer = await provider.complete(ask('weather?', { tools: [WEATHER] }));
    expect(answer).toEqual({
      id: body.id,
      model: 'gpt-4-0613',
      content: [{ type: 'tool-call', id: 'call_Xq2r8LmPz4Tn7VbK1sWd9HcF', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius","days":3}' }],
      stopReason: 'tool-calls',
      usage: { inputTokens: 88, outputTokens: 24, cachedInputTokens: 64 },
    });
  });

  it('maps finish_reason length and content_filter', async () => {
    for (const [reason, expected] of [['length', 'length'], ['content_filter', 'content-filter']] as const) {
      const body = fixtureJson('openai-chat-text.json');
      body.choices[0].finish_reason = reason;
      fake.reply(replies.status(200, body));
      expect((await provider.complete(ask('hi'))).stopReason).toBe(expected);
    }
  });

  it('streams text deltas, then finish with the usage of the last chunk', async () => {
    const events = await collectEvents(provider.stream(ask('hi')));
    const finish = events.at(-1) as Extract<StreamEvent, { type: 'finish' }>;
    expect(events[0]).toEqual({ type: 'start', id: 'chatcmpl-CLk2ZbW7sD1qG5hN0mKjRt3yUe6Vo', model: 'gpt-4' });
    expect(finish).toEqual({ type: 'finish', stopReason: 'stop', usage: { inputTokens: 26, outputTokens: 15 } });
  });

  it('streams a tool call as start, argument deltas and end', async () => {
    fake.reply(replies.answer('openai-chat-tool'));
    const events = await collectEvents(provider.stream(ask('weather?', { tools: [WEATHER] })));
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('start');
    expect(types[1]).toBe('tool-call-start');
    expect(types.slice(-2)).toEqual(['tool-call-end', 'finish']);
    expect(events[1]).toEqual({ type: 'tool-call-start', index: 0, id: 'call_Xq2r8LmPz4Tn7VbK1sWd9HcF', name: 'get_weather' });
    const args = events.flatMap((e) => (e.type === 'tool-call-delta' ? [e.argumentsDelta] : [])).join('');
    expect(JSON.parse(args)).toEqual({ city: 'Paris', unit: 'celsius', days: 3 });
  });

  it('accepts a stream without [DONE] from a compatible server once finish and usage came', async () => {
    fake.reply({ kind: 'sse', text: fixture('openai-chat-text.sse.txt').replace('data: [DONE]\n\n', '') });
    const events = await collectEvents(provider.stream(ask('hi')));
    expect(events.at(-1)).toMatchObject({ type: 'finish', usage: { inputTokens: 26, outputTokens: 15 } });
  });

  it('fails a stream that ends before its finish reason, after what it sent', async () => {
    fake.reply({ kind: 'sse', text: fixture('openai-chat-text.sse.txt').split('\n\n').slice(0, 5).join('\n\n') + '\n\n' });
    const seen: string[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const event of provider.stream(ask('hi'))) seen.push(event.type);
      })(),
    );
    expect(seen[0]).toBe('start');
    expect(seen).toContain('text-delta');
    expect(error).toBeInstanceOf(TokenPakError);
    expect(error).toMatchObject({ code: 'provider_connection_error', retryable: true });
    expect((error as Error).message).toContain('ended the stream before it finished');
  });

  it('raises an error object sent inside the stream', async () => {
    const text = fixture('openai-chat-text.sse.txt').split('\n\n').slice(0, 3).join('\n\n');
    fake.reply({ kind: 'sse', text: `${text}\n\ndata: {"error":{"message":"The model produced invalid content.","type":"model_error","code":null}}\n\n` });
    const error = await rejectionOf(collectEvents(provider.stream(ask('hi'))));
    expect((error as Error).message).toContain('failed in the middle of its answer: The model produced invalid content. (model_error)');
  });
});
