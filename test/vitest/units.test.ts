/**
 * The plugin's parts in-process: options, config lookup and the real-provider
 * guard, scopes (isolation, captured calls), simulated upstreams, matchers.
 * End-to-end behaviour under Vitest is in plugin.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { defineConfig } from '../../src/config/load.ts';
import type { MatcherState } from 'vitest';
import { hookFetch } from '../../src/vitest/fetch-tagging.ts';
import { matchers } from '../../src/vitest/matchers.ts';
import { testCassetteName } from '../../src/vitest/cassette-name.ts';
import { createRunCassettes } from '../../src/vitest/cassettes.ts';
import { checkOptions, createConfigLoader, mergeScopeOptions, prepareConfig, projectRootOf, simulatedProviders } from '../../src/vitest/options.ts';
import { createScope, type Scope } from '../../src/vitest/scope.ts';
import { createSimulator } from '../../src/vitest/simulator.ts';

const dir = mkdtempSync(join(tmpdir(), 'tokenpak-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MOCK_YAML = (answer: string) => `providers:\n  mock:\n    type: mock\n    responses:\n      gpt-4:\n        default: "${answer}"\n        patterns:\n          debug: "debugged"\nmodels:\n  gpt-4: { provider: mock }\n`;
const PROD = defineConfig({
  providers: { openai: { type: 'openai', api_key: 'sk-test-secret' }, anthropic: { type: 'anthropic', api_key: 'sk-ant-test-secret' } },
  models: { 'gpt-4': { provider: 'openai', fallback_provider: 'anthropic' }, 'claude-3-sonnet': { provider: 'anthropic', fallback_provider: 'openai' } },
});

describe('options', () => {
  it('rejects unknown and ill-typed options where they are given', () => {
    expect(() => checkOptions({ simulateProvider: true }, 'tokenpak()')).toThrow('tokenpak(): unknown option "simulateProvider". Did you mean "simulateProviders"?');
    expect(() => checkOptions({ interceptHosts: true }, 'useTokenPak()', true)).toThrow(/unknown option "interceptHosts"\. It applies to a whole run: pass it to the tokenpak\(\) plugin or setupTokenPak\(\)/);
    expect(() => checkOptions({ unhandledLLMHosts: 'block' }, 'tokenpak()')).toThrow('unhandledLLMHosts must be "bypass", "warn" or "error", not "block".');
    expect(() => checkOptions({ llmHosts: 'x.example' }, 'tokenpak()')).toThrow(/llmHosts must be a list/);
    expect(() => checkOptions({ config: 42 }, 'tokenpak()')).toThrow(/config must be a file path or a config object/);
    expect(() => checkOptions({ allowRealProviders: 'yes' }, 'tokenpak()')).toThrow(/allowRealProviders must be true or false/);
    expect(() => checkOptions({ config: 'a.yaml', simulateProviders: { openai: {} }, root: '/x', transcriptOnFailure: false }, 'tokenpak()')).not.toThrow();
  });
});

describe('cassette options', () => {
  it('rejects misspelt or misplaced cassette options where they are given', () => {
    expect(() => checkOptions({ cassette: { mod: 'replay' } }, 'useTokenPak()', true)).toThrow('useTokenPak(): unknown cassette option "mod". Did you mean "mode"?');
    expect(() => checkOptions({ cassette: { mode: 'replays' } }, 'useTokenPak()', true)).toThrow('cassette.mode must be "record", "replay", "auto" or "off", not "replays".');
    expect(() => checkOptions({ cassette: '  ' }, 'useTokenPak()', true)).toThrow('cassette must be a non-empty name.');
    expect(() => checkOptions({ cassette: 'checkout' }, 'tokenpak()')).toThrow(/cassette cannot be named here: every test of the run would share it/);
    expect(() => checkOptions({ cassette: { mode: 'auto', dir: 'test/cassettes' } }, 'tokenpak()')).not.toThrow();
    expect(() => checkOptions({ cassette: { name: 'checkout/paid', mode: 'replay' } }, 'useTokenPak()', true)).not.toThrow();
  });

  it('merges a test\'s cassette option into the file\'s field by field', () => {
    expect(mergeScopeOptions({ cassette: { mode: 'auto', dir: 'c' } }, { cassette: 'named' })).toEqual({ cassette: { mode: 'auto', dir: 'c', name: 'named' } });
    expect(mergeScopeOptions({ cassette: 'shared' }, { cassette: false })).toEqual({ cassette: { name: 'shared', mode: 'off' } });
    expect(mergeScopeOptions({ allowRealProviders: true }, { cassette: true })).toEqual({ allowRealProviders: true, cassette: true });
  });

  it('names a test\'s cassette after its file and titles, readable and safe in file names', () => {
    expect(testCassetteName('/p', '/p/test/chat.test.ts', ['checkout', 'pays with a card'])).toBe('test/chat.test/checkout/pays-with-a-card');
    expect(testCassetteName('/p', '/p/chat.spec.mts', ['a/b: "c" > d?'])).toBe('chat.spec/a-b-c-d');
    // Cut names keep a hash of the whole, so two long titles stay apart.
    const long = (end: string) => testCassetteName('/p', '/p/a.test.ts', [`${'x'.repeat(120)} ${end}`]);
    expect(long('one')).not.toBe(long('two'));
    expect(long('one').split('/')[1]!.length).toBeLessThanOrEqual(100);
    expect(testCassetteName('/p', '/p/a.test.ts', ['…'])).toMatch(/^a\.test\/[0-9a-f]{8}$/);
  });

  it('refuses to record with the setup\'s placeholder key, which would fill cassettes with 401s', () => {
    const run = createRunCassettes();
    const config = defineConfig({ providers: { openai: { type: 'openai', api_key: 'tokenpak-test-key' } }, models: { 'gpt-4': { provider: 'openai' } } });
    expect(() => run.forScope(config, { cassette: true }, tmpdir(), 'a/b', true)).toThrow(
      'Recording cassettes (vitest -u or TOKENPAK_RECORD=1) calls the real API of provider "openai", but its api_key is the Vitest setup\'s placeholder: OPENAI_API_KEY is not set. Set OPENAI_API_KEY for the recording run',
    );
    expect(() => run.forScope(config, { cassette: { mode: 'auto' } }, tmpdir(), 'a/b', false)).toThrow(/cassette mode auto\) calls the real API/);
    // Replaying needs no key; a local API (base_url on this machine) none either.
    expect(run.forScope(config, { cassette: true }, tmpdir(), 'a/b', false)).toBeDefined();
    const local = defineConfig({ providers: { openai: { type: 'openai', api_key: 'tokenpak-test-key', base_url: 'http://127.0.0.1:9/v1' } }, models: { 'gpt-4': { provider: 'openai' } } });
    expect(run.forScope(local, { cassette: true }, tmpdir(), 'a/b', true)).toBeDefined();
  });

  it('exempts from the real-API guard the providers that recordings answer', () => {
    const config = defineConfig({ providers: { openai: { type: 'openai', api_key: 'k' } }, models: { 'gpt-4': { provider: 'openai' } } });
    expect(() => prepareConfig(config, {}, new Map(), () => '')).toThrow(/would call the real OpenAI API/);
    expect(prepareConfig(config, { cassette: true }, new Map(), () => '').providers.openai!.enabled).toBe(true);
    expect(() => prepareConfig(config, { cassette: { mode: 'off' } }, new Map(), () => '')).toThrow(/would call the real OpenAI API/);
  });
});

describe('config lookup', () => {
  const saved = process.env.TOKENPAK_CONFIG;
  afterEach(() => {
    if (saved === undefined) delete process.env.TOKENPAK_CONFIG;
    else process.env.TOKENPAK_CONFIG = saved;
  });

  it('finds tokenpak.config.yaml in the root, else TOKENPAK_CONFIG, else says what to do', () => {
    delete process.env.TOKENPAK_CONFIG;
    const root = join(dir, 'lookup');
    mkdirSync(root, { recursive: true });
    const loader = createConfigLoader(root);
    expect(() => loader.load(undefined)).toThrow(/found no config: there is no tokenpak\.config\.yaml in .*lookup and TOKENPAK_CONFIG is not set\. Create tokenpak\.config\.yaml/);
    writeFileSync(join(root, 'tokenpak.config.yaml'), MOCK_YAML('from the default file'));
    expect(loader.load(undefined).providers.mock).toMatchObject({ type: 'mock' });
    expect(loader.load(undefined).source).toBe('tokenpak.config.yaml');
    writeFileSync(join(root, 'other.yaml'), MOCK_YAML('from TOKENPAK_CONFIG'));
    process.env.TOKENPAK_CONFIG = 'other.yaml';
    expect(loader.load(undefined).source).toBe('other.yaml');
    process.env.TOKENPAK_CONFIG = 'missing.yaml';
    expect(() => loader.load(undefined)).toThrow(/missing\.yaml.*cannot read the config file named by TOKENPAK_CONFIG: the file does not exist/);
  });

  it('reloads a file only when it changes, and takes inline and resolved configs', () => {
    const file = join(dir, 'cached.yaml');
    writeFileSync(file, MOCK_YAML('one'));
    const loader = createConfigLoader(dir);
    const first = loader.load(file);
    expect(loader.load(file)).toBe(first);
    writeFileSync(file, MOCK_YAML('two'));
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(loader.load(file)).not.toBe(first);
    const inline = loader.load({ providers: { m: { type: 'mock' } }, models: { x: { provider: 'm' } } });
    expect(inline.source).toBe('<inline>');
    expect(loader.load(inline)).toBe(inline);
    expect(() => loader.load({ providers: {}, models: { x: { provider: 'nope' } } })).toThrow(/nope/);
  });

  it('the project root is the nearest directory above the test file with a package.json', () => {
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'test/deep'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{}');
    expect(projectRootOf(join(pkg, 'test/deep/a.test.ts'), '/fallback')).toBe(pkg);
    expect(projectRootOf(undefined, '/fallback')).toBe('/fallback');
  });
});

describe('the real-provider guard', () => {
  it('refuses enabled real providers unless simulated, local or allowed', () => {
    expect(() => prepareConfig(PROD, {}, new Map(), () => '')).toThrow(
      /enables provider "openai" \(type openai\), which would call the real OpenAI API from your tests\. Set providers\.openai\.enabled: false, answer it with a local stand-in \(simulateProviders: true\) or from recordings \(cassette: true\), or allow it explicitly \(allowRealProviders: true\)/,
    );
    const local = defineConfig({ providers: { openai: { type: 'openai', base_url: 'http://127.0.0.1:9/v1' } }, models: { m: { provider: 'openai' } } });
    expect(prepareConfig(local, {}, new Map(), () => '').providers.openai!.base_url).toBe('http://127.0.0.1:9/v1');
    // Allowed providers get the public API explicitly: the plugin points OPENAI_BASE_URL at TokenPak itself.
    const allowed = prepareConfig(PROD, { allowRealProviders: true }, new Map(), () => '');
    expect(allowed.providers.openai!.base_url).toBe('https://api.openai.com/v1');
    expect(allowed.providers.anthropic!.base_url).toBe('https://api.anthropic.com');
  });

  it('simulated providers get their stand-in URL and short backoff, and bad names are refused', () => {
    const simulated = simulatedProviders(PROD, { simulateProviders: true });
    expect([...simulated.keys()]).toEqual(['openai', 'anthropic']);
    const prepared = prepareConfig(PROD, { simulateProviders: true }, simulated, (name) => `http://127.0.0.1:1/${name}`);
    expect(prepared.providers.openai).toMatchObject({ base_url: 'http://127.0.0.1:1/openai', retry_base_ms: 1, retry_max_ms: 20, max_retries: 2 });
    expect(() => simulatedProviders(PROD, { simulateProviders: { opneai: {} } })).toThrow(/simulateProviders names "opneai", which is not an enabled real provider .* Simulated providers can be: openai, anthropic/);
    expect(() => simulatedProviders(PROD, { simulateProviders: { openai: { latency_ms: -1 } } })).toThrow(/latency_ms/);
  });
});

describe('scopes', () => {
  const simulator = createSimulator((error) => {
    throw error;
  });
  afterAll(() => simulator.close());
  const config = createConfigLoader(dir).load({
    providers: { mock: { type: 'mock', responses: { 'gpt-4': { default: 'default answer', patterns: { debug: 'debugged' } } } }, backup: { type: 'mock' } },
    models: { 'gpt-4': { provider: 'mock', fallback_provider: 'backup' } },
  });
  const scope = (id: string, options = {}): Scope =>
    createScope({ id, label: id, url: () => `http://scope/${id}`, config, options, simulator, onInternalError: (error) => { throw error; } });
  const ask = (s: Scope, prompt: string, extra: Record<string, unknown> = {}) =>
    s.fetch(new Request('http://127.0.0.1/v1/messages', { method: 'POST', body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: prompt }], ...extra }) })).then((r) => r.json() as Promise<{ content: string }>);

  it('keep their mock state and calls to themselves', async () => {
    const a = scope('a');
    const b = scope('b');
    a.mock('mock')!.setPatterns('gpt-4', { hello: 'hello from a' });
    expect((await ask(a, 'hello')).content).toBe('hello from a');
    expect((await ask(b, 'hello')).content).toBe('default answer');
    expect(a.calls.map((c) => c.prompt)).toEqual(['hello']);
    expect(b.calls).toHaveLength(1);
    expect(a.mockNames).toEqual(['mock', 'backup']);
  });

  it('capture each attempt with its pattern and injected failure, streams included', async () => {
    const s = scope('c');
    s.mock('mock')!.failNext(1, 529);
    const streamed = await s.fetch(new Request('http://127.0.0.1/v1/messages', { method: 'POST', body: JSON.stringify({ model: 'gpt-4', stream: true, system: 'Be brief.', messages: [{ role: 'user', content: 'debug this' }] }) }));
    expect(await streamed.text()).toContain('event: done');
    const call = s.calls[0]!;
    expect(call).toMatchObject({ outcome: 'ok', provider: 'backup', stream: true, prompt: 'debug this', text: expect.any(String) });
    expect(call.request?.system).toBe('Be brief.');
    expect(call.attempts).toEqual([
      expect.objectContaining({ provider: 'mock', outcome: 'error', status: 529, injected: 529, source: { kind: 'pattern', key: 'debug' } }),
      expect.objectContaining({ provider: 'backup', outcome: 'ok', source: { kind: 'generated' } }),
    ]);
  });

  it('a scope with simulated providers offers its mocks before it has finished building', async () => {
    const mixed = defineConfig({
      providers: { mock: { type: 'mock' }, openai: { type: 'openai', api_key: 'k' } },
      models: { 'gpt-4': { provider: 'openai', fallback_provider: 'mock' } },
    });
    const s = createScope({ id: 'm', label: 'm', url: () => 'http://scope/m', config: mixed, options: { simulateProviders: true }, simulator, onInternalError: (e) => { throw e; } });
    expect(s.mockNames).toEqual(['mock', 'openai']);
    s.mock('openai')!.failNext(3, 503);
    s.mock('mock')!.setDefault('gpt-4', 'the mock fallback');
    expect((await ask(s, 'hi')).content).toBe('the mock fallback');
    await s.dispose();
  });

  it('waitForCalls resolves when the calls finish, and times out with a hint', async () => {
    const s = scope('d');
    s.mock('mock')!.configure({ latency_ms: 30 });
    void ask(s, 'later');
    expect((await s.waitForCalls(1, 2_000))[0]!.prompt).toBe('later');
    await expect(s.waitForCalls(5, 50)).rejects.toThrow('Waited 50 ms for 5 call(s) to finish, but 1 did. Check that the code under test reaches TokenPak');
  });

  it('simulated providers run the real provider code against a stand-in, and keys never reach the calls', async () => {
    const s = createScope({ id: 's', label: 's', url: () => 'http://scope/s', config: PROD, options: { simulateProviders: true }, simulator, onInternalError: (e) => { throw e; } });
    await s.ready();
    s.mock('openai')!.failNext(3, 500);
    s.mock('anthropic')!.setDefault('gpt-4', 'from the Anthropic stand-in');
    const response = await s.fetch(new Request('http://127.0.0.1/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'gpt-4', stream: true, messages: [{ role: 'user', content: 'hi' }] }) }));
    const body = await response.text();
    expect(body).toContain('from');
    expect(body).toContain('data: [DONE]');
    const call = s.calls[0]!;
    expect(call).toMatchObject({ provider: 'anthropic', text: 'from the Anthropic stand-in' });
    // One attempt record per try: the OpenAI provider tried three times (max_retries: 2), each a request to its stand-in.
    expect(call.attempts.map((a) => a.provider)).toEqual(['openai', 'openai', 'openai', 'anthropic']);
    for (const attempt of call.attempts.slice(0, 3)) expect(attempt).toMatchObject({ provider: 'openai', status: 500, simulated: true, injected: 500, upstreamCalls: 1 });
    expect(call.attempts[3]).toMatchObject({ provider: 'anthropic', outcome: 'ok', simulated: true });
    expect(JSON.stringify(s.calls)).not.toMatch(/sk-test-secret|sk-ant-test-secret/);
    await s.dispose();
    // The stand-in is gone with its scope.
    const gone = await fetch(`${await simulator.url()}/s/openai/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(gone.status).toBe(404);
  });
});

describe('matchers', () => {
  const state = (isNot = false) => ({ isNot }) as MatcherState;
  const call = (provider: string, attempts: string[], model = 'gpt-4') => ({
    id: 'r', startedAt: 0, clientFormat: 'openai-chat' as const, model, provider, upstreamModel: model, outcome: 'ok' as const, status: 200, latencyMs: 1,
    inputTokens: 1, outputTokens: 1, costCents: 0, stream: false, prompt: 'p', text: 't', toolCalls: [],
    request: { model, system: 'System words', messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Find the bug' }] }] },
    attempts: attempts.map((p, i) => ({ provider: p, providerType: 'mock' as const, model, outcome: (i === attempts.length - 1 ? 'ok' : 'error') as 'ok' | 'error', status: i === attempts.length - 1 ? 200 : 500, latencyMs: 1, costCents: 0 })),
  });

  it('pass and fail on calls, with messages for both senses', () => {
    const calls = [call('backup', ['mock', 'backup']), call('mock', ['mock'], 'gpt-3.5')];
    expect(matchers.toHaveCalledProvider.call(state(), calls, 'mock', 2).pass).toBe(true);
    const failed = matchers.toHaveCalledProvider.call(state(), calls, 'backup', 2);
    expect(failed.pass).toBe(false);
    expect(failed.message()).toMatch(/^expected provider "backup" to have been called 2 times, but it was called 1 time\n\nTokenPak transcript of the calls given: 2 calls/);
    expect(matchers.toHaveCalledProvider.call(state(true), calls, 'mock').message()).toMatch(/^expected provider "mock" not to have been called, but it was called 2 times/);
    expect(matchers.toHaveFallenBackTo.call(state(), calls, 'backup').pass).toBe(true);
    expect(matchers.toHaveFallenBackTo.call(state(), calls, 'mock').message()).toMatch(/"mock" answered 1 call as the first provider tried, which is not a fallback/);
    expect(matchers.toHaveReceivedPrompt.call(state(), calls, 'System words').pass).toBe(true);
    expect(matchers.toHaveReceivedPrompt.call(state(), calls, /find the BUG/i).pass).toBe(true);
    expect(matchers.toHaveReceivedPrompt.call(state(), calls, 'absent').message()).toMatch(/expected a call whose prompt contains "absent", but none of 2 calls did/);
    expect(matchers.toHaveCalledModel.call(state(), calls, 'gpt-3.5', 1).pass).toBe(true);
    expect(matchers.toHaveMadeCalls.call(state(), calls, 3).message()).toMatch(/expected 3 calls through TokenPak, but there were 2/);
    expect(matchers.toHaveMadeCalls.call(state(), calls[0], 1).pass).toBe(true);
  });

  it('explain what they accept', () => {
    expect(() => matchers.toHaveMadeCalls.call(state(), undefined, 1)).toThrow(/got undefined \(lastCall\(\) returns undefined when no call has finished yet/);
    expect(() => matchers.toHaveMadeCalls.call(state(), 'calls', 1)).toThrow(/expected a TokenPak handle \(useTokenPak\(\), the tokenpak fixture\), its calls \(tokenpak\.calls\) or one call \(tokenpak\.lastCall\(\)\), but got string/);
  });
});

describe('the fetch hook', () => {
  it('hands the calls it claims to the handler (which may let one through), everything else to the previous fetch, and restores it', async () => {
    const original = globalThis.fetch;
    const seen: string[] = [];
    const fake = (async (input: string | URL | Request) => {
      seen.push(`previous ${String(input)}`);
      return new Response('from previous');
    }) as typeof fetch;
    globalThis.fetch = fake;
    try {
      const claims = (url: string) => url.startsWith('http://127.0.0.1:4321/');
      const remove = hookFetch(claims, (request) => {
        if (request.url.endsWith('/let-through')) return undefined;
        return request.text().then((body) => {
          seen.push(`handler ${request.method} ${request.url} ${body}`);
          return Response.json({ ok: true });
        });
      });
      expect(await (await fetch('http://127.0.0.1:4321/v1/chat/completions', { method: 'POST', body: '{"a":1}' })).json()).toEqual({ ok: true });
      await fetch(new URL('http://127.0.0.1:4321/__tokenpak/t1/v1/models'));
      await fetch(new Request('http://127.0.0.1:4321/healthz'));
      expect(await (await fetch('http://127.0.0.1:43210/other')).text()).toBe('from previous');
      expect(await (await fetch('http://127.0.0.1:4321/let-through')).text()).toBe('from previous');
      expect(seen).toEqual([
        'handler POST http://127.0.0.1:4321/v1/chat/completions {"a":1}',
        'handler GET http://127.0.0.1:4321/__tokenpak/t1/v1/models ',
        'handler GET http://127.0.0.1:4321/healthz ',
        'previous http://127.0.0.1:43210/other',
        'previous [object Request]',
      ]);
      const held = globalThis.fetch;
      remove();
      expect(globalThis.fetch).toBe(fake);
      // A client that kept the wrapper (no test isolation) reaches the next file's TokenPak through it.
      const removeNext = hookFetch(claims, async () => new Response('next file'));
      expect(await (await held('http://127.0.0.1:4321/v1/models')).text()).toBe('next file');
      removeNext();
      expect(await (await held('http://127.0.0.1:4321/v1/models')).text()).toBe('from previous');
      expect(globalThis.fetch).toBe(fake);
    } finally {
      globalThis.fetch = original;
    }
  });
});
