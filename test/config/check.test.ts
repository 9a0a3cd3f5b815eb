/**
 * checkConfig(): the summary lines, the pitfall warnings and the production
 * rule behind `tokenpak validate-config`.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/config/check.ts';
import { loadConfig } from '../../src/config/load.ts';
import { load } from './helpers.ts';

const recipe = resolve(import.meta.dirname, '../../examples/recipe');
const KEYS = { OPENAI_API_KEY: 'sk-1', ANTHROPIC_API_KEY: 'sk-2' };

describe('checkConfig', () => {
  it('the recipe dev config gives the four summary lines and no warnings', async () => {
    const check = checkConfig(await loadConfig(`${recipe}/config.yaml`, { env: {} }));
    expect(check).toEqual({
      summary: ['Config valid', 'Providers: mock (enabled)', 'Real providers: openai (disabled), anthropic (disabled)', 'All models route to mock'],
      warnings: [],
      errors: [],
    });
  });

  it('the recipe prod config passes the production rule', async () => {
    const check = checkConfig(await loadConfig(`${recipe}/config.prod.yaml`, { env: KEYS }), { env: 'production' });
    expect(check.errors).toEqual([]);
    expect(check.summary).toContain('All models route to real providers');
  });

  it('production fails for every model that can reach a mock, fallbacks included', async () => {
    const config = load(
      'providers:\n  mock: {type: mock, latency_ms: 200}\n  openai: {type: openai, api_key: k}\nmodels:\n  a: {provider: openai, fallback_provider: mock}\n  b: {provider: openai}\n  c: {provider: openai, fallback_route: a}\n',
    );
    expect(checkConfig(config).errors).toEqual([]);
    const { errors } = checkConfig(config, { env: 'production' });
    expect(errors.map((e) => e.path)).toEqual(['models.a', 'models.c']);
    expect(errors[0]!.message).toContain('can reach mock provider "mock"; a production config must route only to real providers (pitfall 2)');
  });

  it('warns when models route to a mock while a real provider is enabled (pitfall 4)', () => {
    const { warnings } = checkConfig(load('providers:\n  mock: {type: mock, latency_ms: 200}\n  openai: {type: openai, api_key: k}\nmodels:\n  gpt-4: {provider: mock}\n'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.path).toBe('providers');
    expect(warnings[0]!.message).toMatch(/models gpt-4 route to a mock while real provider\(s\) openai are enabled.*Set enabled: false.*\(pitfall 4\)/);
  });

  it('warns about a cross-provider fallback with no upstream model name, and not once one is named', () => {
    const base = 'providers:\n  openai: {type: openai, api_key: k}\n  anthropic: {type: anthropic, api_key: k}\nmodels:\n';
    const { warnings } = checkConfig(load(`${base}  gpt-4: {provider: openai, fallback_provider: anthropic}\n`));
    expect(warnings).toEqual([
      {
        path: 'models.gpt-4.fallback_model',
        message: expect.stringContaining('falls back from openai to anthropic provider "anthropic" but names no upstream model for it, so "gpt-4" is sent to anthropic'),
      },
    ]);
    expect(checkConfig(load(`${base}  gpt-4: {provider: openai, fallback_provider: anthropic, fallback_model: claude-sonnet-4}\n`)).warnings).toEqual([]);
    expect(checkConfig(load(`${base}  gpt-4: {provider: openai, fallback_provider: anthropic, fallback_model: {anthropic: claude-sonnet-4}}\n`)).warnings).toEqual([]);
  });

  it('warns about mock latency below 100 ms (pitfall 3), for a fixed value or a range', () => {
    const warn = (latency: string) => checkConfig(load(`providers:\n  mock: {type: mock, latency_ms: ${latency}}\nmodels:\n  a: {provider: mock}\n`)).warnings;
    expect(warn('0')).toEqual([{ path: 'providers.mock.latency_ms', message: expect.stringContaining('is 0 ms: below 100 ms') }]);
    expect(warn('{min: 10, max: 50}')[0]!.message).toContain('is 10-50 ms');
    expect(warn('100')).toEqual([]);
    expect(warn('{min: 200, max: 500}')).toEqual([]);
  });

  it('summarises mixed routing route by route', () => {
    const { summary } = checkConfig(
      load('providers:\n  mock: {type: mock, latency_ms: 200}\n  openai: {type: openai, api_key: k}\nmodels:\n  a: {provider: openai, fallback_provider: mock}\n  b: {provider: openai}\n'),
    );
    expect(summary.at(-1)).toBe('Routes: a → openai → mock; b → openai');
  });
});

describe('checkConfig with fallback_route', () => {
  const base = 'providers:\n  openai: {type: openai, api_key: k}\n  anthropic: {type: anthropic, api_key: k}\nmodels:\n';

  it('does not warn about targets that a fallback_route brings with their own model names', () => {
    const config = load(`${base}  gpt-4: {provider: openai, fallback_route: claude}\n  claude: {provider: anthropic, model: claude-sonnet-4}\n`);
    expect(config.models['gpt-4']!.chain.at(-1)).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4' });
    expect(checkConfig(config).warnings).toEqual([]);
  });

  it('still warns about the route\u2019s own cross-provider fallback when it also has a fallback_route', () => {
    const config = load(`${base}  gpt-4: {provider: openai, fallback_provider: anthropic, fallback_route: claude}\n  claude: {provider: anthropic, model: claude-sonnet-4}\n`);
    expect(checkConfig(config).warnings.map((w) => w.path)).toEqual(['models.gpt-4.fallback_model']);
  });
});
