/**
 * A running TokenPak: providers, router, call log, app and HTTP server
 * assembled from a config. Used by `tokenpak proxy` and the Vitest plugin.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/load.ts';
import { createMemoryCallLog } from '../logs/memory-store.ts';
import type { CallLogStore } from '../logs/types.ts';
import { createPricer } from '../pricing/pricing.ts';
import { createProviders, type ProviderFactory } from '../providers/registry.ts';
import type { Provider } from '../providers/types.ts';
import { createRouter, type Router } from '../router/router.ts';
import { createApp, type App } from './app.ts';
import { toNodeListener } from './node-adapter.ts';

export interface ProxyOptions {
  config: Config;
  /** Overrides `server.host`. */
  host?: string;
  /** Overrides `server.port` (0 picks a free port). */
  port?: number;
  /** Where calls are logged (default: an in-memory log). */
  log?: CallLogStore;
  /** Builds providers (default: the built-in ones). */
  providerFactory?: ProviderFactory;
  /** Receives TokenPak's own errors (500s); default: printed to stderr. */
  onInternalError?: (error: unknown) => void;
  /**
   * Handles every request in place of the app, given the app to delegate to.
   * The Vitest plugin uses it to route per-test paths to per-test apps on one port.
   */
  fetch?: (request: Request, app: App) => Promise<Response>;
}

/** A TokenPak proxy listening on a port. */
export interface TokenPakProxy {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly config: Config;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly router: Router;
  readonly log: CallLogStore;
  readonly app: App;
  readonly server: Server;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to
   * `graceMs` (default `server.shutdown_grace_ms`), then cuts the rest, flushes
   * the call log and closes providers.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/** Assembles the parts of a proxy without listening (for in-process use). */
export function createProxyParts(options: ProxyOptions) {
  const { config } = options;
  const log = options.log ?? createMemoryCallLog({ maxRows: config.logs.max_rows });
  const providers = createProviders(config, options.providerFactory);
  const router = createRouter({ config, providers, pricer: createPricer(config.pricing), log });
  const onInternalError = options.onInternalError ?? ((error: unknown) => console.error('[tokenpak] internal error:', error));
  const app = createApp({ config, router, onInternalError });
  return { config, log, providers, router, app, onInternalError };
}

/** Starts a proxy and resolves once it is listening. */
export async function startProxy(options: ProxyOptions): Promise<TokenPakProxy> {
  const parts = createProxyParts(options);
  const host = options.host ?? parts.config.server.host;
  const middleware = options.fetch;
  const app: App = middleware ? { fetch: (request) => middleware(request, parts.app) } : parts.app;
  const server = createServer({ keepAliveTimeout: 5_000 }, toNodeListener(app, parts.onInternalError));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? parts.config.server.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let stopping = false;
  // Keep-alive sockets would hold close() open: drop each one as soon as its
  // in-flight response is done.
  server.on('request', (_req, res) => res.once('finish', () => stopping && server.closeIdleConnections()));
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    ...parts,
    server,
    host,
    port,
    url: `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${port}`,
    close(closeOptions = {}) {
      closing ??= (async () => {
        const graceMs = closeOptions.graceMs ?? parts.config.server.shutdown_grace_ms;
        stopping = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearTimeout(timer);
        await parts.log.close();
        await Promise.all([...parts.providers.values()].map((p) => p.close?.()));
      })();
      return closing;
    },
  };
}
