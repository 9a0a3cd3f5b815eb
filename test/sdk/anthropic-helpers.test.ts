/**
 * The `@anthropic-ai/sdk` helpers against a config that keeps canned
 * `default:` answers and a plain `tool_call` pattern: a streamed tool loop
 * assembled by finalMessage(), and structured output parsed with zod.
 */
import Anthropic from '@anthropic-ai/sdk';
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
});
