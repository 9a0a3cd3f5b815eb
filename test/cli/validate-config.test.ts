/**
 * `tokenpak validate-config`, run as the built CLI.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recipeDir, run, writeConfig } from './helpers.ts';

const MOCK = 'providers:\n  mock:\n    type: mock\n    latency_ms: 200\n';

describe('tokenpak validate-config', () => {
  it('prints exactly the recipe\u2019s four ✓ lines for the dev config and exits 0', async () => {
    const result = await run(['validate-config', join(recipeDir, 'config.yaml')]);
    expect(result).toEqual({
      code: 0,
      stdout: '✓ Config valid\n✓ Providers: mock (enabled)\n✓ Real providers: openai (disabled), anthropic (disabled)\n✓ All models route to mock\n',
      stderr: '',
    });
  });

  const errorCases: Array<[string, string, string[]]> = [
    ['a route to an unknown provider', `${MOCK}models:\n  gpt-4: {provider: mokc}\n`, ['6:21: models.gpt-4.provider: routes to unknown provider "mokc". Did you mean "mock"? Configured providers: mock.']],
    [
      'a route to a disabled provider',
      `${MOCK}  openai: {type: openai, enabled: false}\nmodels:\n  gpt-4: {provider: mock, fallback_provider: openai}\n`,
      ['7:46: models.gpt-4.fallback_provider: routes to provider "openai", which is disabled (enabled: false). Enable it, or route gpt-4 to an enabled provider.'],
    ],
    [
      'a fallback cycle',
      `${MOCK}models:\n  a: {provider: mock, fallback_route: b}\n  b: {provider: mock, fallback_route: a}\n`,
      ['7:39: models.b.fallback_route: fallback cycle: a → b → a. Remove one of these fallback_route entries.'],
    ],
    [
      'an unset env var of an enabled provider',
      `${MOCK}  openai:\n    type: openai\n    api_key: \${OPENAI_API_KEY}\nmodels:\n  gpt-4: {provider: mock}\n`,
      ['7:14: providers.openai.api_key: uses ${OPENAI_API_KEY}, which is not set. Set it, or set providers.openai.enabled: false.'],
    ],
    ['an invalid value', `${MOCK}    failure_rate: 1.5\nmodels:\n  gpt-4: {provider: mock}\n`, ['5:19: providers.mock.failure_rate: must be from 0 to 1 (0.2 fails one call in five)']],
    [
      'an unknown key',
      `${MOCK}    latncy_ms: 5\nmodels:\n  gpt-4: {provider: mock}\n`,
      ['5:5: providers.mock.latncy_ms: unknown key "latncy_ms". Did you mean "latency_ms"? Known keys here: '],
    ],
    [
      'an invalid /regex/ pattern key',
      `${MOCK}    responses:\n      gpt-4:\n        patterns:\n          "/(x/": y\nmodels:\n  gpt-4: {provider: mock}\n`,
      ['8:11: providers.mock.responses.gpt-4.patterns./(x/: pattern key "/(x/" is not a valid regular expression: '],
    ],
  ];
  for (const [name, yaml, expected] of errorCases) {
    it(`lists ${name} as a ✗ line with file:line:column and exits 1`, async () => {
      const file = writeConfig(`invalid-${name.replace(/\W+/g, '-')}.yaml`, yaml);
      const result = await run(['validate-config', file]);
      expect(result.code, result.stdout + result.stderr).toBe(1);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(expected.length + 1);
      expected.forEach((line, i) => expect(lines[i]!.startsWith(`✗ ${file}:${line}`), `${lines[i]}\n  should start with\n✗ ${file}:${line}`).toBe(true));
      expect(lines.at(-1)).toBe(`✗ Config invalid: ${expected.length} error${expected.length === 1 ? '' : 's'}`);
      expect(result.stdout).not.toContain('✓');
    });
  }

  it('lists every error of a config with several', async () => {
    const file = writeConfig('several.yaml', `${MOCK}models:\n  a: {provider: nope}\n  b: {provider: mock, fallback_route: zz}\n`);
    const result = await run(['validate-config', file]);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n').filter((l) => l.startsWith('✗ '))).toHaveLength(3);
    expect(result.stdout).toContain('✗ Config invalid: 2 errors');
  });

  it('warns about mock latency below 100 ms (pitfall 3) and exits 0', async () => {
    const file = writeConfig('fast-mock.yaml', 'providers:\n  mock: {type: mock, latency_ms: 10}\nmodels:\n  gpt-4: {provider: mock}\n');
    const result = await run(['validate-config', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✓ Config valid\n');
    expect(result.stdout).toMatch(/^⚠ providers\.mock\.latency_ms: is 10 ms: below 100 ms, slow code paths go unnoticed\. 200 to 500 ms is realistic \(pitfall 3\)\.$/m);
  });

  it('warns about a dev config that routes to mocks while a real provider is enabled (pitfall 4) and exits 0', async () => {
    const file = writeConfig('leaky.yaml', `${MOCK}  openai: {type: openai, api_key: sk-test}\nmodels:\n  gpt-4: {provider: mock}\n`);
    const result = await run(['validate-config', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^⚠ providers: models gpt-4 route to a mock while real provider\(s\) openai are enabled: .*\(pitfall 4\)\.$/m);
    expect(result.stdout).not.toContain('sk-test');
  });

  it('warns about a cross-provider fallback without an upstream model name and exits 0', async () => {
    const file = writeConfig('cross.yaml', 'providers:\n  openai: {type: openai, api_key: k1}\n  anthropic: {type: anthropic, api_key: k2}\nmodels:\n  gpt-4: {provider: openai, fallback_provider: anthropic}\n');
    const result = await run(['validate-config', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^⚠ models\.gpt-4\.fallback_model: falls back from openai to anthropic provider "anthropic" but names no upstream model for it/m);
  });

  it('--env production fails for every model that can reach a mock (pitfall 2)', async () => {
    const result = await run(['validate-config', join(recipeDir, 'config.yaml'), '--env', 'production']);
    expect(result.code).toBe(1);
    const errors = result.stdout.split('\n').filter((l) => l.startsWith('✗ ') && !l.startsWith('✗ Config invalid'));
    expect(errors.map((l) => l.split(':')[0])).toEqual([`✗ ${join(recipeDir, 'config.yaml')}`, `✗ ${join(recipeDir, 'config.yaml')}`, `✗ ${join(recipeDir, 'config.yaml')}`]);
    expect(errors[0]).toContain('models.gpt-4: can reach mock provider "mock"; a production config must route only to real providers (pitfall 2)');
    expect(result.stdout).toContain('✗ Config invalid: 3 errors');
  });

  it('NODE_ENV=production applies the production rule too; --env development overrides it', async () => {
    const file = join(recipeDir, 'config.yaml');
    expect((await run(['validate-config', file], { NODE_ENV: 'production' })).code).toBe(1);
    expect((await run(['validate-config', file, '--env', 'development'], { NODE_ENV: 'production' })).code).toBe(0);
  });

  it('the recipe prod config passes --env production when its keys are set', async () => {
    const result = await run(['validate-config', join(recipeDir, 'config.prod.yaml'), '--env', 'production'], { OPENAI_API_KEY: 'sk-a', ANTHROPIC_API_KEY: 'sk-b' });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain('✓ All models route to real providers');
    expect(result.stdout).not.toMatch(/sk-a|sk-b/);
  });

  it('--json prints a machine-readable report, valid or not, without secrets', async () => {
    const valid = await run(['validate-config', join(recipeDir, 'config.prod.yaml'), '--json'], { OPENAI_API_KEY: 'sk-secret-1', ANTHROPIC_API_KEY: 'sk-secret-2' });
    expect(valid.code).toBe(0);
    const report = JSON.parse(valid.stdout);
    expect(report).toMatchObject({ valid: true, env: 'development', errors: [], summary: expect.arrayContaining(['Config valid']) });
    expect(report.warnings.map((w: { path: string }) => w.path)).toEqual(['models.gpt-4.fallback_model', 'models.gpt-3.5-turbo.fallback_model', 'models.claude-3-sonnet.fallback_model']);
    expect(report.providers).toEqual([
      { name: 'openai', type: 'openai', enabled: true },
      { name: 'anthropic', type: 'anthropic', enabled: true },
      { name: 'mock', type: 'mock', enabled: false },
    ]);
    expect(report.models[0]).toEqual({ name: 'gpt-4', chain: [{ provider: 'openai', model: 'gpt-4' }, { provider: 'anthropic', model: 'gpt-4' }] });
    expect(valid.stdout).not.toContain('sk-secret');

    const invalid = await run(['validate-config', join(recipeDir, 'config.prod.yaml'), '--json']);
    expect(invalid.code).toBe(1);
    const bad = JSON.parse(invalid.stdout);
    expect(bad.valid).toBe(false);
    expect(bad.errors).toEqual([
      expect.objectContaining({ path: 'providers.openai.api_key', line: 4, column: 14 }),
      expect.objectContaining({ path: 'providers.anthropic.api_key', line: 8, column: 14 }),
    ]);
  });

  it('a missing file is an error (exit 1) that says what to pass', async () => {
    const result = await run(['validate-config', 'does-not-exist.yaml']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✗ does-not-exist.yaml: cannot read the config file: the file does not exist.');
  });

  it.each([
    [['validate-config'], /validate-config takes exactly one config file/],
    [['validate-config', 'a.yaml', 'b.yaml'], /validate-config takes exactly one config file/],
    [['validate-config', 'a.yaml', '--strict'], /tokenpak validate-config: unknown option --strict\. /],
    [['validate-config', 'a.yaml', '--env', 'staging'], /--env must be "development" or "production", not "staging"/],
    [['validate-confg', 'a.yaml'], /unknown command "validate-confg"/],
    [[], /Usage: tokenpak <command>/],
  ])('usage error %j exits 2', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).toMatch(message);
  });

  it('--help exits 0', async () => {
    const result = await run(['validate-config', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Exit codes: 0 valid, 1 invalid, 2 usage error.');
  });
});
