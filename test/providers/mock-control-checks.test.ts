/**
 * The mock's run-time controls refuse what the config file would refuse, with
 * a message that names the mistake and the fix (tests are not type-checked
 * when Vitest runs them, so these mistakes reach the mock as written).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { TokenPakError } from '../../src/errors.ts';
import { createMockProvider, type MockProvider } from '../../src/providers/mock/mock-provider.ts';
import { ask, failure, mockFromYaml, textOfComplete } from './mock-helpers.ts';

/** What a control throws; fails the test when it does not throw. */
function thrown(action: () => void): TokenPakError {
  try {
    action();
  } catch (error) {
    expect(TokenPakError.is(error), String(error)).toBe(true);
    return error as TokenPakError;
  }
  throw new Error('expected the control to throw');
}

// Tests call the controls as untyped JavaScript would.
const loose = (mock: MockProvider) => mock as unknown as Record<'configure' | 'setPatterns' | 'setDefault' | 'failNext', (...args: unknown[]) => void>;

describe('configure() checks its settings with the config schema', () => {
  it('an unknown key fails with a did-you-mean and the settings there are, and changes nothing', () => {
    const mock = mockFromYaml();
    const error = thrown(() => loose(mock).configure({ failure_rat: 1 }));
    expect(error.code).toBe('config_invalid');
    expect(error.message).toBe(
      '[tokenpak] Mock provider "mock": configure(): failure_rat: unknown setting. Did you mean "failure_rate"? Settings: latency_ms, chunk_delay_ms, failure_rate, failure, seed, disconnect_after_chunks, timeout_ms, retry_after, on_unmatched.',
    );
    expect(mock.settings.failure_rate).toBe(0);
  });

  it('out-of-range values fail, each named with the value given; valid keys of the same call are not applied', () => {
    const mock = mockFromYaml();
    const error = thrown(() => mock.configure({ failure_rate: 5, latency_ms: -100, seed: 3 }));
    expect(error.message).toBe(
      '[tokenpak] Mock provider "mock": configure(): 2 problems:\n  latency_ms: must be at least 0 (got -100).\n  failure_rate: must be from 0 to 1 (0.2 fails one call in five) (got 5).',
    );
    expect(mock.settings).toMatchObject({ failure_rate: 0, latency_ms: 0, seed: 0 });
  });

  it('a number given as a string fails and says to pass the number', () => {
    const error = thrown(() => loose(mockFromYaml()).configure({ latency_ms: '300' }));
    expect(error.message).toBe(
      '[tokenpak] Mock provider "mock": configure(): latency_ms: must be a whole number of milliseconds, or {min, max} (got "300"). Pass the number 300, not the string "300".',
    );
  });

  it('config-only keys say what to use at run time; a non-object says what configure takes', () => {
    expect(thrown(() => loose(mockFromYaml()).configure({ responses: {} })).message).toContain(
      'responses: is not a run-time setting (use setRules(model, rules), setPatterns(model, patterns) and setDefault(model, answers)).',
    );
    expect(thrown(() => loose(mockFromYaml()).configure(0.5)).message).toContain('configure(): takes an object of settings, for example configure({ latency_ms: 300 }) (got 0.5).');
  });

  it('an unknown failure kind fails with the kinds there are', () => {
    const error = thrown(() => loose(mockFromYaml()).configure({ failure: 'slow' }));
    expect(error.message).toContain('failure: must be an HTTP error status from 400 to 599 (such as 429, 500, 502, 503 or 529), "timeout" or "disconnect" (got "slow").');
    expect(thrown(() => mockFromYaml().configure({ failure: 302 })).message).toContain('(got 302)');
  });

  it('only the keys given change: the schema defaults of the others are not applied', async () => {
    const mock = mockFromYaml('    latency_ms: 7\n    failure: 529\n');
    mock.configure({ seed: 9 });
    expect(mock.settings).toMatchObject({ seed: 9, latency_ms: 7, failure: 529 });
  });
});

describe('failure: any HTTP error status can be injected', () => {
  it('configure({ failure: 502 }) makes calls fail with a retryable 502, not an internal error', async () => {
    const mock = mockFromYaml();
    mock.configure({ failure_rate: 1, failure: 502 });
    const error = (await failure(mock.complete(ask('x')))) as TokenPakError;
    expect({ code: error.code, status: error.status, retryable: error.retryable }).toEqual({ code: 'provider_error', status: 502, retryable: true });
    expect(error.detail).toBe('Mock provider "mock" simulated a server error (HTTP 502, failure_rate: 1). Set failure_rate: 0 to turn injected failures off.');
  });

  it('a 4xx status fails as the real API would (not retryable; 401 is an auth error)', async () => {
    const mock = mockFromYaml('    failure: 401\n');
    mock.failNext(1);
    const error = (await failure(mock.complete(ask('x')))) as TokenPakError;
    expect({ code: error.code, status: error.status, retryable: error.retryable }).toEqual({ code: 'provider_auth_error', status: 401, retryable: false });
  });
});

describe('setPatterns() and setDefault() check answers as a config file would', () => {
  it('a misspelt option fails with a did-you-mean, and the patterns are not added', async () => {
    const mock = mockFromYaml('    responses:\n      m:\n        default: base\n');
    const error = thrown(() => loose(mock).setPatterns('m', { x: 'new' }, { replce: true }));
    expect(error.message).toBe('[tokenpak] Mock provider "mock": setPatterns("m", …): options.replce: unknown key. Did you mean "replace"? Known keys here: replace.');
    expect(await textOfComplete(mock, ask('x'))).toBe('base');
  });

  it('an answer with a misspelt key fails with a did-you-mean and the keys an answer has', () => {
    const error = thrown(() => loose(mockFromYaml()).setPatterns('m', { x: { txt: 'y' } }));
    expect(error.message).toBe(
      '[tokenpak] Mock provider "mock": setPatterns("m", …): patterns["x"].txt: unknown key. Did you mean "text"? Known keys here: text, json, tool_call, tool_calls, content, error, latency_ms.',
    );
  });

  it('problems inside answer lists and tool calls are located', () => {
    const error = thrown(() => loose(mockFromYaml()).setPatterns('m', [['x', ['ok', { tool_call: { nam: 'f' } }]]]));
    expect(error.message).toContain('patterns["x"][1].tool_call.nam: unknown key. Did you mean "name"?');
    expect(error.message).toContain('patterns["x"][1].tool_call.name: is required (string).');
  });

  it('a bad regular-expression key, a non-answer and an empty list fail', () => {
    expect(thrown(() => mockFromYaml().setPatterns('m', { '/(/': 'y' })).message).toContain('patterns["/(/"]: pattern key is not a valid regular expression');
    expect(thrown(() => loose(mockFromYaml()).setDefault('m', 42)).message).toBe(
      '[tokenpak] Mock provider "mock": setDefault("m", …): answers: an answer is a string, an object with one of text, json, tool_call, tool_calls, content or error, or a function of the request (got 42).',
    );
    expect(thrown(() => loose(mockFromYaml()).setDefault('m', [])).message).toContain('answers: an empty list has no answer to give. Give at least one answer.');
    expect(thrown(() => loose(mockFromYaml()).setDefault('', 'x')).message).toContain('model: must be a model name, or "*" for every model (got "").');
  });

  it("an answer function's answer is checked when it answers: the call fails with the mistake", async () => {
    const mock = mockFromYaml();
    loose(mock).setPatterns('m', { fn: () => ({ txt: 'y' }) });
    const error = (await failure(mock.complete(ask('fn')))) as TokenPakError;
    expect({ code: error.code, retryable: error.retryable }).toEqual({ code: 'config_invalid', retryable: false });
    expect(error.detail).toBe(
      'Mock provider "mock": an answer function returned an answer it cannot give: the answer.txt: unknown key. Did you mean "text"? Known keys here: text, json, tool_call, tool_calls, content, error, latency_ms.',
    );
  });
});

describe('failNext() checks its count and failure', () => {
  it('an unknown failure, a misspelt {status, message} key and a bad count fail', () => {
    expect(thrown(() => loose(mockFromYaml()).failNext(1, 'slow')).message).toBe(
      '[tokenpak] Mock provider "mock": failNext(1, …): failure: must be an HTTP error status from 400 to 599, "timeout", "disconnect" or {status, message} (got "slow").',
    );
    expect(thrown(() => loose(mockFromYaml()).failNext(1, { status: 502, mesage: 'x' })).message).toContain('failure.mesage: unknown key. Did you mean "message"?');
    expect(thrown(() => mockFromYaml().failNext(-1)).message).toContain('count: must be a whole number of calls, 0 or more (got -1).');
  });
});

describe('answers for a model no route sends to the mock', () => {
  const config = parseConfig('providers:\n  mock:\n    type: mock\nmodels:\n  gpt-4: {provider: mock}\n', { env: {} });

  it('warn with a did-you-mean, once per change, and not for served models or "*"', () => {
    const warnings: string[] = [];
    const mock = createMockProvider('mock', config.providers.mock as Extract<typeof config.providers.mock, { type: 'mock' }>, {
      servedModels: ['gpt-4'],
      onWarning: (message) => warnings.push(message),
    });
    mock.setPatterns('gpt-4', { x: 'y' });
    mock.setDefault('*', 'any');
    expect(warnings).toEqual([]);
    mock.setPatterns('gtp-4', { x: 'y' });
    mock.setDefault('gtp-4', 'z');
    expect(warnings).toEqual([
      'setPatterns("gtp-4", …): no route sends model "gtp-4" to mock "mock", so these answers are never used. Did you mean "gpt-4"? Models routed to "mock": gpt-4; "*" answers for every model.',
      'setDefault("gtp-4", …): no route sends model "gtp-4" to mock "mock", so these answers are never used. Did you mean "gpt-4"? Models routed to "mock": gpt-4; "*" answers for every model.',
    ]);
  });
});
