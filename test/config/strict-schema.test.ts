/**
 * The schema is strict: unknown keys are errors with a did-you-mean, invalid
 * values say what is expected, and every error has its position.
 */
import { describe, expect, it } from 'vitest';
import { configError, load, MOCK_ONLY, onlyIssue } from './helpers.ts';

const MODELS = 'models:\n  gpt-4: {provider: mock}\n';

describe('config schema: unknown keys', () => {
  it('an unknown provider key names its position, suggests the close one and lists the known keys', () => {
    const issue = onlyIssue(`${MOCK_ONLY}    latncy_ms: 200\n${MODELS}`);
    expect(issue).toMatchObject({ path: 'providers.mock.latncy_ms', line: 4, column: 5 });
    expect(issue.message).toMatch(/^unknown key "latncy_ms"\. Did you mean "latency_ms"\? Known keys here: type, enabled, .*latency_ms/);
  });

  it('an unknown route key suggests fallback_provider', () => {
    const issue = onlyIssue(`${MOCK_ONLY}models:\n  gpt-4:\n    provider: mock\n    fallback_providr: mock\n`);
    expect(issue).toMatchObject({ path: 'models.gpt-4.fallback_providr', line: 7, column: 5 });
    expect(issue.message).toContain('Did you mean "fallback_provider"?');
  });

  it('an unknown top-level key suggests the right one', () => {
    const error = configError(`${MOCK_ONLY}${MODELS}sever:\n  port: 1\n`);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ path: 'sever', line: 6, column: 1 });
    expect(error.issues[0]!.message).toContain('Did you mean "server"?');
  });

  it('keys of openai and anthropic providers are checked against their own type', () => {
    const issue = onlyIssue(`${MOCK_ONLY}  claude:\n    type: anthropic\n    api_key: k\n    latency_ms: 5\n${MODELS}`);
    expect(issue.path).toBe('providers.claude.latency_ms');
    expect(issue.message).toContain('unknown key "latency_ms"');
    expect(issue.message).toContain('anthropic_version');
  });

  it('unknown keys inside a canned answer are errors too', () => {
    const error = configError(`${MOCK_ONLY}    responses:\n      gpt-4:\n        defualt: hi\n${MODELS}`);
    expect(error.issues[0]).toMatchObject({ path: 'providers.mock.responses.gpt-4.defualt', line: 6, column: 9 });
    expect(error.issues[0]!.message).toContain('Did you mean "default"?');
  });

  it('a config with several problems lists every one, in file order', () => {
    const error = configError(`${MOCK_ONLY}    latncy_ms: 1\n    failure_rate: 3\nmodels:\n  gpt-4: {provider: mokc}\n`);
    // The route check runs after the schema passes, so only the schema problems show.
    expect(error.issues.map((i) => [i.path, i.line])).toEqual([
      ['providers.mock.latncy_ms', 4],
      ['providers.mock.failure_rate', 5],
    ]);
    expect(error.message).toMatch(/^\[tokenpak\] Failed to load c\.yaml: 2 problems:\n {2}c\.yaml:4:5: providers\.mock\.latncy_ms: .*\n {2}c\.yaml:5:19: providers\.mock\.failure_rate: /);
  });
});

describe('config schema: invalid values', () => {
  const cases: Array<[string, string, string, RegExp]> = [
    ['provider type', 'providers:\n  m:\n    type: mok\nmodels:\n  a: {provider: m}\n', 'providers.m.type', /unknown type "mok": use one of "mock", "openai", "anthropic", "custom"\. Did you mean "mock"\?/],
    ['failure_rate above 1', `${MOCK_ONLY}    failure_rate: 1.5\n${MODELS}`, 'providers.mock.failure_rate', /must be from 0 to 1/],
    ['failure kind', `${MOCK_ONLY}    failure: slow\n${MODELS}`, 'providers.mock.failure', /must be an HTTP error status from 400 to 599 \(such as 429, 500, 502, 503 or 529\), "timeout" or "disconnect"/],
    ['failure status that is no error', `${MOCK_ONLY}    failure: 302\n${MODELS}`, 'providers.mock.failure', /must be an HTTP error status from 400 to 599/],
    ['negative latency', `${MOCK_ONLY}    latency_ms: -5\n${MODELS}`, 'providers.mock.latency_ms', /./],
    ['latency range upside down', `${MOCK_ONLY}    latency_ms: {min: 300, max: 100}\n${MODELS}`, 'providers.mock.latency_ms', /min must not be greater than max/],
    ['fractional seed', `${MOCK_ONLY}    seed: 1.5\n${MODELS}`, 'providers.mock.seed', /int/],
    ['enabled as a string', `${MOCK_ONLY}    enabled: "no"\n${MODELS}`, 'providers.mock.enabled', /expected boolean/],
    ['base_url not a URL', `${MOCK_ONLY}    base_url: localhost:8080\n${MODELS}`, 'providers.mock.base_url', /absolute http\(s\) URL/],
    ['port out of range', `${MOCK_ONLY}${MODELS}server:\n  port: 70000\n`, 'server.port', /65535/],
    ['body_limit not a size', `${MOCK_ONLY}${MODELS}server:\n  body_limit: lots\n`, 'server.body_limit', /must be a size such as 1048576, "512kb" or "4mb"/],
    ['answer with two kinds', `${MOCK_ONLY}    responses:\n      gpt-4:\n        default: {text: a, error: 429}\n${MODELS}`, 'providers.mock.responses.gpt-4.default', /exactly one of text, json, tool_call, tool_calls, content or error/],
    ['answer error status out of range', `${MOCK_ONLY}    responses:\n      gpt-4:\n        default: {error: {status: 302}}\n${MODELS}`, 'providers.mock.responses.gpt-4.default.error.status', /400/],
    ['route without provider', `${MOCK_ONLY}models:\n  gpt-4: {model: x}\n`, 'models.gpt-4.provider', /is required/],
    ['fallback_provider a number', `${MOCK_ONLY}models:\n  gpt-4: {provider: mock, fallback_provider: 3}\n`, 'models.gpt-4.fallback_provider', /must be a name, or a list of names/],
    ['fallback_model a number', `${MOCK_ONLY}models:\n  gpt-4: {provider: mock, fallback_model: 3}\n`, 'models.gpt-4.fallback_model', /must be a model name, or a map from fallback provider name to model name/],
  ];
  for (const [name, text, path, message] of cases) {
    it(`rejects ${name} at ${path} with its position`, () => {
      const error = configError(text);
      const issue = error.issues.find((i) => i.path === path);
      expect(issue, error.message).toBeDefined();
      expect(issue!.line, error.message).toBeGreaterThan(0);
      expect(issue!.column).toBeGreaterThan(0);
      expect(issue!.message).toMatch(message);
      expect(error.message).toContain(`c.yaml:${issue!.line}:${issue!.column}: ${path}: `);
    });
  }

  it('a route without providers or models at all says what to add', () => {
    const error = configError('providers: {}\nmodels: {}\n');
    expect(error.issues.map((i) => i.message)).toEqual([
      'no providers: add at least one (for example `mock: {type: mock}`)',
      'no models: add at least one route (for example `gpt-4: {provider: mock}`)',
    ]);
  });

  it('YAML syntax errors and duplicate keys are config errors with a position', () => {
    expect(onlyIssue(`${MOCK_ONLY}models:\n  gpt-4: {provider: mock\n`).message).toMatch(/^invalid YAML: /);
    const duplicate = onlyIssue(`${MOCK_ONLY}models:\n  a: {provider: mock}\n  a: {provider: mock}\n`);
    expect(duplicate).toMatchObject({ line: 6 });
    expect(duplicate.message).toMatch(/unique/);
  });

  it('an empty file or a list is rejected with what a config must be', () => {
    for (const text of ['', '- a\n']) expect(onlyIssue(text).message).toBe('the config must be a mapping with at least `providers:` and `models:`');
  });

  it('an enabled real provider without any api_key is an error at load', () => {
    const issue = onlyIssue(`${MOCK_ONLY}  openai:\n    type: openai\nmodels:\n  gpt-4: {provider: mock}\n`);
    expect(issue.path).toBe('providers.openai.api_key');
    expect(issue.message).toBe('is required for an enabled openai provider. Add api_key: ${OPENAI_API_KEY}, or set enabled: false.');
  });

  it('a valid mock with every setting loads with those values', () => {
    const config = load(
      `${MOCK_ONLY}    latency_ms: {min: 100, max: 300}\n    failure_rate: 0.2\n    failure: timeout\n    seed: 7\n    timeout_ms: 50\n    disconnect_after_chunks: 2\n    chunk_delay_ms: 5\n${MODELS}`,
    );
    expect(config.providers.mock).toMatchObject({
      latency_ms: { min: 100, max: 300 },
      failure_rate: 0.2,
      failure: 'timeout',
      seed: 7,
      timeout_ms: 50,
      disconnect_after_chunks: 2,
      chunk_delay_ms: 5,
    });
  });
});
