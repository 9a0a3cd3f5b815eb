import { parseConfig, type Config } from '../../src/config/load.ts';
import { createMemoryCallLog } from '../../src/logs/memory-store.ts';
import { createPricer } from '../../src/pricing/pricing.ts';
import type { MockProvider } from '../../src/providers/mock/mock-provider.ts';
import { createProviders } from '../../src/providers/registry.ts';
import { createRouter } from '../../src/router/router.ts';
import type { ChatRequest } from '../../src/canonical/types.ts';

/** A router over real mock providers built from config YAML. */
export function routerFor(yaml: string) {
  const config: Config = parseConfig(yaml, { env: {} });
  const providers = createProviders(config);
  const log = createMemoryCallLog();
  const router = createRouter({ config, providers, pricer: createPricer(config.pricing), log });
  const mock = (name: string) => providers.get(name) as MockProvider;
  return { config, providers, log, router, mock };
}

export function ask(model: string, prompt = 'hello'): ChatRequest {
  return { model, messages: [{ role: 'user', content: [{ type: 'text', text: prompt }] }] };
}

export const context = { clientFormat: 'tokenpak' as const };
