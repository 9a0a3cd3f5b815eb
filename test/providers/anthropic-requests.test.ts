/**
 * What the Anthropic provider sends upstream and how it reads answers and
 * faults, seen from a fake Anthropic server over a real socket.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatRequest, StreamEvent } from '../../src/canonical/types.ts';
import { anthropicProviderSchema } from '../../src/config/schema.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic/anthropic-provider.ts';
import type { Provider } from '../../src/providers/types.ts';
import { createFakeAnthropic, FAKE_ANTHROPIC_KEY, fixture, fixtureJson, replies, type FakeUpstream } from '../support/fake-upstream.ts';
import { anthropicAgainst, ask } from '../support/http-providers.ts';
import { collectEvents, rejectionOf } from './provider-contract.ts';

let fake: FakeUpstream;
let provider: Provider;

beforeEach(async () => {
  fake = await createFakeAnthropic();
  provider = anthropicAgainst(fake, { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } });
});
afterEach(async () => {
  await provider.close?.();
  await fake.close();
});

const WEATHER = { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
const TEXT: string = fixtureJson('anthropic-messages-text.json').content[0].text;

describe('Anthropic provider: the request sent upstream', () => {
  it('is a Messages body: system apart, tool calls and results as blocks, tool turns merged into user turns', async () => {
    const request: ChatRequest = {
      model: 'claude-sonnet-4-5',
      system: 'You are terse.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool-call', id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          ],
        },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'toolu_1', content: '18°C, sunny' }] },
        { role: 'user', content: [{ type: 'text', text: 'And this?' }, { type: 'image', url: 'data:image/png;base64,iVBORw0KGgo=' }] },
      ],
      maxTokens: 300,
      temperature: 1.6,
      topP: 0.9,
      stop: ['END'],
      tools: [WEATHER],
      toolChoice: { type: 'required' },
    };
    await provider.complete(request);
    const [sent] = fake.requests;
    expect(sent!.path).toBe('/v1/messages');
    expect(sent!.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 300,
      system: 'You are terse.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C, sunny' },
            { type: 'text', text: 'And this?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
      ],
      // Anthropic's range is 0 to 1: an OpenAI client's 1.6 is sent as 1.
      temperature: 1,
      top_p: 0.9,
      stop_sequences: ['END'],
      tools: [{ name: 'get_weather', description: 'Weather for a city', input_schema: WEATHER.parameters }],
      tool_choice: { type: 'any' },
    });
  });

  it('carries x-api-key, anthropic-version and configured headers', async () => {
    await provider.complete(ask('hi', { model: 'claude-3-5-haiku-latest' }));
    const headers = fake.requests[0]!.headers;
    expect(headers['x-api-key']).toBe(FAKE_ANTHROPIC_KEY);
    expect(headers['anthropic-version']).toBe('2023-06-01');
    expect(headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(headers.authorization).toBeUndefined();
  });

  it('sends default_max_tokens when the client gave none, and the dated id for the recipe name claude-3-sonnet', async () => {
    await provider.complete(ask('hi', { model: 'claude-3-sonnet' }));
    expect(fake.requests[0]!.body).toEqual({ model: 'claude-3-sonnet-20240229', max_tokens: 4096, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
  });

  it('leaves sampling parameters out for models that reject them', async () => {
    await provider.complete(ask('hi', { model: 'claude-sonnet-5-5', temperature: 0.3, topP: 0.5 }));
    expect(fake.requests[0]!.body).not.toHaveProperty('temperature');
    expect(fake.requests[0]!.body).not.toHaveProperty('top_p');
  });

  it('asks for JSON in the system prompt (Anthropic has no JSON mode), with the schema when given', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } } };
    await provider.complete(ask('hi', { model: 'claude-3-5-sonnet-latest', system: 'Be brief.', responseFormat: { type: 'json_schema', schema } }));
    expect(fake.requests[0]!.body.system).toBe(`Be brief.\n\nAnswer with one JSON object and nothing else (no prose, no code fences) that matches this JSON Schema:\n${JSON.stringify(schema)}`);
  });

  it('keeps a base_url that already ends in /v1', async () => {
    const withV1 = createAnthropicProvider('anthropic', anthropicProviderSchema.parse({ type: 'anthropic', api_key: FAKE_ANTHROPIC_KEY, base_url: `${fake.url}/v1/` }));
    await withV1.complete(ask('hi'));
    await withV1.close?.();
    expect(fake.requests[0]!.path).toBe('/v1/messages');
  });

  it('defaults to ANTHROPIC_BASE_URL when base_url is not set', async () => {
    const fromEnv = createAnthropicProvider('anthropic', anthropicProviderSchema.parse({ type: 'anthropic', api_key: FAKE_ANTHROPIC_KEY }), { env: { ANTHROPIC_BASE_URL: fake.url } });
    await fromEnv.complete(ask('hi'));
    await fromEnv.close?.();
    expect(fake.requests).toHaveLength(1);
  });
});

describe('Anthropic provider: reading answers', () => {
  it('reads text and tool_use blocks, stop reason and usage', async () => {
    fake.reply(replies.answer('anthropic-messages-tool'));
    const answer = await provider.complete(ask('weather?', { model: 'claude-3-sonnet', tools: [WEATHER] }));
    expect(answer).toEqual({
      id: 'msg_01Kq7Wn4bY2zT9vR6sM1pL3x',
      model: 'claude-3-sonnet-20240229',
      content: [
        { type: 'text', text: "I'll look up the forecast for Paris." },
        { type: 'tool-call', id: 'toolu_01A7fG3hJ9kL2mN5pQ8rS4tV', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius","days":3}' },
      ],
      stopReason: 'tool-calls',
      usage: { inputTokens: 402, outputTokens: 71 },
    });
  });

  it('counts cache reads and writes as input, with the reads as cached input', async () => {
    const body = fixtureJson('anthropic-messages-text.json');
    Object.assign(body.usage, { input_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200 });
    fake.reply(replies.status(200, body));
    expect((await provider.complete(ask('hi'))).usage).toEqual({ inputTokens: 1210, outputTokens: 17, cachedInputTokens: 1000 });
  });

  it('reports the stop sequence that ended the answer', async () => {
    const body = fixtureJson('anthropic-messages-text.json');
    Object.assign(body, { stop_reason: 'stop_sequence', stop_sequence: 'END' });
    fake.reply(replies.status(200, body));
    expect(await provider.complete(ask('hi'))).toMatchObject({ stopReason: 'stop', stopSequence: 'END' });
  });

  it('streams message_start (with input tokens), text deltas and finish with the final usage', async () => {
    const events = await collectEvents(provider.stream(ask('hi', { model: 'claude-3-sonnet' })));
    expect(events[0]).toEqual({ type: 'start', id: 'msg_01J2pRw6sT8uV1xA3cE5gH7k', model: 'claude-3-sonnet-20240229', inputTokens: 24 });
    expect(events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('')).toBe(TEXT);
    expect(events.at(-1)).toEqual({ type: 'finish', stopReason: 'stop', usage: { inputTokens: 24, outputTokens: 17 } });
  });

  it('streams text then a tool call, with tool indexes counted from 0', async () => {
    fake.reply(replies.answer('anthropic-messages-tool'));
    const events = await collectEvents(provider.stream(ask('weather?', { tools: [WEATHER] })));
    const start = events.find((e) => e.type === 'tool-call-start');
    expect(start).toEqual({ type: 'tool-call-start', index: 0, id: 'toolu_01A7fG3hJ9kL2mN5pQ8rS4tV', name: 'get_weather' });
    const args = events.flatMap((e) => (e.type === 'tool-call-delta' ? [e.argumentsDelta] : [])).join('');
    expect(JSON.parse(args)).toEqual({ city: 'Paris', unit: 'celsius', days: 3 });
    expect(events.filter((e) => e.type === 'tool-call-end')).toEqual([{ type: 'tool-call-end', index: 0 }]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', stopReason: 'tool-calls', usage: { inputTokens: 402, outputTokens: 71 } });
  });
});

describe('Anthropic provider: faults', () => {
  it('retries a 529 overloaded answer, then answers', async () => {
    fake.reply(replies.status(529, 'anthropic-error-overloaded.json'));
    const answer = await provider.complete(ask('hi'));
    expect(answer.content).toEqual([{ type: 'text', text: TEXT }]);
    expect(fake.requests).toHaveLength(2);
  });

  it('gives up on 529 after max_retries as a retryable provider_overloaded error', async () => {
    fake.fallback = replies.status(529, 'anthropic-error-overloaded.json');
    const error = await rejectionOf(provider.complete(ask('hi')));
    expect(fake.requests).toHaveLength(3);
    expect(error).toMatchObject({ code: 'provider_overloaded', status: 529, retryable: true, provider: 'anthropic' });
    expect((error as Error).message).toContain('Anthropic provider "anthropic" answered HTTP 529 after 3 tries: Overloaded (overloaded_error)');
  });

  it('passes on a 429 with its retry-after and message', async () => {
    fake.fallback = replies.status(429, 'anthropic-error-rate-limit.json', { 'retry-after': '45' });
    const error = await rejectionOf(provider.complete(ask('hi')));
    expect(error).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSeconds: 45 });
    expect((error as Error).message).toContain('This request would exceed the rate limit for your organization');
  });

  it('raises an error event sent after the stream began, with its status, after the events already sent', async () => {
    fake.reply({ kind: 'sse', text: fixture('anthropic-messages-overloaded-midstream.sse.txt') });
    const seen: StreamEvent['type'][] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const event of provider.stream(ask('hi'))) seen.push(event.type);
      })(),
    );
    expect(seen).toEqual(['start', 'text-delta', 'text-delta', 'text-delta', 'text-delta']);
    expect(error).toMatchObject({ code: 'provider_overloaded', status: 529 });
    expect((error as Error).message).toContain('failed in the middle of its answer: Overloaded (overloaded_error)');
    expect(fake.requests).toHaveLength(1);
  });

  it('fails a stream cut before message_stop', async () => {
    fake.reply(replies.cut('anthropic-messages-text.sse.txt', 8));
    const error = await rejectionOf(collectEvents(provider.stream(ask('hi'))));
    expect(error).toMatchObject({ code: 'provider_connection_error', retryable: true });
    expect(fake.requests).toHaveLength(1);
  });

  it('keeps the key out of an auth error', async () => {
    const wrong = anthropicAgainst(fake, { api_key: 'sk-ant-api03-WRONGwrongWRONG-0123456789' });
    const error = await rejectionOf(wrong.complete(ask('hi')));
    await wrong.close?.();
    expect(error).toMatchObject({ code: 'provider_auth_error', status: 401, retryable: false });
    expect((error as Error).message).toContain('invalid x-api-key (authentication_error)');
    expect((error as Error).message).not.toContain('WRONG');
  });
});
