/**
 * `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$${` in config values, and
 * when an unset variable is an error.
 */
import { describe, expect, it } from 'vitest';
import { configError, load, MOCK_ONLY, onlyIssue } from './helpers.ts';

const withOpenAI = (extra = '') =>
  `${MOCK_ONLY}  openai:\n    type: openai\n    api_key: \${OPENAI_API_KEY}\n${extra}models:\n  gpt-4: {provider: mock}\n`;

describe('config interpolation', () => {
  it('replaces ${VAR} with the variable, inside a longer string too', () => {
    const config = load(
      `${MOCK_ONLY}  openai:\n    type: openai\n    api_key: \${KEY}\n    base_url: "https://\${HOST}/v1"\nmodels:\n  gpt-4: {provider: openai}\n`,
      { KEY: 'sk-abc', HOST: 'llm.internal' },
    );
    expect(config.providers.openai).toMatchObject({ api_key: 'sk-abc', base_url: 'https://llm.internal/v1' });
  });

  it('uses the :- default when the variable is unset or empty, and reads a plain default as a number', () => {
    const text = `${MOCK_ONLY}server:\n  port: \${PORT:-9123}\n  host: "\${HOST:-0.0.0.0}"\nmodels:\n  gpt-4: {provider: mock}\n`;
    expect(load(text).server).toMatchObject({ port: 9123, host: '0.0.0.0' });
    expect(load(text, { PORT: '', HOST: '' }).server).toMatchObject({ port: 9123, host: '0.0.0.0' });
    expect(load(text, { PORT: '7001', HOST: '::1' }).server).toMatchObject({ port: 7001, host: '::1' });
  });

  it('uses the - default only when the variable is unset (an empty value is kept)', () => {
    const text = `${MOCK_ONLY}    responses:\n      gpt-4: {default: "[\${GREETING-hello}]"}\nmodels:\n  gpt-4: {provider: mock}\n`;
    const answer = (env: Record<string, string>) => {
      const mock = load(text, env).providers.mock!;
      return mock.type === 'mock' ? mock.responses['gpt-4']!.default : undefined;
    };
    expect(answer({})).toBe('[hello]');
    expect(answer({ GREETING: '' })).toBe('[]');
    expect(answer({ GREETING: 'hi' })).toBe('[hi]');
  });

  it('$${ is a literal ${ and is not interpolated', () => {
    const mock = load(`${MOCK_ONLY}    responses:\n      gpt-4: {default: "costs $\${PRICE} today"}\nmodels:\n  gpt-4: {provider: mock}\n`, { PRICE: '5' })
      .providers.mock!;
    expect(mock.type === 'mock' && mock.responses['gpt-4']!.default).toBe('costs ${PRICE} today');
  });

  it('an unset variable of a disabled provider is not an error (recipe step 2)', () => {
    const config = load(withOpenAI('    enabled: false\n'));
    expect(config.providers.openai).toMatchObject({ enabled: false });
    expect(config.providers.openai).not.toHaveProperty('api_key');
  });

  it('an unset variable of an enabled provider names file:line:column, the key path and the fix', () => {
    const error = configError(withOpenAI());
    expect(error.code).toBe('config_invalid');
    expect(error.issues).toEqual([
      {
        path: 'providers.openai.api_key',
        line: 6,
        column: 14,
        message: 'uses ${OPENAI_API_KEY}, which is not set. Set it, or set providers.openai.enabled: false.',
      },
    ]);
    expect(error.message).toBe(
      '[tokenpak] Failed to load c.yaml:6:14: providers.openai.api_key: uses ${OPENAI_API_KEY}, which is not set. Set it, or set providers.openai.enabled: false.',
    );
  });

  it('a variable set to the empty string counts as unset for ${VAR}', () => {
    expect(onlyIssue(withOpenAI(), { OPENAI_API_KEY: '' }).message).toContain('${OPENAI_API_KEY}, which is not set');
  });

  it('enabled: written through a variable decides too', () => {
    expect(() => load(withOpenAI('    enabled: ${USE_OPENAI:-false}\n'))).not.toThrow();
    expect(onlyIssue(withOpenAI('    enabled: ${USE_OPENAI:-false}\n'), { USE_OPENAI: 'true' }).path).toBe('providers.openai.api_key');
  });

  it('an unset variable outside providers is an error that suggests a default', () => {
    const issue = onlyIssue(`${MOCK_ONLY}models:\n  gpt-4: {provider: "\${PROVIDER}"}\n`);
    expect(issue).toMatchObject({ path: 'models.gpt-4.provider', line: 5, column: 21 });
    expect(issue.message).toBe('uses ${PROVIDER}, which is not set. Set it, or give a default with ${NAME:-default}.');
    expect(load(`${MOCK_ONLY}models:\n  gpt-4: {provider: "\${PROVIDER:-mock}"}\n`).models['gpt-4']!.chain[0]!.provider).toBe('mock');
  });

  it('rejects a malformed reference with its position and how to write a literal', () => {
    const unterminated = onlyIssue(`${MOCK_ONLY}    responses:\n      gpt-4: {default: "x \${FOO"}\nmodels:\n  gpt-4: {provider: mock}\n`);
    expect(unterminated).toMatchObject({ path: 'providers.mock.responses.gpt-4.default', line: 5, column: 24 });
    expect(unterminated.message).toContain('write "$${" for a literal "${"');
    const badName = onlyIssue(`${MOCK_ONLY}    responses:\n      gpt-4: {default: "\${1FOO}"}\nmodels:\n  gpt-4: {provider: mock}\n`);
    expect(badName.message).toContain('"${1FOO}" is not a valid reference');
  });

  it('secrets from the environment never appear in errors', () => {
    const error = configError(`${MOCK_ONLY}  openai:\n    type: openai\n    api_key: \${KEY}\n    timeout_ms: fast\nmodels:\n  gpt-4: {provider: openai}\n`, {
      KEY: 'sk-very-secret',
    });
    expect(error.issues.map((i) => i.path)).toEqual(['providers.openai.timeout_ms']);
    expect(error.message).not.toContain('sk-very-secret');
  });
});
