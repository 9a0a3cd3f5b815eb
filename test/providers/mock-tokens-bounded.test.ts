/**
 * Counting a hostile prompt stays cheap: BPE is quadratic in an unbroken run,
 * so the mock's tokenizer works on bounded pieces and scales past 100,000
 * characters. Ordinary text is still counted exactly.
 */
import { describe, expect, it } from 'vitest';
import { countTokens, loadTokenizer } from '../../src/providers/mock/tokens.ts';

describe('token counts with bounded work', () => {
  it('counts a 3.9 MB prompt of one letter (hours of BPE unbounded) and stays proportional', async () => {
    await loadTokenizer('gpt-4');
    const small = countTokens('x'.repeat(40_000), 'gpt-4');
    const huge = countTokens('x'.repeat(3_900_000), 'gpt-4');
    // 'x' runs are 8 letters a token in cl100k: the scaled count keeps that rate.
    expect(small).toBe(5_000);
    expect(huge).toBe(487_500);
  });

  it('ordinary text is exact, pieces cut before spaces', async () => {
    await loadTokenizer('gpt-4');
    const { encode } = await import('gpt-tokenizer/encoding/cl100k_base');
    const prose = 'The quick brown fox jumps over the lazy dog. '.repeat(400);
    expect(countTokens(prose, 'gpt-4')).toBe(encode(prose).length);
  });
});
