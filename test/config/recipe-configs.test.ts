/**
 * The recipe's two configs, as shipped in examples/recipe/, load unchanged.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';

const dir = resolve(import.meta.dirname, '../../examples/recipe');

describe('recipe configs', () => {
  it('config.yaml loads with no API keys set, routing every model to the mock twice', async () => {
    const config = await loadConfig(`${dir}/config.yaml`, { env: {} });
    expect(Object.keys(config.models)).toEqual(['gpt-4', 'gpt-3.5-turbo', 'claude-3-sonnet']);
    for (const route of Object.values(config.models)) {
      expect(route.chain).toEqual([
        { provider: 'mock', model: route.name },
        { provider: 'mock', model: route.name },
      ]);
    }
    expect(config.providers.openai).toMatchObject({ type: 'openai', enabled: false });
    expect(config.providers.anthropic).toMatchObject({ type: 'anthropic', enabled: false });
    const mock = config.providers.mock!;
    expect(mock.type).toBe('mock');
    if (mock.type !== 'mock') return;
    expect(mock.latency_ms).toBe(200);
    expect(mock.responses['gpt-4']).toEqual({
      rules: [],
      default: 'Mock GPT-4 response: [mock output for testing]',
      patterns: [
        ['debug', 'Mock response: Debugged your code successfully'],
        ['refactor', 'Mock response: Code refactored for clarity'],
      ],
    });
    expect(mock.responses['claude-3-sonnet']).toEqual({
      rules: [],
      default: 'Mock Claude response: [test output]',
      patterns: [['explain', 'Mock response: Explained the concept clearly']],
    });
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8000 });
  });

  it('config.prod.yaml loads when both keys are set, with cross-provider fallbacks', async () => {
    const config = await loadConfig(`${dir}/config.prod.yaml`, { env: { OPENAI_API_KEY: 'sk-test-1', ANTHROPIC_API_KEY: 'sk-ant-test-2' } });
    expect(config.models['gpt-4']!.chain).toEqual([
      { provider: 'openai', model: 'gpt-4' },
      { provider: 'anthropic', model: 'gpt-4' },
    ]);
    expect(config.models['claude-3-sonnet']!.chain.map((t) => t.provider)).toEqual(['anthropic', 'openai']);
    expect(config.providers.mock).toMatchObject({ type: 'mock', enabled: false });
    expect(config.providers.openai).toMatchObject({ enabled: true, api_key: 'sk-test-1' });
  });

  it('config.prod.yaml without keys fails naming each variable, its position and the fix', async () => {
    const error = await loadConfig(`${dir}/config.prod.yaml`, { env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    expect(issues.map((i) => [i.path, i.line, i.column])).toEqual([
      ['providers.openai.api_key', 4, 14],
      ['providers.anthropic.api_key', 8, 14],
    ]);
    expect(message).toContain(`${dir}/config.prod.yaml:4:14: providers.openai.api_key: uses \${OPENAI_API_KEY}, which is not set. Set it, or set providers.openai.enabled: false.`);
    expect(message).toContain('ANTHROPIC_API_KEY');
  });

  it('a missing file is a config_not_found error that says what to pass', async () => {
    const error = (await loadConfig(`${dir}/nope.yaml`).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('config_not_found');
    expect(error.message).toMatch(/nope\.yaml: cannot read the config file: the file does not exist\. Pass the path of a YAML config with --config\./);
  });
});
