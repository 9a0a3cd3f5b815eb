import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../../src/util/did-you-mean.ts';

describe('did-you-mean', () => {
  it('counts a swap of adjacent letters as one edit', () => {
    expect(editDistance('mokc', 'mock')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests the nearest key for typos, swaps and missing endings', () => {
    expect(closest('mokc', ['mock', 'openai', 'anthropic'])).toBe('mock');
    expect(closest('latncy_ms', ['latency_ms', 'seed'])).toBe('latency_ms');
    expect(closest('latency', ['latency_ms', 'seed', 'failure'])).toBe('latency_ms');
    expect(closest('opena', ['mock', 'openai'])).toBe('openai');
  });

  it('suggests nothing when no candidate is close', () => {
    expect(closest('zebra', ['mock', 'openai'])).toBeUndefined();
    expect(didYouMean('zz', ['mock'])).toBe('');
    expect(didYouMean('gpt-5', ['gpt-4', 'claude-3-sonnet'])).toBe(' Did you mean "gpt-4"?');
  });
});
