/** A proxy that nothing inspects keeps no mock calls (issue 14: no call retention outside tests). */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { MockProvider } from '../../src/providers/mock/mock-provider.ts';
import { createProxyParts } from '../../src/server/proxy.ts';
import { ask } from './mock-helpers.ts';

const CONFIG = parseConfig('providers:\n  mock:\n    type: mock\nmodels:\n  m: {provider: mock}\n', { env: {} });

describe('mock call retention', () => {
  it('keeps calls by default (tests read them), and none with keepMockCalls: false (tokenpak proxy)', async () => {
    const kept = createProxyParts({ config: CONFIG }).providers.get('mock') as MockProvider;
    const serving = createProxyParts({ config: CONFIG, keepMockCalls: false }).providers.get('mock') as MockProvider;
    for (const mock of [kept, serving]) {
      await mock.complete(ask('one', { model: 'm' }));
      await mock.complete(ask('two', { model: 'm' }));
    }
    expect(kept.calls.map((call) => call.prompt)).toEqual(['one', 'two']);
    expect(serving.calls).toEqual([]);
    // Numbering, and so every seeded draw, is the same either way.
    const [a, b] = await Promise.all([kept.complete(ask('three', { model: 'm' })), serving.complete(ask('three', { model: 'm' }))]);
    expect(b).toEqual(a);
  });
});
