/**
 * The mock's token counts: the real tokenizer for OpenAI-family models,
 * loaded on first use; the documented estimate for other models.
 */
import { describe, expect, it } from 'vitest';
import { countTokens, encodingFor, estimateInputTokens, estimateOutputTokens, estimateTokens, loadTokenizer } from '../../src/providers/mock/tokens.ts';
import { ask, mockFromYaml } from './mock-helpers.ts';

// Both encodings split this into 8 tokens; the estimate says ceil(26 / 4) = 7.
const HELLO = 'Hello, world! How are you?';

describe('mock token counts', () => {
  it('loads an OpenAI tokenizer only when a request needs it; counts are exact from then on', async () => {
    expect(countTokens(HELLO, 'gpt-4o')).toBe(7);
    const loading = loadTokenizer('gpt-4o');
    expect(loading).toBeInstanceOf(Promise);
    await loading;
    expect(loadTokenizer('gpt-4o-mini')).toBeUndefined();
    expect(countTokens(HELLO, 'gpt-4o')).toBe(8);
    // Texts where characters/4 is far off: digits, non-Latin scripts.
    expect(countTokens('1234567890'.repeat(10), 'gpt-4o')).toBe(34);
    expect(countTokens('こんにちは、世界', 'gpt-4o')).toBe(3);
    expect(estimateTokens('こんにちは、世界')).toBe(2);
  });

  it('maps model names to their encoding; other models are estimated', async () => {
    expect(['gpt-4o', 'gpt-4.1-mini', 'gpt-5', 'o3-mini', 'o1', 'chatgpt-4o-latest'].map(encodingFor)).toEqual(Array(6).fill('o200k_base'));
    expect(['gpt-4', 'gpt-4-turbo', 'gpt-3.5-turbo', 'text-embedding-3-small'].map(encodingFor)).toEqual(Array(4).fill('cl100k_base'));
    expect(['claude-3-sonnet', 'm', 'llama-3', 'omni'].map(encodingFor)).toEqual([undefined, undefined, undefined, undefined]);
    await loadTokenizer('gpt-4');
    expect(countTokens(HELLO, 'gpt-4')).toBe(8);
    expect(countTokens(HELLO, 'claude-3-sonnet')).toBe(7);
  });

  it('the mock reports tokenizer counts in its usage for OpenAI models, the estimate for others', async () => {
    const mock = mockFromYaml(`    responses:\n      "*":\n        default: "${HELLO}"\n`);
    const openai = await mock.complete(ask(HELLO, { model: 'gpt-4o-mini', system: HELLO }));
    // system 8 + 3, one message 3 + 8.
    expect(openai.usage).toEqual({ inputTokens: 22, outputTokens: 8 });
    const other = await mock.complete(ask(HELLO, { model: 'claude-3-haiku', system: HELLO }));
    expect(other.usage).toEqual({ inputTokens: 20, outputTokens: 7 });
    expect(estimateInputTokens(ask(HELLO, { model: 'gpt-4o' }))).toBe(11);
    expect(estimateOutputTokens([{ type: 'tool-call', id: 'c', name: 'get_weather', arguments: '{"city":"Paris"}' }], 'gpt-4o')).toBe(countTokens('get_weather', 'gpt-4o') + countTokens('{"city":"Paris"}', 'gpt-4o'));
  });
});
