/**
 * The OpenAI Agents SDK (`@openai/agents`, Responses API) pointed at TokenPak,
 * with a config that keeps canned `default:` answers and a plain `tool_call`
 * pattern: run() with a tool, and run() with a structured outputType.
 */
import { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool } from '@openai/agents';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { GPT4_DEFAULT, startCannedProxy, WEATHER_ARGS, type SdkProxy } from './helpers.ts';

let server: SdkProxy;

beforeAll(async () => {
  server = await startCannedProxy();
  setDefaultOpenAIClient(new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test-not-used', maxRetries: 0 }));
  // Traces would be exported to OpenAI's servers; a test run has nowhere to send them.
  setTracingDisabled(true);
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

describe('run()', () => {
  test('with a tool: calls it with the pattern\'s arguments and ends with the canned answer after two model calls', async () => {
    const invoked: unknown[] = [];
    const getWeather = tool({
      name: 'get_weather',
      description: 'Current weather in a city',
      parameters: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
      execute: (args) => {
        invoked.push(args);
        return '18 degrees, sunny';
      },
    });
    const agent = new Agent({ name: 'Weather', instructions: 'Answer weather questions.', model: 'gpt-4', tools: [getWeather] });
    const result = await run(agent, 'What is the weather in Paris?', { maxTurns: 4 });
    expect(invoked).toEqual([WEATHER_ARGS]);
    expect(result.finalOutput).toBe(GPT4_DEFAULT);
    expect(result.rawResponses).toHaveLength(2);
    expect(server.mock.calls).toHaveLength(2);
    expect((await server.calls()).map((c) => c.clientFormat)).toEqual(['openai-responses', 'openai-responses']);
  });

  test('with outputType: finalOutput is an object that fits the zod schema, though the model has a canned default', async () => {
    const City = z.object({ city: z.string(), population: z.int().min(1), landmarks: z.array(z.string()) });
    const agent = new Agent({ name: 'Geographer', instructions: 'Describe cities.', model: 'gpt-4', outputType: City });
    const result = await run(agent, 'Describe Paris');
    expect(result.finalOutput).toBeDefined();
    expect(City.parse(result.finalOutput)).toEqual(result.finalOutput);
  });
});
