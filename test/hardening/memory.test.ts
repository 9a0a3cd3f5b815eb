/**
 * Bounded memory (issue 11, item 2): the mock keeps its recent calls within
 * a byte budget, so 3.9 MB prompts no longer pile up (the proxy died
 * of a fatal heap error after about 1,100 of them). Measured in a child
 * process running the built package, with a bounded number of requests.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMockProvider, MAX_KEPT_CALL_BYTES } from '../../src/providers/mock/mock-provider.ts';
import { mockProviderSchema } from '../../src/config/schema.ts';
import { root } from '../cli/helpers.ts';
import { runNode } from './helpers.ts';

const PROMPT_BYTES = 3_900_000;

describe('the mock keeps its calls within a byte budget', () => {
  it('3.9 MB prompts: only as many calls as fit in the budget are kept, the newest always', async () => {
    const mock = createMockProvider('mock', mockProviderSchema.parse({ type: 'mock' }));
    const big = 'x'.repeat(PROMPT_BYTES);
    for (let i = 0; i < 20; i++) await mock.complete({ model: 'gpt-4', messages: [{ role: 'user', content: [{ type: 'text', text: `${big}${i}` }] }] });
    const kept = mock.calls;
    expect(kept.length).toBeLessThan(20);
    expect(kept.length).toBeGreaterThan(1);
    expect(kept.length * PROMPT_BYTES).toBeLessThanOrEqual(MAX_KEPT_CALL_BYTES);
    expect(kept.at(-1)!.index).toBe(19);
    expect(kept.at(-1)!.prompt.endsWith('19')).toBe(true);
    // Small calls after the big ones: the big ones make room.
    for (let i = 0; i < 50; i++) await mock.complete({ model: 'gpt-4', messages: [{ role: 'user', content: [{ type: 'text', text: 'small' }] }] });
    expect(mock.calls.filter((call) => call.prompt.length > 1000).length).toBeLessThan(kept.length);
  }, 60_000);

  it('a proxy answering 40 requests of 3.9 MB keeps its heap flat (child process, built package)', async () => {
    const script = `
      const { startProxy, parseConfig } = await import(${JSON.stringify(join(root, 'dist/index.js'))});
      const config = parseConfig('providers:\\n  mock: {type: mock}\\nmodels:\\n  gpt-4: {provider: mock}\\n', { env: {} });
      const proxy = await startProxy({ config, port: 0, host: '127.0.0.1' });
      const big = 'x'.repeat(${PROMPT_BYTES});
      const heap = () => { globalThis.gc(); return process.memoryUsage().heapUsed; };
      let before = 0;
      for (let i = 0; i < 40; i++) {
        const body = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: big + i }] });
        const res = await fetch(proxy.url + '/v1/chat/completions', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        if (res.status !== 200) throw new Error('status ' + res.status + ': ' + (await res.text()));
        await res.text();
        if (i === 9) before = heap();
      }
      const after = heap();
      console.log(JSON.stringify({ growthMb: (after - before) / 1e6, kept: proxy.providers.get('mock').calls.length }));
      await proxy.close({ graceMs: 0 });`;
    const result = await runNode(['--expose-gc', '--max-old-space-size=512', '--input-type=module', '-e', script], { cwd: root, limitMs: 170_000 });
    expect(result.code, result.stderr).toBe(0);
    const { growthMb, kept } = JSON.parse(result.stdout) as { growthMb: number; kept: number };
    // Before the budget, each request kept its 3.9 MB prompt: 30 more requests grew the heap by over 100 MB.
    expect(growthMb).toBeLessThan(50);
    expect(kept).toBeLessThan(40);
  }, 180_000);
});
