/**
 * Checks made in the test's process where the test writes the call, as the
 * run's TokenPak will apply it: `useTokenPak(options)` (config found and
 * valid, real providers guarded, simulated names known) and mock controls
 * (the config schema's rules, and the warning for a model no route serves).
 * The test's process loads this (and with it the config reader and zod)
 * synchronously, only when a test file uses either.
 */
import type { MockProviderSettings, ProviderSettings } from '../config/schema.ts';
import { checkFailNext, checkSetDefault, checkSetPatterns, checkSettingChanges, RUNTIME_SETTING_KEYS, unservedModelWarning } from '../providers/mock/control-checks.ts';
import type { ScopeOptions } from './options-check.ts';
import { createConfigLoader, prepareConfig, simulatedProviders } from './options.ts';
import type { ScopeInfo } from './protocol.ts';

/** The scope's mocks, providers and config as far as they are known before the run's TokenPak builds it; throws what it would. */
export function checkScope(root: string, options: ScopeOptions, configFromEnv: string | undefined): Omit<ScopeInfo, 'id' | 'url'> {
  const config = createConfigLoader(root).load(options.config, 'the config option', configFromEnv);
  const simulated = simulatedProviders(config, options);
  const prepared = prepareConfig(config, options, simulated, () => 'http://127.0.0.1/');
  const mocks: ScopeInfo['mocks'] = {};
  const providers: ScopeInfo['providers'] = {};
  for (const [name, settings] of Object.entries(prepared.providers)) {
    providers[name] = { type: settings.type, enabled: settings.enabled };
    if (settings.enabled && settings.type === 'mock') mocks[name] = runtimeSettings(settings);
  }
  for (const [name, settings] of simulated) mocks[name] = runtimeSettings(settings);
  return { config: prepared, mocks, providers, source: config.source };
}

/** What a mock's `settings` shows (its run-time settings). */
function runtimeSettings(settings: ProviderSettings): Record<string, unknown> {
  // The same list the mock and configure() use, so a setting added there shows here too.
  return Object.fromEntries(RUNTIME_SETTING_KEYS.map((key) => [key, (settings as MockProviderSettings)[key]]));
}

/** The upstream model names the config's routes send to a provider. */
function modelsSentTo(config: unknown, provider: string): string[] {
  const models = new Set<string>();
  const routes = (config as { models?: Record<string, { chain?: Array<{ provider: string; model: string }> }> }).models ?? {};
  for (const route of Object.values(routes)) for (const target of route.chain ?? []) if (target.provider === provider) models.add(target.model);
  return [...models];
}

/**
 * Checks a mock control as the mock will (throws its error), and returns the
 * settings it leaves (`configure`) and the transcript warning it gives.
 */
export function checkControl(mock: string, method: string, args: unknown[], config: unknown): { changes?: Record<string, unknown>; warning?: string } {
  switch (method) {
    case 'configure':
      return { changes: checkSettingChanges(mock, args[0]) };
    case 'failNext':
      checkFailNext(mock, args[0], args[1]);
      return {};
    case 'setPatterns':
    case 'setDefault': {
      if (method === 'setPatterns') checkSetPatterns(mock, args[0], args[1], args[2]);
      else checkSetDefault(mock, args[0], args[1]);
      const warning = unservedModelWarning(mock, `${method}(${JSON.stringify(args[0])}, …)`, args[0] as string, modelsSentTo(config, mock));
      return warning ? { warning } : {};
    }
    default:
      return {};
  }
}
