/**
 * Mock rules as a user meets them through the official `openai` package
 * against the proxy: a tool loop with `runTools()` ends on its own, structured
 * output parses although the model's canned answer is plain text (and the call
 * log says the answer was replaced), rules match on request headers and
 * metadata, and strict mode fails the call with the closest rule.
 */
import OpenAI from 'openai';
import { startProxy, type TokenPakProxy } from 'tokenpak';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { describeCall } from '../../src/vitest/transcript.ts';
import type { TokenPakCall } from '../../src/vitest/scope.ts';
import { cannedConfig, GPT4_DEFAULT } from './helpers.ts';

let proxy: TokenPakProxy;
let openai: OpenAI;

beforeAll(async () => {
  const config = cannedConfig({
    weather: 'tool-call',
    answers: {
      'gpt-4': {
        rules: [
          { name: 'checkout case', when: { header: { 'x-test-case': '/^checkout/' } }, answer: 'Checkout answer.' },
          { when: { metadata: { suite: 'smoke' } }, answer: 'Smoke answer.' },
        ],
      },
    },
    providers: { strict: { type: 'mock', on_unmatched: 'error', responses: { 'gpt-4-strict': { patterns: { debug: 'Debugged.' } } } } },
    routes: { 'gpt-4-strict': { provider: 'strict' } },
  });
  proxy = await startProxy({ config, port: 0, host: '127.0.0.1' });
  openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-test-not-used', maxRetries: 0 });
});
afterAll(() => proxy.close({ graceMs: 100 }));

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    function: (args: { city: string }) => `18 degrees in ${args.city}`,
    parse: JSON.parse,
  },
};

describe('the openai SDK against mock rules', () => {
  test('runTools() with a plain tool_call pattern calls the tool once, then ends with the default answer', async () => {
    const runner = openai.chat.completions.runTools({ model: 'gpt-4', messages: [{ role: 'user', content: 'What is the weather in Paris?' }], tools: [weatherTool] });
    const content = await runner.finalContent();
    expect(content).toBe(GPT4_DEFAULT);
    expect(runner.allChatCompletions()).toHaveLength(2);
    expect(runner.messages.filter((m) => m.role === 'tool').map((m) => m.content)).toEqual(['18 degrees in Paris']);
  });

  test('chat.completions.parse() with a json_schema format parses, though the canned default is text; the call log says why', async () => {
    const completion = await openai.chat.completions.parse({
      model: 'gpt-4',
      messages: [{ role: 'user', content: 'Describe a city' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'city',
          strict: true,
          schema: { type: 'object', properties: { name: { type: 'string' }, population: { type: 'integer', minimum: 1 } }, required: ['name', 'population'], additionalProperties: false },
        },
      },
    });
    expect(completion.choices[0]!.message.parsed).toEqual({ name: expect.any(String), population: expect.any(Number) });
    const [call] = await proxy.log.query({ limit: 1 });
    const warning = `the default answer is not JSON, but the request's response format demands JSON matching schema "city": answered with a generated one instead`;
    expect(call!.attempts[0]!.warnings).toEqual([warning]);
    // The Vitest transcript shows the attempt line with the reason.
    const transcript = describeCall({ ...call!, prompt: 'Describe a city', request: undefined, text: completion.choices[0]!.message.content ?? '', toolCalls: [] } as TokenPakCall, 0);
    expect(transcript).toContain(`1. mock → gpt-4: ✓ 200 (${warning},`);
  });

  test('rules match on a request header and on request metadata', async () => {
    const withHeader = await openai.chat.completions.create(
      { model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }] },
      { headers: { 'X-Test-Case': 'checkout-empty-cart' } },
    );
    expect(withHeader.choices[0]!.message.content).toBe('Checkout answer.');
    const withMetadata = await openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }], metadata: { suite: 'smoke' }, store: true });
    expect(withMetadata.choices[0]!.message.content).toBe('Smoke answer.');
    const plain = await openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }] });
    expect(plain.choices[0]!.message.content).toBe(GPT4_DEFAULT);
  });

  test('on_unmatched: error fails the call as a 400 the SDK raises, naming the closest rule', async () => {
    const error = await openai.chat.completions.create({ model: 'gpt-4-strict', messages: [{ role: 'user', content: 'debgu it' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('Closest: pattern "debug", which needs prompt "debug". The last user message has "debgu". Did you mean "debug"?');
  });
});
