/**
 * Builds the provider objects of a config. Disabled providers are never
 * created, so they are never called and need no key.
 */
import type { Config } from '../config/load.ts';
import type { ProviderSettings } from '../config/schema.ts';
import { createAnthropicProvider } from './anthropic/anthropic-provider.ts';
import { createMockProvider } from './mock/mock-provider.ts';
import { createOpenAIProvider } from './openai/openai-provider.ts';
import type { Provider } from './types.ts';
import { TokenPakError } from '../errors.ts';

/**
 * Creates one provider from its settings. Pass your own to `startProxy({ providerFactory })`
 * to build providers of `type: custom` (or to wrap the built-in ones); for a fixed object,
 * `startProxy({ providers: { name: provider } })` is shorter.
 */
export type ProviderFactory = (name: string, settings: ProviderSettings) => Provider;

export const createProvider: ProviderFactory = (name, settings) => {
  switch (settings.type) {
    case 'mock':
      return createMockProvider(name, settings);
    case 'openai':
      return createOpenAIProvider(name, settings);
    case 'anthropic':
      return createAnthropicProvider(name, settings);
    case 'custom':
      throw new TokenPakError(
        'config_invalid',
        `Provider "${name}" is type custom, and no implementation of it was given. Pass yours when starting TokenPak: startProxy({ config, providers: { "${name}": yourProvider } }), or set providers.${name}.enabled: false.`,
      );
  }
};

/** {@link createProvider} with mocks that keep no calls (`MockProviderOptions.keepCalls`): for a proxy nothing inspects. */
export const createServingProvider: ProviderFactory = (name, settings) =>
  settings.type === 'mock' ? createMockProvider(name, settings, { keepCalls: false }) : createProvider(name, settings);

/** {@link createProvider}, with providers of your own by name taking precedence. */
export function withCustomProviders(custom: Readonly<Record<string, Provider>>, factory: ProviderFactory = createProvider): ProviderFactory {
  return (name, settings) => (Object.hasOwn(custom, name) ? custom[name]! : factory(name, settings));
}

/** The enabled providers of a config, by name. */
export function createProviders(config: Config, factory: ProviderFactory = createProvider): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  for (const [name, settings] of Object.entries(config.providers)) {
    if (settings.enabled) providers.set(name, factory(name, settings));
  }
  return providers;
}
