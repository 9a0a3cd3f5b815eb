/**
 * Simulated upstreams: for `simulateProviders`, each real provider of a test's
 * config is pointed at a local stand-in that speaks its wire format (OpenAI
 * Chat Completions, Anthropic Messages) and answers from a mock provider. The
 * stand-in is TokenPak's own app — the same formats that serve clients render
 * the answers, streams and errors — so the real provider code (request
 * translation, stream parsing, error mapping, retries) runs unchanged.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineConfig, type Config } from '../config/load.ts';
import type { MockProviderSettings, ProviderSettings } from '../config/schema.ts';
import { TokenPakError } from '../errors.ts';
import { tokenpakFormat } from '../formats/tokenpak.ts';
import { createMemoryCallLog } from '../logs/memory-store.ts';
import { createPricer } from '../pricing/pricing.ts';
import { ANTHROPIC_MODEL_ALIASES } from '../formats/anthropic-messages.ts';
import { LOOP_HEADER } from '../util/loop.ts';
import { createMockProvider, type MockProvider } from '../providers/mock/mock-provider.ts';
import { createRouter } from '../router/router.ts';
import { createApp, type App } from '../server/app.ts';
import { toNodeListener } from '../server/node-adapter.ts';
import { rewrite } from './rewrite.ts';

/** The stand-in for one real provider of one scope. */
export interface SimulatedUpstream {
  /** Provider name in the config. */
  readonly provider: string;
  /** The mock that answers; tests control it like any mock. */
  readonly mock: MockProvider;
  /** The `base_url` the real provider gets, given the simulator's URL. */
  baseURL(simulatorURL: string): string;
}

export interface Simulator {
  /** The simulator's URL; starts its server on first use. */
  url(): Promise<string>;
  /** `onWarning` gets the stand-in mock's warnings (answers set for a model the provider is never asked for). */
  register(scopeId: string, provider: string, settings: ProviderSettings, mock: MockProviderSettings, config: Config, onWarning?: (message: string) => void): SimulatedUpstream;
  unregister(scopeId: string): void;
  close(): Promise<void>;
}

interface Entry extends SimulatedUpstream {
  app: App;
}

export function createSimulator(onInternalError: (error: unknown) => void): Simulator {
  const entries = new Map<string, Entry>();
  let server: Server | undefined;
  let starting: Promise<string> | undefined;

  const app: App = {
    async fetch(request) {
      // /<scope>/<provider>/<the provider's own path>
      const url = new URL(request.url);
      const [, scopeId = '', provider = '', ...rest] = url.pathname.split('/');
      const entry = entries.get(`${scopeId}/${provider}`);
      if (!entry) {
        const error = new TokenPakError('route_not_found', `No simulated provider at ${url.pathname}: the test that owned it has ended.`, { status: 404 });
        const rendered = tokenpakFormat.renderError(error, { requestId: 'simulator' });
        return Response.json(rendered.body, { status: rendered.status });
      }
      const forwarded = rewrite(request, `/${rest.join('/')}${url.search}`);
      // A stand-in is an upstream on purpose, not a base_url looping back: drop the loop marker.
      forwarded.headers.delete(LOOP_HEADER);
      return entry.app.fetch(forwarded);
    },
  };

  return {
    url() {
      starting ??= new Promise<string>((resolve, reject) => {
        const listening = createServer({ keepAliveTimeout: 65_000 }, toNodeListener(app, onInternalError));
        listening.once('error', reject);
        listening.listen(0, '127.0.0.1', () => {
          server = listening;
          resolve(`http://127.0.0.1:${(listening.address() as AddressInfo).port}`);
        });
      });
      return starting;
    },

    register(scopeId, provider, settings, mockSettings, config, onWarning) {
      // The stand-in routes every upstream model name the config asks this provider for, under the
      // name the provider sends too (Anthropic's dated aliases), to the config's name, so that mock
      // answers keyed by the config's model names match.
      const models: Record<string, { provider: string; model: string }> = {};
      for (const route of Object.values(config.models)) {
        for (const target of route.chain) {
          if (target.provider !== provider) continue;
          models[target.model] = { provider, model: target.model };
          const alias = settings.type === 'anthropic' ? ANTHROPIC_MODEL_ALIASES[target.model] : undefined;
          if (alias) models[alias] = { provider, model: target.model };
        }
      }
      const simConfig = defineConfig({ providers: { [provider]: { type: 'mock' } }, models });
      const served = [...new Set(Object.values(models).map((target) => target.model))];
      const mock = createMockProvider(provider, mockSettings, { servedModels: served, ...(onWarning ? { onWarning } : {}) });
      const router = createRouter({
        config: simConfig,
        providers: new Map([[provider, mock]]),
        pricer: createPricer(),
        log: createMemoryCallLog({ maxRows: 1_000 }),
      });
      const prefix = `/${scopeId}/${provider}`;
      const entry: Entry = {
        provider,
        mock,
        app: createApp({ config: simConfig, router, onInternalError }),
        // OpenAI's base URL includes /v1; Anthropic's is the host (the provider adds /v1).
        baseURL: (root) => `${root}${prefix}${settings.type === 'openai' ? '/v1' : ''}`,
      };
      entries.set(`${scopeId}/${provider}`, entry);
      return entry;
    },

    unregister(scopeId) {
      for (const key of entries.keys()) if (key.startsWith(`${scopeId}/`)) entries.delete(key);
    },

    async close() {
      entries.clear();
      if (!server) return;
      const closing = server;
      server = undefined;
      await new Promise<void>((resolve) => {
        closing.close(() => resolve());
        closing.closeAllConnections();
      });
    },
  };
}
