/**
 * Token counting with the official SDKs over a real socket: Anthropic's
 * `messages.countTokens()` (`POST /v1/messages/count_tokens`) and OpenAI's
 * `responses.inputTokens.count()` (`POST /v1/responses/input_tokens`). The
 * mock counts with the same estimate its answers report as input usage; real
 * providers pass the count to their upstream's counting endpoint.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { defineConfig, startProxy, type TokenPakProxy } from 'tokenpak';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startGateway, type Gateway } from '../fallback/helpers.ts';
import { replies } from '../support/fake-upstream.ts';

const TOOL_SCHEMA = { type: 'object' as const, properties: { city: { type: 'string' as const } }, required: ['city'] };

let proxy: TokenPakProxy;
let anthropic: Anthropic;
let openai: OpenAI;
beforeAll(async () => {
  const config = defineConfig({
    providers: { mock: { type: 'mock', latency_ms: 0 } },
    models: { 'claude-3-sonnet': { provider: 'mock' }, 'gpt-4': { provider: 'mock' } },
  });
  proxy = await startProxy({ config, port: 0, host: '127.0.0.1' });
  anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
  openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => proxy.close({ graceMs: 0 }));

describe('against the mock: the count is the input usage the answer reports', () => {
  test('Anthropic messages.countTokens()', async () => {
    const params = {
      model: 'claude-3-sonnet',
      system: 'You are a weather bot that answers in one sentence.',
      messages: [
        { role: 'user' as const, content: 'What is the weather in Paris today, and should I bring an umbrella?' },
        { role: 'assistant' as const, content: 'Let me check.' },
        { role: 'user' as const, content: 'Thanks, take your time.' },
      ],
      tools: [{ name: 'get_weather', description: 'Weather in a city', input_schema: TOOL_SCHEMA }],
    };
    const counted = await anthropic.messages.countTokens(params);
    const answered = await anthropic.messages.create({ ...params, max_tokens: 200 });
    expect(counted.input_tokens).toBeGreaterThan(20);
    expect(counted.input_tokens).toBe(answered.usage.input_tokens);
    // A longer conversation counts more.
    const longer = await anthropic.messages.countTokens({ ...params, messages: [...params.messages, { role: 'assistant', content: 'Sure.' }, { role: 'user', content: 'And tomorrow in Lyon?' }] });
    expect(longer.input_tokens).toBeGreaterThan(counted.input_tokens);
  });

  test('OpenAI responses.inputTokens.count(), also for a continuation by previous_response_id', async () => {
    const params = { model: 'gpt-4', instructions: 'Answer briefly.', input: 'How many moons does Mars have, and what are their names?' };
    const counted = await openai.responses.inputTokens.count(params);
    expect(counted.object).toBe('response.input_tokens');
    const answered = await openai.responses.create(params);
    expect(counted.input_tokens).toBe(answered.usage!.input_tokens);

    const next = { model: 'gpt-4', previous_response_id: answered.id, input: 'And Jupiter?' };
    const continued = await openai.responses.inputTokens.count(next);
    expect(continued.input_tokens).toBe((await openai.responses.create(next)).usage!.input_tokens);
    expect(continued.input_tokens).toBeGreaterThan(counted.input_tokens - 10);
  });

  test("errors come in each API's shape: an unknown model is a 404, a missing field a 400", async () => {
    await expect(anthropic.messages.countTokens({ model: 'no-such-model', messages: [{ role: 'user', content: 'Hi' }] })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    const missing = await anthropic.messages.countTokens({ model: 'claude-3-sonnet' } as never).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.BadRequestError);
    expect(String((missing as Error).message)).toMatch(/messages: Field required/);
    const unknown = await openai.responses.inputTokens.count({ model: 'gpt-4', input: 'Hi', previous_response_id: 'resp_nope' }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ status: 400, code: 'previous_response_not_found' });
  });
});

describe('real providers count at their upstream (fake upstreams)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterAll(() => gateway.close());

  test('an Anthropic route asks the upstream count_tokens (its model alias resolved), without max_tokens', async () => {
    const client = new Anthropic({ baseURL: gateway.proxy.url, apiKey: 'unused', maxRetries: 0 });
    const before = gateway.anthropic.requests.length;
    const counted = await client.messages.countTokens({ model: 'claude-3-sonnet', system: 'Be brief.', messages: [{ role: 'user', content: 'Hello' }] });
    expect(counted.input_tokens).toBe(23); // the fixture's count
    const sent = gateway.anthropic.requests.slice(before);
    expect(sent.map((r) => r.path)).toEqual(['/v1/messages/count_tokens']);
    expect(sent[0]!.body).toEqual({ model: 'claude-3-sonnet-20240229', system: 'Be brief.', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }] });
  });

  test('an OpenAI route asks the upstream responses/input_tokens; a failure there falls back to the next provider', async () => {
    const client = new OpenAI({ baseURL: `${gateway.proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const before = gateway.openai.requests.length;
    const counted = await client.responses.inputTokens.count({ model: 'gpt-4', instructions: 'Be brief.', input: 'Hello' });
    expect(counted.input_tokens).toBe(21);
    const sent = gateway.openai.requests.slice(before);
    expect(sent.map((r) => r.path)).toEqual(['/v1/responses/input_tokens']);
    expect(sent[0]!.body).toEqual({ model: 'gpt-4', instructions: 'Be brief.', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hello' }] }] });

    gateway.openai.reply(replies.status(503, 'openai-error-unavailable.json'));
    const { data, response } = await client.responses.inputTokens.count({ model: 'gpt-4', input: 'Hello' }).withResponse();
    expect(data.input_tokens).toBe(23); // Anthropic's count, the route's fallback
    expect(response.headers.get('x-tokenpak-provider')).toBe('anthropic');
  });
});
