import { describe, expect, it } from 'vitest';
import { mockProviderSchema } from '../../src/config/schema.ts';
import { createMockProvider, MAX_KEPT_CALLS } from '../../src/providers/mock/mock-provider.ts';

describe('mock provider call record', () => {
  it('keeps only the newest calls, so a long-running proxy does not grow', async () => {
    const mock = createMockProvider('mock', mockProviderSchema.parse({ type: 'mock' }));
    const total = MAX_KEPT_CALLS * 2 + 7;
    for (let i = 0; i < total; i++) {
      await mock.complete({ model: 'gpt-4', messages: [{ role: 'user', content: [{ type: 'text', text: `call ${i}` }] }] });
    }
    expect(mock.calls.length).toBeGreaterThanOrEqual(MAX_KEPT_CALLS);
    expect(mock.calls.length).toBeLessThanOrEqual(MAX_KEPT_CALLS + (MAX_KEPT_CALLS >> 3));
    expect(mock.calls.at(-1)).toMatchObject({ index: total - 1, prompt: `call ${total - 1}` });
    // Numbering (and so determinism) is unaffected by dropping old records.
    expect(mock.calls.at(-2)!.index).toBe(total - 2);
  });
});
