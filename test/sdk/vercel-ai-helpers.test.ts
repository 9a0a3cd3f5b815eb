/**
 * The Vercel AI SDK (`ai`) against a config that keeps canned `default:`
 * answers and a plain `tool_call` pattern: embed / embedMany.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { embed, embedMany } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { EMBEDDING_MODEL, startCannedProxy, type SdkProxy } from './helpers.ts';

// The AI SDK warns that it does not know these model ids; the warnings say nothing about TokenPak.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

let server: SdkProxy;
let openai: ReturnType<typeof createOpenAI>;

beforeAll(async () => {
  server = await startCannedProxy();
  openai = createOpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test-not-used' });
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

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
