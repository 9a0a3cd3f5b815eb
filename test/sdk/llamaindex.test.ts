/**
 * LlamaIndex's agent() workflow with its OpenAI LLM pointed at TokenPak, with
 * a config that keeps canned `default:` answers and a plain `tool_call`
 * pattern: the agent calls the tool once and ends with the canned answer.
 */
import { tool } from '@llamaindex/core/tools';
import { openai } from '@llamaindex/openai';
import { agent, agentToolCallEvent, stopAgentEvent } from '@llamaindex/workflow';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { GPT4_DEFAULT, startCannedProxy, WEATHER_ARGS, type SdkProxy } from './helpers.ts';

let server: SdkProxy;

beforeAll(async () => {
  server = await startCannedProxy();
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

describe('agent()', () => {
  test('calls the tool with the pattern\'s arguments and ends with the canned answer after two model calls', async () => {
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
    const llm = openai({ model: 'gpt-4', apiKey: 'sk-test-not-used', baseURL: `${server.url}/v1`, maxRetries: 0 });
    const workflow = agent({ llm, tools: [getWeather] });

    // Bounded by the test: a loop that never ends is cut after four tool calls.
    let toolCalls = 0;
    let result: string | undefined;
    for await (const event of workflow.runStream('What is the weather in Paris?')) {
      if (agentToolCallEvent.include(event) && ++toolCalls > 3) break;
      if (stopAgentEvent.include(event)) {
        result = String(event.data.result);
        break;
      }
    }
    expect(invoked).toEqual([WEATHER_ARGS]);
    expect(result).toBe(GPT4_DEFAULT);
    expect(server.mock.calls).toHaveLength(2);
  });
});
