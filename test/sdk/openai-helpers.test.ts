/**
 * The `openai` package's helpers against a config that keeps canned `default:`
 * answers and a plain `tool_call` pattern: structured output parsed with zod,
 * the runTools() loop, and Responses conversations held by the server.
 */
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { GPT4_DEFAULT, startCannedProxy, WEATHER_ARGS, type SdkProxy } from './helpers.ts';

let server: SdkProxy;
let openai: OpenAI;

beforeAll(async () => {
  server = await startCannedProxy();
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test-not-used', maxRetries: 0 });
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

const City = z.object({ city: z.string(), population: z.int().min(1), landmarks: z.array(z.string()) });
const Weather = z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) });

describe('chat.completions', () => {
  test('parse(zodResponseFormat) gives an object that fits the zod schema, though the model has a canned default', async () => {
    const completion = await openai.chat.completions.parse({
      model: 'gpt-4',
      messages: [{ role: 'user', content: 'Describe Paris' }],
      response_format: zodResponseFormat(City, 'city'),
    });
    const parsed = completion.choices[0]!.message.parsed;
    expect(City.parse(parsed)).toEqual(parsed);
    expect(completion.choices[0]!.finish_reason).toBe('stop');
  });

  test('runTools runs the tool once with the pattern\'s arguments, and the loop ends after two completions', async () => {
    const invoked: unknown[] = [];
    const runner = openai.chat.completions.runTools({
      model: 'gpt-4',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [
        zodFunction({
          name: 'get_weather',
          parameters: Weather,
          function: (args: z.infer<typeof Weather>) => {
            invoked.push(args);
            return { temperature: 18, sky: 'sunny' };
          },
        }),
      ],
    }, { maxChatCompletions: 4 });
    const content = await runner.finalContent();
    expect(invoked).toEqual([WEATHER_ARGS]);
    expect(content).toBe(GPT4_DEFAULT);
    expect(runner.allChatCompletions()).toHaveLength(2);
    expect(server.mock.calls).toHaveLength(2);
  });
});

describe('responses', () => {
  test('parse(zodTextFormat) gives output_parsed that fits the zod schema, though the model has a canned default', async () => {
    const response = await openai.responses.parse({
      model: 'gpt-4',
      input: 'Describe Paris',
      text: { format: zodTextFormat(City, 'city') },
    });
    expect(response.output_parsed).not.toBeNull();
    expect(City.parse(response.output_parsed)).toEqual(response.output_parsed);
  });

  test('create with previous_response_id continues the conversation the server kept', async () => {
    const first = await openai.responses.create({ model: 'gpt-4', input: 'My name is Ada.', instructions: 'Be brief.' });
    expect(first.output_text).toBe(GPT4_DEFAULT);
    const second = await openai.responses.create({ model: 'gpt-4', input: 'What is my name?', previous_response_id: first.id });
    expect(second.output_text).toBe(GPT4_DEFAULT);
    expect(second.previous_response_id).toBe(first.id);
    // The model saw the whole conversation: the first turn, its answer, the new question.
    const seen = server.mock.calls[1]!.request.messages;
    expect(seen.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(JSON.stringify(seen[0])).toContain('My name is Ada.');
    expect(JSON.stringify(seen[1])).toContain(GPT4_DEFAULT);
  });

  test('a function-call loop over previous_response_id ends with the canned answer', async () => {
    const tool = { type: 'function' as const, name: 'get_weather', parameters: z.toJSONSchema(Weather), strict: true };
    const first = await openai.responses.create({ model: 'gpt-4', input: 'What is the weather in Paris?', tools: [tool] });
    const call = first.output.find((item) => item.type === 'function_call');
    if (call?.type !== 'function_call') throw new Error(`expected a function_call item, got ${JSON.stringify(first.output)}`);
    expect(JSON.parse(call.arguments)).toEqual(WEATHER_ARGS);
    const second = await openai.responses.create({
      model: 'gpt-4',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '18 degrees, sunny' }],
      tools: [tool],
    });
    expect(second.output_text).toBe(GPT4_DEFAULT);
  });
});
