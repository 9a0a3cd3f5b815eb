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

/** Creates one provider from its settings. */
export type ProviderFactory = (name: string, settings: ProviderSettings) => Provider;

export const createProvider: ProviderFactory = (name, settings) => {
  switch (settings.type) {
    case 'mock':
      return createMockProvider(name, settings);
    case 'openai':
      return createOpenAIProvider(name, settings);
    case 'anthropic':
      return createAnthropicProvider(name, settings);
  }
};

/** The enabled providers of a config, by name. */
export function createProviders(config: Config, factory: ProviderFactory = createProvider): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  for (const [name, settings] of Object.entries(config.providers)) {
    if (settings.enabled) providers.set(name, factory(name, settings));
  }
  return providers;
}
