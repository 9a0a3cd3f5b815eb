/**
 * Checks beyond validity: traps a config can fall into (the recipe's
 * pitfalls), and the production rule that no model may reach a mock.
 */
import { findPrice } from '../pricing/pricing.ts';
import type { Config } from './load.ts';
import { hostPortOf } from '../util/url.ts';

/** A finding about a loaded config. */
export interface ConfigFinding {
  /** Dotted key path the finding is about. */
  path: string;
  message: string;
}

export interface ConfigCheck {
  /** Lines shown with ✓: what the config does. */
  summary: string[];
  /** Traps (⚠): valid, but probably not what was meant. */
  warnings: ConfigFinding[];
  /** Errors (✗) from the environment's rules (production). */
  errors: ConfigFinding[];
}

export type DeployEnv = 'development' | 'production';

const isMock = (config: Config, provider: string) => config.providers[provider]?.type === 'mock';

/** Which mock providers each model can reach, through its whole chain. */
export function mockRoutes(config: Config): Array<{ model: string; mocks: string[] }> {
  return Object.values(config.models)
    .map((route) => ({ model: route.name, mocks: [...new Set(route.chain.filter((t) => isMock(config, t.provider)).map((t) => t.provider))] }))
    .filter((entry) => entry.mocks.length > 0);
}

/** What has limits: client keys (by name, or place) and models. */
function limitedSubjects(config: Config): string[] {
  const set = (limits: object | undefined) => limits !== undefined && Object.keys(limits).length > 0;
  const keys = (config.server.auth?.keys ?? []).flatMap((entry, i) =>
    typeof entry !== 'string' && set(entry.limits) ? [entry.name !== undefined ? `key ${entry.name}` : `server.auth.keys[${i}]`] : [],
  );
  const models = Object.values(config.models).filter((route) => set(route.settings.limits)).map((route) => `model ${route.name}`);
  return [...keys, ...models];
}

function countersWhere(config: Config): string {
  if (!config.state) return "in this process's memory (one replica; set state.redis for several)";
  const where = hostPortOf(config.state.redis, 6379);
  return where ? `in Redis at ${where} (state.redis, shared by replicas)` : 'in Redis (state.redis)';
}

export function checkConfig(config: Config, options: { env?: DeployEnv } = {}): ConfigCheck {
  const providers = Object.entries(config.providers);
  const mocks = providers.filter(([, p]) => p.type === 'mock');
  const reals = providers.filter(([, p]) => p.type !== 'mock');
  const state = (enabled: boolean) => (enabled ? 'enabled' : 'disabled');
  const summary = ['Config valid'];
  if (mocks.length) summary.push(`Providers: ${mocks.map(([n, p]) => `${n} (${state(p.enabled)})`).join(', ')}`);
  if (reals.length) summary.push(`Real providers: ${reals.map(([n, p]) => `${n} (${state(p.enabled)})`).join(', ')}`);
  const routes = Object.values(config.models);
  if (routes.every((r) => r.chain.every((t) => isMock(config, t.provider)))) summary.push('All models route to mock');
  else if (routes.every((r) => r.chain.every((t) => !isMock(config, t.provider)))) summary.push('All models route to real providers');
  else summary.push(`Routes: ${routes.map((r) => `${r.name} → ${r.chain.map((t) => t.provider).join(' → ')}`).join('; ')}`);

  const limited = limitedSubjects(config);
  if (limited.length > 0) summary.push(`Limits: ${limited.join(', ')}; counters ${countersWhere(config)}`);

  const warnings: ConfigFinding[] = [];
  const reachable = mockRoutes(config);
  const enabledReals = reals.filter(([, p]) => p.enabled).map(([n]) => n);
  if (reachable.length > 0 && enabledReals.length > 0) {
    warnings.push({
      path: 'providers',
      message: `models ${reachable.map((r) => r.model).join(', ')} route to a mock while real provider(s) ${enabledReals.join(', ')} are enabled: a development config can reach a paid API. Set enabled: false on real providers you do not use in development (pitfall 4).`,
    });
  }
  for (const route of routes) {
    const primary = config.providers[route.chain[0]!.provider]!;
    const explicit = route.settings.fallback_model;
    // Only the route's own fallbacks: targets added by fallback_route carry their own route's model names.
    const ownFallbacks = [route.settings.fallback_provider ?? []].flat().length;
    route.chain.slice(1, 1 + ownFallbacks).forEach((target) => {
      const settings = config.providers[target.provider]!;
      const named = typeof explicit === 'string' || (explicit !== undefined && target.provider in explicit);
      if (settings.type !== 'mock' && settings.type !== primary.type && !named) {
        warnings.push({
          path: `models.${route.name}.fallback_model`,
          message: `falls back from ${primary.type} to ${settings.type} provider "${target.provider}" but names no upstream model for it, so "${target.model}" is sent to ${settings.type}. Set fallback_model (for example fallback_model: {${target.provider}: <model>}).`,
        });
      }
    });
  }
  // Each upstream model without a known price, once, at the first route that reaches it.
  const unpriced = new Set<string>();
  for (const route of routes) {
    for (const target of route.chain) {
      const type = config.providers[target.provider]?.type;
      if (type === undefined || type === 'mock' || unpriced.has(target.model) || findPrice(target.model, config.pricing)) continue;
      unpriced.add(target.model);
      warnings.push({
        path: `models.${route.name}`,
        message: `sends model "${target.model}" to ${type} provider "${target.provider}", which has no known price: its calls get cost_cents null. Add it under pricing: (for example pricing: {${target.model}: {input: 250, output: 1000}}, in US cents per million tokens).`,
      });
    }
  }
  // A budget counts cost: a model without a price would spend it for free.
  (config.server.auth?.keys ?? []).forEach((entry, i) => {
    if (typeof entry === 'string' || (entry.limits?.cents_per_day === undefined && entry.limits?.cents_per_month === undefined)) return;
    const models = routes.filter((route) => !entry.models || entry.models.includes(route.name));
    const free = models.filter((route) => route.chain.some((t) => config.providers[t.provider]?.type !== 'mock' && unpriced.has(t.model))).map((r) => r.name);
    if (free.length === 0) return;
    warnings.push({
      path: `server.auth.keys[${i}].limits`,
      message: `sets a budget, but model(s) ${free.join(', ')} this key may use can reach a model with no known price, whose calls count 0 cents against it. Add their prices under pricing:, or limit the key's models.`,
    });
  });
  for (const [name, provider] of mocks) {
    if (!provider.enabled || provider.type !== 'mock') continue;
    const latency = provider.latency_ms;
    const low = typeof latency === 'number' ? latency : latency.max;
    if (low < 100) {
      warnings.push({
        path: `providers.${name}.latency_ms`,
        message: `is ${typeof latency === 'number' ? latency : `${latency.min}-${latency.max}`} ms: below 100 ms, slow code paths go unnoticed. 200 to 500 ms is realistic (pitfall 3).`,
      });
    }
  }

  const errors: ConfigFinding[] = [];
  if (options.env === 'production') {
    for (const entry of reachable) {
      errors.push({
        path: `models.${entry.model}`,
        message: `can reach mock provider ${entry.mocks.map((m) => `"${m}"`).join(', ')}; a production config must route only to real providers (pitfall 2). Route ${entry.model} to openai or anthropic.`,
      });
    }
  }
  return { summary, warnings, errors };
}
