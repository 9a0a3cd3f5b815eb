/**
 * Mistakes a test writer makes with the mocks, through the handle a test gets
 * (`tokenpak.mock(…)`): they fail where they are made, or show in the
 * transcript. End-to-end under Vitest: fixtures/features/misuse.spec.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { defineConfig } from '../../src/config/load.ts';
import type { Channel } from '../../src/vitest/channel.ts';
import { checkControl } from '../../src/vitest/check-scope.ts';
import { createHandle } from '../../src/vitest/handle.ts';
import { createScope, type Scope } from '../../src/vitest/scope.ts';
import { createScopeView, type ScopeView } from '../../src/vitest/scope-view.ts';
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

/** What a test's handle reads: a view of the scope, whose control channel applies changes to the scope in this process. */
function view(s: Scope): ScopeView {
  const channel = {
    async request(_op: string, payload: { mock: string; method: 'configure'; args: unknown[] }) {
      const mock = s.mock(payload.mock)!;
      (mock[payload.method] as (...args: unknown[]) => void)(...payload.args);
      return { settings: { ...mock.settings } };
    },
  } as unknown as Channel;
  const mocks = Object.fromEntries(s.mockNames.map((name) => [name, { ...s.mock(name)!.settings }]));
  const providers = Object.fromEntries(Object.entries(s.config.providers).map(([name, p]) => [name, { type: p.type, enabled: p.enabled }]));
  return createScopeView({ id: s.id, label: s.label, url: s.url, channel, info: { id: s.id, url: s.url, config: s.config, mocks, providers, source: s.config.source }, check: checkControl });
}

describe('mock controls through a test handle', () => {
  it('a misspelt setting throws a config_invalid TokenPakError naming it and the fix', () => {
    const s = scope('a');
    const v = view(s);
    const handle = createHandle({ scope: () => v });
    const configure = handle.mock('mock').configure as (changes: unknown) => void;
    expect(() => configure({ failure_rat: 1 })).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('configure(): failure_rat: unknown setting. Did you mean "failure_rate"?') }),
    );
    expect(handle.mock('mock').settings.failure_rate).toBe(0);
  });

  it('patterns for a model no route sends to the mock put a warning with a did-you-mean in the transcript', () => {
    const s = scope('b');
    const v = view(s);
    const handle = createHandle({ scope: () => v });
    handle.mock('mock').setPatterns('gtp-4', { hello: 'hi' });
    expect(handle.transcript()).toContain(
      '  warning: setPatterns("gtp-4", …): no route sends model "gtp-4" to mock "mock", so these answers are never used. Did you mean "gpt-4"? Models routed to "mock": gpt-4; "*" answers for every model.',
    );
  });

  it('a simulated provider warns about models it is never asked for', () => {
    const s = scope('c', REAL, { simulateProviders: true });
    const v = view(s);
    const handle = createHandle({ scope: () => v });
    handle.mock('openai').setDefault('gpt4o', 'x');
    expect(handle.transcript()).toContain('warning: setDefault("gpt4o", …): no route sends model "gpt4o" to mock "openai", so these answers are never used. Did you mean "gpt-4o"?');
  });
});
