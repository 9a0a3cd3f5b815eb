/**
 * The Vercel AI SDK (`ai`) against a config that keeps canned `default:`
 * answers and a plain `tool_call` pattern: a generateText tool loop ended by
 * stopWhen, generateObject and streamObject, and embed / embedMany.
 */
import { embed, embedMany, generateObject, generateText, stepCountIs, streamObject, tool } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { CLAUDE_DEFAULT, EMBEDDING_MODEL, GPT4_DEFAULT, startCannedProxy, WEATHER_ARGS, type SdkProxy } from './helpers.ts';
import { aiSdkClients, type AiSdkClients } from './vercel-ai-models.ts';

// The AI SDK warns that it does not know these model ids; the warnings say nothing about TokenPak.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

let server: SdkProxy;
let openai: AiSdkClients['openai'];
let models: AiSdkClients['models'];

beforeAll(async () => {
  server = await startCannedProxy();
  ({ openai, models } = aiSdkClients(server.url));
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

const City = z.object({ city: z.string(), population: z.int().min(1), landmarks: z.array(z.string()) });

describe.each([
  ['openai responses', 'gpt-4', GPT4_DEFAULT],
  ['openai chat', 'gpt-4', GPT4_DEFAULT],
  ['anthropic', 'claude-3-sonnet', CLAUDE_DEFAULT],
] as const)('%s', (provider, modelId, expected) => {
  test('generateText with tools and stopWhen: one tool call, then the canned answer, in two steps', async () => {
    const invoked: unknown[] = [];
    const result = await generateText({
      model: models[provider](modelId),
      prompt: 'What is the weather in Paris?',
      tools: {
        get_weather: tool({
          description: 'Current weather in a city',
          inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
          execute: async (args) => {
            invoked.push(args);
            return { temperature: 18, sky: 'sunny' };
          },
        }),
      },
      stopWhen: stepCountIs(5),
    });
    expect(invoked).toEqual([WEATHER_ARGS]);
    expect(result.steps).toHaveLength(2);
    expect(result.text).toBe(expected);
    expect(result.finishReason).toBe('stop');
  });

  test('generateObject gives an object that fits the zod schema, though the model has a canned default', async () => {
    const { object } = await generateObject({ model: models[provider](modelId), schema: City, prompt: 'Describe Paris' });
    expect(City.parse(object)).toEqual(object);
  });

  test('streamObject streams partial objects up to one that fits the zod schema', async () => {
    const result = streamObject({ model: models[provider](modelId), schema: City, prompt: 'Describe Paris' });
    const partials: unknown[] = [];
    for await (const partial of result.partialObjectStream) partials.push(partial);
    const object = await result.object;
    expect(City.parse(object)).toEqual(object);
    expect(partials.length).toBeGreaterThan(1);
  });
});

describe('embeddings', () => {
  test('embed gives one vector, the same for the same text', async () => {
    const first = await embed({ model: openai.embedding(EMBEDDING_MODEL), value: 'sunny day in Paris' });
    const again = await embed({ model: openai.embedding(EMBEDDING_MODEL), value: 'sunny day in Paris' });
    expect(first.embedding).toHaveLength(1536); // text-embedding-3-small's length
    expect(first.embedding.every((n) => Number.isFinite(n))).toBe(true);
    expect(again.embedding).toEqual(first.embedding);
    expect(first.usage.tokens).toBeGreaterThan(0);
  });

  test('embedMany gives one vector per value, in order, different texts giving different vectors', async () => {
    const values = ['sunny day in Paris', 'rainy night in Rome', 'sunny day in Paris'];
    const { embeddings } = await embedMany({ model: openai.embedding(EMBEDDING_MODEL), values });
    expect(embeddings).toHaveLength(3);
    expect(embeddings.map((e) => e.length)).toEqual([1536, 1536, 1536]);
    expect(embeddings[2]).toEqual(embeddings[0]);
    expect(embeddings[1]).not.toEqual(embeddings[0]);
  });
});
