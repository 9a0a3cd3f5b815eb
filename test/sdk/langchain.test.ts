/**
 * LangChain's ChatOpenAI and ChatAnthropic pointed at TokenPak, with a config
 * that keeps canned `default:` answers and a plain `tool_call` pattern:
 * invoke, stream, a bindTools() round trip and withStructuredOutput().
 */
import { ChatAnthropic } from '@langchain/anthropic';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { CLAUDE_DEFAULT, GPT4_DEFAULT, startCannedProxy, WEATHER_ARGS, type SdkProxy } from './helpers.ts';

let server: SdkProxy;
let chatModels: Record<'ChatOpenAI' | 'ChatAnthropic', BaseChatModel>;

beforeAll(async () => {
  server = await startCannedProxy();
  chatModels = {
    ChatOpenAI: new ChatOpenAI({ model: 'gpt-4', apiKey: 'sk-test-not-used', maxRetries: 0, configuration: { baseURL: `${server.url}/v1` } }),
    ChatAnthropic: new ChatAnthropic({ model: 'claude-3-sonnet', apiKey: 'sk-ant-test-not-used', maxRetries: 0, anthropicApiUrl: server.url }),
  };
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

const getWeather = tool(({ city }) => `18 degrees and sunny in ${city}`, {
  name: 'get_weather',
  description: 'Current weather in a city',
  schema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
});

const City = z.object({ city: z.string(), population: z.int().min(1), landmarks: z.array(z.string()) });

describe.each([
  ['ChatOpenAI', GPT4_DEFAULT],
  ['ChatAnthropic', CLAUDE_DEFAULT],
] as const)('%s', (name, expected) => {
  test('invoke returns the canned answer', async () => {
    const message = await chatModels[name].invoke('Say hello');
    expect(message.text).toBe(expected);
  });

  test('stream yields the canned answer in several chunks', async () => {
    const chunks: string[] = [];
    for await (const chunk of await chatModels[name].stream('Say hello')) chunks.push(chunk.text);
    expect(chunks.join('')).toBe(expected);
    expect(chunks.filter(Boolean).length).toBeGreaterThan(2);
  });

  test('bindTools: the model calls the tool with the pattern\'s arguments, then answers the tool result', async () => {
    const model = chatModels[name].bindTools!([getWeather]);
    const history: BaseMessage[] = [new HumanMessage('What is the weather in Paris?')];
    const first = await model.invoke(history);
    expect(first.tool_calls).toHaveLength(1);
    expect(first.tool_calls![0]).toMatchObject({ name: 'get_weather', args: WEATHER_ARGS });

    const result = await getWeather.invoke(first.tool_calls![0]!);
    expect(result).toBeInstanceOf(ToolMessage);
    history.push(first, result);
    const second = await model.invoke(history);
    expect(second.tool_calls).toEqual([]);
    expect(second.text).toBe(expected);
    expect(server.mock.calls).toHaveLength(2);
  });

  test('withStructuredOutput gives an object that fits the zod schema, though the model has a canned default', async () => {
    const structured = chatModels[name].withStructuredOutput(City);
    const value = await structured.invoke('Describe Paris');
    expect(City.parse(value)).toEqual(value);
  });
});
