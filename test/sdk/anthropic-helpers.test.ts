/**
 * The `@anthropic-ai/sdk` helpers against a config that keeps canned
 * `default:` answers and a plain `tool_call` pattern: a streamed tool loop
 * assembled by finalMessage(), the beta tool runner with its default settings
 * (server-held threads), structured output parsed with zod, and token counting.
 */
import Anthropic from '@anthropic-ai/sdk';
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { CLAUDE_DEFAULT, startCannedProxy, WEATHER_ARGS, WEATHER_PARAMETERS, type SdkProxy } from './helpers.ts';

let server: SdkProxy;
let anthropic: Anthropic;

beforeAll(async () => {
  server = await startCannedProxy();
  anthropic = new Anthropic({ baseURL: server.url, apiKey: 'sk-ant-test-not-used', maxRetries: 0 });
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

const weatherTool = { name: 'get_weather', description: 'Current weather in a city', input_schema: WEATHER_PARAMETERS };
const Weather = z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) });

describe('messages', () => {
  test('stream().finalMessage() drives a tool loop that ends with the canned answer', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await anthropic.messages.stream({ model: 'claude-3-sonnet', max_tokens: 1024, tools: [weatherTool], messages }).finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((block) => block.type === 'tool_use');
    if (use?.type !== 'tool_use') throw new Error(`expected a tool_use block, got ${JSON.stringify(first.content)}`);
    expect(use.input).toEqual(WEATHER_ARGS);

    messages.push({ role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18 degrees, sunny' }] });
    const second = await anthropic.messages.stream({ model: 'claude-3-sonnet', max_tokens: 1024, tools: [weatherTool], messages }).finalMessage();
    expect(second.content).toEqual([{ type: 'text', text: CLAUDE_DEFAULT }]);
    expect(second.stop_reason).toBe('end_turn');
  });

  test('parse(zodOutputFormat) gives parsed_output that fits the zod schema, though the model has a canned default', async () => {
    const Colour = z.object({ name: z.string(), rgb: z.array(z.int().min(0).max(255)) });
    const message = await anthropic.messages.parse({
      model: 'claude-3-sonnet',
      max_tokens: 1024,
      messages: [{ role: 'user', content: 'Give me a colour' }],
      output_config: { format: zodOutputFormat(Colour) },
    });
    expect(message.parsed_output).not.toBeNull();
    expect(Colour.parse(message.parsed_output)).toEqual(message.parsed_output);
  });

  test('countTokens counts the input tokens that a create call then reports in its usage', async () => {
    const request = {
      model: 'claude-3-sonnet',
      system: 'You are a weather assistant.',
      tools: [weatherTool],
      messages: [{ role: 'user' as const, content: 'What is the weather like in Paris today, and should I take an umbrella?' }],
    };
    const counted = await anthropic.messages.countTokens(request);
    expect(counted.input_tokens).toBeGreaterThan(10);
    const message = await anthropic.messages.create({ ...request, max_tokens: 1024 });
    expect(message.usage.input_tokens).toBe(counted.input_tokens);
    // countTokens is not a model call.
    expect(server.mock.calls).toHaveLength(1);
  });
});

describe('beta.messages.toolRunner', () => {
  test('with default settings, runs the tool once and ends with the canned answer after two model calls', async () => {
    const invoked: unknown[] = [];
    const runner = anthropic.beta.messages.toolRunner({
      model: 'claude-3-sonnet',
      max_tokens: 1024,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [
        betaZodTool({
          name: 'get_weather',
          description: 'Current weather in a city',
          inputSchema: Weather,
          run: (args) => {
            invoked.push(args);
            return '18 degrees, sunny';
          },
        }),
      ],
    });
    // Bounded by the test, not by a runner setting: a loop that never ends stops after four replies.
    const replies: Anthropic.Beta.BetaMessage[] = [];
    for await (const reply of runner) {
      replies.push(reply);
      if (replies.length === 4) break;
    }
    expect(invoked).toEqual([WEATHER_ARGS]);
    expect(replies.map((r) => r.stop_reason)).toEqual(['tool_use', 'end_turn']);
    expect(replies.at(-1)!.content).toEqual([{ type: 'text', text: CLAUDE_DEFAULT }]);
    expect(server.mock.calls).toHaveLength(2);
  });
});
