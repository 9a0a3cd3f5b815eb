import { expect } from 'vitest';
import { parseConfig, type Config } from '../../src/config/load.ts';
import { ConfigError, type ConfigIssue } from '../../src/errors.ts';

/** A config with one enabled mock, to which tests append. */
export const MOCK_ONLY = 'providers:\n  mock:\n    type: mock\n';

/** Parses YAML as the file `c.yaml` with the given environment (never `process.env`). */
export function load(text: string, env: Record<string, string> = {}): Config {
  return parseConfig(text, { env, file: 'c.yaml' });
}

/** The ConfigError a config fails with; fails the test if it loads. */
export function configError(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    load(text, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected the config to fail:\n${text}`);
}

/** The single issue of a config that has exactly one problem. */
export function onlyIssue(text: string, env: Record<string, string> = {}): ConfigIssue {
  const error = configError(text, env);
  expect(error.issues, error.message).toHaveLength(1);
  return error.issues[0]!;
}
