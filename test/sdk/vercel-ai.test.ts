/**
 * The Vercel AI SDK (`ai`) with `@ai-sdk/openai` (Responses and Chat
 * Completions) and `@ai-sdk/anthropic` pointed at TokenPak: generateText and
 * streamText, a multi-step tool call, structured output, and errors.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { APICallError, generateText, jsonSchema, Output, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CLAUDE_DEFAULT, GPT4_DEFAULT, startSdkProxy, WEATHER_ANSWER, WEATHER_ARGS, WEATHER_PARAMETERS, type SdkProxy } from './helpers.ts';
import { aiSdkClients, type AiSdkClients } from './vercel-ai-models.ts';

// The AI SDK warns that it does not know these model ids; the warnings say nothing about TokenPak.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

let server: SdkProxy;
let models: AiSdkClients['models'];

beforeAll(async () => {
  server = await startSdkProxy();
  ({ models } = aiSdkClients(server.url));
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

const weatherTool = tool({
  description: 'Current weather in a city',
  inputSchema: jsonSchema<{ city: string; unit: 'celsius' | 'fahrenheit' }>(WEATHER_PARAMETERS),
  execute: async ({ city }) => ({ city, temperature: 18, sky: 'sunny' }),
});

const cases = [
  ['openai responses', 'gpt-4', GPT4_DEFAULT, 'openai-responses'],
  ['openai chat', 'gpt-4', GPT4_DEFAULT, 'openai-chat'],
  ['anthropic', 'claude-3-sonnet', CLAUDE_DEFAULT, 'anthropic-messages'],
] as const;

describe.each(cases)('%s', (provider, modelId, expected, clientFormat) => {
  test('generateText returns the canned text with usage', async () => {
    const result = await generateText({ model: models[provider](modelId), prompt: 'Say hello', maxOutputTokens: 500 });
    expect(result.text).toBe(expected);
    expect(result.finishReason).toBe('stop');
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect((await server.calls()).at(-1)!.clientFormat).toBe(clientFormat);
  });

  test('streamText streams the same text in several deltas', async () => {
    const result = streamText({ model: models[provider](modelId), prompt: 'Say hello', maxOutputTokens: 500 });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas.join('')).toBe(expected);
    expect(deltas.length).toBeGreaterThan(3);
    expect(await result.finishReason).toBe('stop');
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
  });

  test('a tool call runs the tool and the next step answers with its result', async () => {
    const result = await generateText({
      model: models[provider](modelId),
      prompt: 'What is the weather in Paris?',
      tools: { get_weather: weatherTool },
      stopWhen: stepCountIs(3),
      maxOutputTokens: 500,
    });
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]!.finishReason).toBe('tool-calls');
    expect(result.steps[0]!.toolCalls.map((c) => [c.toolName, c.input])).toEqual([['get_weather', WEATHER_ARGS]]);
    expect(result.steps[0]!.toolResults[0]!.output).toEqual({ city: 'Paris', temperature: 18, sky: 'sunny' });
    expect(result.text).toBe(WEATHER_ANSWER);
    // The second request carried the tool's result back to the provider.
    const second = server.mock.calls[1]!.request.messages;
    const result0 = second.flatMap((m) => m.content).find((p) => p.type === 'tool-result');
    expect(result0 && JSON.parse(result0.type === 'tool-result' ? result0.content : '{}')).toMatchObject({ city: 'Paris' });
  });

  test('structured output from a generated answer fits the schema', async () => {
    const result = await generateText({
      model: models[provider]('gpt-4o-mini'),
      prompt: 'Name a colour',
      maxOutputTokens: 500,
      output: Output.object({
        schema: jsonSchema<{ name: string; hex: string; primary: boolean }>({
          type: 'object',
          properties: { name: { type: 'string' }, hex: { type: 'string' }, primary: { type: 'boolean' } },
          required: ['name', 'hex', 'primary'],
          additionalProperties: false,
        }),
      }),
    });
    expect(typeof result.output.name).toBe('string');
    expect(typeof result.output.hex).toBe('string');
    expect(typeof result.output.primary).toBe('boolean');
  });

  test('an injected 429 surfaces as a retryable APICallError with status 429', async () => {
    server.mock.failNext(1, 429);
    const error = await generateText({ model: models[provider](modelId), prompt: 'hi', maxRetries: 0, maxOutputTokens: 500 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(error)).toBe(true);
    expect((error as APICallError).statusCode).toBe(429);
    expect((error as APICallError).isRetryable).toBe(true);
  });

  test('with its default retries, the AI SDK waits out a 429 and succeeds', async () => {
    server.mock.failNext(1, 429);
    const result = await generateText({ model: models[provider](modelId), prompt: 'hi', maxOutputTokens: 500 });
    expect(result.text).toBe(expected);
    expect(server.mock.calls.map((c) => c.outcome)).toEqual(['error', 'ok']);
  });
});

test('one ANTHROPIC_BASE_URL (no /v1) serves both the official SDK and @ai-sdk/anthropic', async () => {
  // createAnthropic() reads ANTHROPIC_BASE_URL; the official SDK's convention leaves /v1 out.
  const anthropic = createAnthropic({ baseURL: server.url, apiKey: 'sk-ant-test-not-used' });
  const result = await generateText({ model: anthropic('claude-3-sonnet'), prompt: 'Say hello', maxOutputTokens: 500 });
  expect(result.text).toBe(CLAUDE_DEFAULT);
});
