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

  it('out-of-range values throw, each named with its allowed range, and change nothing', () => {
    const handle = createHandle({ scope: () => view(scope('range')) });
    const configure = handle.mock('mock').configure as (changes: unknown) => void;
    expect(() => configure({ failure_rate: 5, latency_ms: -100 })).toThrow(
      expect.objectContaining({
        code: 'config_invalid',
        message: expect.stringMatching(/configure\(\): 2 problems:\n {2}latency_ms: must be at least 0 \(got -100\)\.\n {2}failure_rate: must be from 0 to 1 \(0\.2 fails one call in five\) \(got 5\)\./),
      }),
    );
    expect(handle.mock('mock').settings).toMatchObject({ failure_rate: 0, latency_ms: 0 });
  });

  it('an ill-typed value (a string for a number) throws, saying what to pass instead', () => {
    const handle = createHandle({ scope: () => view(scope('typed')) });
    const configure = handle.mock('mock').configure as (changes: unknown) => void;
    expect(() => configure({ latency_ms: '300' })).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('configure(): latency_ms: must be a whole number of milliseconds, or {min, max} (got "300"). Pass the number 300, not the string "300".') }),
    );
  });

  it('a misspelt setPatterns option and a misspelt answer key throw with a did-you-mean', () => {
    const handle = createHandle({ scope: () => view(scope('keys')) });
    const setPatterns = handle.mock('mock').setPatterns as (...args: unknown[]) => void;
    const setDefault = handle.mock('mock').setDefault as (...args: unknown[]) => void;
    expect(() => setPatterns('gpt-4', { x: 'y' }, { replce: true })).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('setPatterns("gpt-4", …): options.replce: unknown key. Did you mean "replace"?') }),
    );
    expect(() => setDefault('gpt-4', { txt: 'y' })).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('setDefault("gpt-4", …): answers.txt: unknown key. Did you mean "text"?') }),
    );
  });

  it('failure: 502 is injected as an HTTP 502; a failure kind that does not exist throws, listing the kinds', async () => {
    const s = scope('status');
    const handle = createHandle({ scope: () => view(s) });
    await handle.mock('mock').configure({ failure_rate: 1, failure: 502 });
    const response = await s.fetch(
      new Request('http://scope/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }) }),
    );
    expect(response.status).toBe(502);
    expect(s.calls.at(-1)!.attempts.map((a) => `${a.provider} ${a.status}`)).toEqual(['mock 502']);
    const configure = handle.mock('mock').configure as (changes: unknown) => void;
    expect(() => configure({ failure: 'boom' })).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('failure: must be an HTTP error status from 400 to 599 (such as 429, 500, 502, 503 or 529), "timeout" or "disconnect" (got "boom").') }),
    );
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
