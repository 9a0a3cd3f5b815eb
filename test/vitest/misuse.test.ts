/**
 * Mistakes a test writer makes with the mocks, through the handle a test gets
 * (`tokenpak.mock(…)`): they fail where they are made, or show in the
 * transcript. End-to-end under Vitest: fixtures/features/misuse.spec.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { defineConfig } from '../../src/config/load.ts';
import { createHandle } from '../../src/vitest/handle.ts';
import { createScope, type Scope } from '../../src/vitest/scope.ts';
import { createSimulator } from '../../src/vitest/simulator.ts';

const simulator = createSimulator((error) => {
  throw error;
});
afterAll(() => simulator.close());

const MOCKS = defineConfig({ providers: { mock: { type: 'mock' } }, models: { 'gpt-4': { provider: 'mock' } } });
const REAL = defineConfig({ providers: { openai: { type: 'openai', api_key: 'sk-test' } }, models: { 'gpt-4o': { provider: 'openai' } } });

function scope(id: string, config = MOCKS, options = {}): Scope {
  return createScope({ id, label: `test "${id}"`, url: () => `http://scope/${id}`, config, options, simulator, onInternalError: (error) => { throw error; } });
}

describe('mock controls through a test handle', () => {
  it('a misspelt setting throws a config_invalid TokenPakError naming it and the fix', () => {
    const s = scope('a');
    const handle = createHandle({ scope: () => s });
    const configure = handle.mock('mock').configure as (changes: unknown) => void;
    expect(() => configure({ failure_rat: 1 })).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('configure(): failure_rat: unknown setting. Did you mean "failure_rate"?') }),
    );
    expect(handle.mock('mock').settings.failure_rate).toBe(0);
  });

  it('patterns for a model no route sends to the mock put a warning with a did-you-mean in the transcript', () => {
    const s = scope('b');
    const handle = createHandle({ scope: () => s });
    handle.mock('mock').setPatterns('gtp-4', { hello: 'hi' });
    expect(handle.transcript()).toContain(
      '  warning: setPatterns("gtp-4", …): no route sends model "gtp-4" to mock "mock", so these answers are never used. Did you mean "gpt-4"? Models routed to "mock": gpt-4; "*" answers for every model.',
    );
  });

  it('a simulated provider warns about models it is never asked for', () => {
    const s = scope('c', REAL, { simulateProviders: true });
    const handle = createHandle({ scope: () => s });
    handle.mock('openai').setDefault('gpt4o', 'x');
    expect(handle.transcript()).toContain('warning: setDefault("gpt4o", …): no route sends model "gpt4o" to mock "openai", so these answers are never used. Did you mean "gpt-4o"?');
  });
});
