/**
 * A running TokenPak: providers, router, call log, app and HTTP server
 * assembled from a config. Used by `tokenpak proxy` and the Vitest plugin.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import type { AddressInfo } from 'node:net';
import { cassettesEnabled } from '../cassettes/enabled.ts';
import type { Cassettes } from '../cassettes/setup.ts';
import type { Config } from '../config/load.ts';
import { createMemoryCallLog } from '../logs/memory-store.ts';
import type { CallLogStore } from '../logs/types.ts';
import { createPricer } from '../pricing/pricing.ts';
import { TokenPakError } from '../errors.ts';
import { createRedactor } from '../util/redact.ts';
import { createProviders, createServingProvider, withCustomProviders, type ProviderFactory } from '../providers/registry.ts';
import { scrubProvider } from '../providers/scrub.ts';
import type { Provider } from '../providers/types.ts';
import type { Admission, CallObserver } from '../router/observer.ts';
import { createRouter, type Router } from '../router/router.ts';
import { createLimitStore } from '../limits/create-store.ts';
import { limitHooks } from '../limits/hooks.ts';
import { createLimiter, hasLimits } from '../limits/limiter.ts';
import { createMemoryLimitStore } from '../limits/memory-store.ts';
import type { LimitStore } from '../limits/types.ts';
import { checkExposure, type AccessOptions } from './access.ts';
import { createApp, type App, type Readiness } from './app.ts';
import { createConversationStore, type ConversationStore } from './conversation-store.ts';
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
  /**
   * Whether mock providers keep the calls they receive (`MockProvider.calls`, for tests
   * that inspect them; default true). `tokenpak proxy` keeps none.
   */
  keepMockCalls?: boolean;
  /**
   * Providers of your own, by configured name: the config declares each as `type: custom`
   * and routes to it like any other. They take precedence over `providerFactory`.
   */
  providers?: Readonly<Record<string, Provider>>;
  /** Receives TokenPak's own errors (500s); default: printed to stderr. */
  onInternalError?: (error: unknown) => void;
  /** Receives one line per client that left before its request was read; default: printed to stderr. */
  onClientGone?: (line: string) => void;
  /** Receives each call's request body as the client sent it (see `AppOptions.onClientRequest`); default: not kept. */
  onClientRequest?: (requestId: string, body: unknown) => void;
  /**
   * Handles every request in place of the app, given the app to delegate to.
   * The Vitest plugin uses it to route per-test paths to per-test apps on one port.
   */
  fetch?: (request: Request, app: App) => Promise<Response>;
  /**
   * Recording or replaying real providers (from `createCassettes()`, loaded
   * only when a config uses cassettes): their providers replace the built-in
   * ones for OpenAI and Anthropic, and the app replays recorded bytes.
   */
  cassettes?: Cassettes;
  /** Watch every logged call (metrics, traces, limits' accounting): see `src/router/observer.ts`. */
  observers?: readonly CallObserver[];
  /** Lets each call through or refuses it before routing (rate limits, budgets): see `src/router/observer.ts`. */
  admit?: Admission;
  /**
   * The counters of rate limits and budgets. Default: the store `state:`
   * names (Redis, shared by a fleet) or this process's memory, created only
   * when the config sets limits.
   */
  limits?: LimitStore;
}

/** What a config reload did. */
export interface ReloadResult {
  /** Settings that changed but apply only after a restart (the listening address, the call log, metrics, …). */
  needsRestart: string[];
}

/** A TokenPak proxy listening on a port. */
export interface TokenPakProxy {
  /** `http://host:port`, without a trailing slash: where a client on this machine reaches it (127.0.0.1 for a 0.0.0.0 bind). */
  readonly url: string;
  /** `http://address:port` of the socket as bound (`http://0.0.0.0:8000` serves every interface). */
  readonly listenUrl: string;
  readonly host: string;
  readonly port: number;
  /** The config now serving (a reload replaces it). */
  readonly config: Config;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly router: Router;
  readonly log: CallLogStore;
  readonly app: App;
  readonly server: Server;
  /** `http://host:port/metrics` when metrics have a port of their own (`metrics.port`). */
  readonly metricsUrl: string | undefined;
  /**
   * Serves `config` from now on: requests that arrive from now on get new
   * providers, routes, keys and limits; requests in flight finish on the old
   * ones, whose providers close once they are done. The call log, server-held
   * conversations and metrics carry over. Throws (and changes nothing) when the
   * new config may not be served on this address.
   */
  reload(config: Config): ReloadResult;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to
   * `graceMs` (default `server.shutdown_grace_ms`), then cuts the rest, flushes
   * the call log and closes providers.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/** How long streams cut by a stop get to send their closing error event. */
const STREAM_END_MS = 250;

/** How long a stop keeps idle keep-alive connections open for requests already on their way. */
const IDLE_DRAIN_MS = 500;

/** What a served proxy adds to its parts (see {@link startProxy}). */
export interface ServedExtras {
  /** Server-held conversations to keep (a reload passes the running ones). */
  conversations?: ConversationStore;
  /** Renders `/metrics` on the proxy's port. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** What `/readyz` reports. */
  readiness?: () => Promise<Readiness>;
}

/**
 * Assembles the parts of a proxy without listening (for in-process use).
 * `access` (given by {@link startProxy}) turns on client keys and the browser checks.
 */
export function createProxyParts(options: ProxyOptions, access?: AccessOptions, extras: ServedExtras = {}) {
  const { config } = options;
  const log = options.log ?? createMemoryCallLog({ maxRows: config.logs.max_rows });
  const scrub = { secrets: config.secrets, stripPrompt: !config.logs.capture_bodies };
  const factory = options.cassettes?.providerFactory ?? options.providerFactory ?? (options.keepMockCalls === false ? createServingProvider : undefined);
  const providers = new Map(
    [...createProviders(config, options.providers ? withCustomProviders(options.providers, factory) : factory)].map(([name, provider]) => [
      name,
      provider.type === 'mock' ? provider : scrubProvider(provider, scrub),
    ]),
  );
  const redactText = createRedactor(config.secrets);
  // Limits are this config's: a reload builds them again, over the same counters (options.limits).
  const limits = hasLimits(config)
    ? limitHooks(createLimiter(config, options.limits ?? createMemoryLimitStore()), (line) => process.stderr.write(`[tokenpak] ${redactText(line)}\n`))
    : undefined;
  const observers = [...(options.observers ?? []), ...(limits ? [limits.observer] : [])];
  const outer = options.admit;
  const admit: Admission | undefined =
    limits && outer
      ? async (call) => {
          await outer(call);
          await limits.admit(call);
        }
      : (limits?.admit ?? outer);
  const router = createRouter({
    config,
    providers,
    pricer: createPricer(config.pricing),
    log,
    ...(observers.length ? { observers } : {}),
    ...(admit ? { admit } : {}),
  });
  const onInternalError = options.onInternalError ?? ((error: unknown) => console.error(`[tokenpak] internal error: ${redactText(inspect(error))}`));
  const onClientGone = options.onClientGone ?? ((line: string) => process.stderr.write(`[tokenpak] ${line}\n`));
  // Aborted when a stop's grace period runs out: streams still open end with an error event in their format.
  const shutdown = new AbortController();
  const conversations =
    extras.conversations ?? createConversationStore({ maxCount: config.server.conversations.max_count, maxBytes: config.server.conversation_memory_bytes });
  const app = createApp({
    config,
    router,
    onInternalError,
    onClientGone,
    shutdownSignal: shutdown.signal,
    conversations,
    ...(options.cassettes ? { cassettes: options.cassettes.app } : {}),
    ...(access ? { access } : {}),
    ...(options.onClientRequest ? { onClientRequest: options.onClientRequest } : {}),
    ...(extras.metrics ? { metrics: extras.metrics } : {}),
    ...(extras.readiness ? { readiness: extras.readiness } : {}),
  });
  return { config, log, providers, router, app, onInternalError, shutdown, conversations };
}

type ProxyParts = ReturnType<typeof createProxyParts>;

/** One config's parts while they serve, and the requests still on them. */
interface Generation {
  parts: ProxyParts;
  listener: ReturnType<typeof toNodeListener>;
  /** Requests on this generation whose response has not closed. */
  active: number;
  /** Replaced by a reload: closes its providers once `active` is back to 0. */
  retired: boolean;
}

/** How long `/readyz` waits for the call log before calling it not writable. */
const READY_TIMEOUT_MS = 2_000;

/** Starts a proxy and resolves once it is listening. */
export async function startProxy(options: ProxyOptions): Promise<TokenPakProxy> {
  // A config that records or replays gets its cassettes here unless the caller built them
  // (the CLI does, for --record/--replay); loaded only then, so other proxies never pay for them.
  if (!options.cassettes && cassettesEnabled(options.config)) {
    const cassettes = (await import('../cassettes/setup.ts')).createCassettes(options.config);
    if (cassettes) options = { ...options, cassettes };
  }
  const host = options.host ?? options.config.server.host;
  checkExposure(options.config, host);
  // One counter store for the proxy's life, so that a reload keeps the counts (Redis, and its client, only for state.redis).
  const ownLimits = options.limits ? undefined : await createLimitStore(options.config);
  if (ownLimits) options = { ...options, limits: ownLimits };
  const access = { bindHost: host };
  let stopping = false;
  let current: Generation;
  const live = new Set<Generation>();

  // prom-client takes tens of milliseconds to load: only a config with metrics pays for it.
  const metricsSettings = options.config.metrics;
  const metrics = metricsSettings.enabled
    ? (await import('../metrics/metrics.ts')).createMetrics({ providers: () => [...live].flatMap((generation) => [...generation.parts.providers.values()]) })
    : undefined;
  if (metrics) options = { ...options, observers: [metrics.observer, ...(options.observers ?? [])] };
  const log = options.log ?? createMemoryCallLog({ maxRows: options.config.logs.max_rows });
  options = { ...options, log };

  const readiness = async (): Promise<Readiness> => {
    const checks: Record<string, string> = { config: `ok (${current.parts.config.source})`, draining: stopping ? 'stopping' : 'no' };
    try {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      });
      await Promise.race([log.checkWritable?.(), late]).finally(() => clearTimeout(timer));
      checks['call_log'] = 'ok';
    } catch (error) {
      checks['call_log'] = `not writable: ${(error as Error).message}`;
    }
    return { ready: !stopping && checks['call_log'] === 'ok', checks };
  };
  const extras = (conversations?: ConversationStore): ServedExtras => ({
    readiness,
    ...(conversations ? { conversations } : {}),
    ...(metrics && metricsSettings.port === undefined ? { metrics: () => metrics.render() } : {}),
  });

  const middleware = options.fetch;
  const generation = (parts: ProxyParts): Generation => {
    const app: App = middleware ? { fetch: (request) => middleware(request, parts.app) } : parts.app;
    return { parts, listener: toNodeListener(app, parts.onInternalError), active: 0, retired: false };
  };
  const dispose = (old: Generation) => {
    live.delete(old);
    void Promise.all([...old.parts.providers.values()].map((p) => p.close?.())).catch((error: unknown) => old.parts.onInternalError(error));
  };
  current = generation(createProxyParts(options, access, extras()));
  live.add(current);

  const limits = options.config.server;
  // Each request stays on the generation it arrived on until its response closes, reload or not.
  const server = createServer(
    {
      keepAliveTimeout: limits.keep_alive_timeout_ms,
      headersTimeout: limits.headers_timeout_ms,
      requestTimeout: limits.request_timeout_ms,
      // Node enforces both timeouts only when it checks its connections: check often enough for them to hold.
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(limits.headers_timeout_ms / 4))),
    },
    (req, res) => {
      const serving = current;
      serving.active++;
      res.once('close', () => {
        if (--serving.active === 0 && serving.retired) dispose(serving);
      });
      serving.listener(req, res);
    },
  );
  server.maxConnections = limits.max_connections;
  await listen(server, options.port ?? limits.port, host).catch(async (error: unknown) => {
    // A port in use: the Redis connection would keep the process alive.
    await ownLimits?.close();
    throw error;
  });
  const metricsServer = metrics && metricsSettings.port !== undefined ? await serveMetrics(metrics.render, metricsSettings.port, metricsSettings.host) : undefined;
  // Set once a stop's drain window is over: from then on, idle connections are closed as they appear.
  let drained = false;
  // Answers not yet begun when a stop starts. Each is sent with `Connection:
  // close`, so that the client opens a new connection for its next request
  // rather than sending it on one that is about to close (and being reset).
  const unanswered = new Set<ServerResponse>();
  server.on('request', (_req, res) => {
    if (stopping) res.setHeader('connection', 'close');
    else {
      unanswered.add(res);
      const answered = () => unanswered.delete(res);
      res.once('finish', answered).once('close', answered);
    }
    // Keep-alive sockets would hold close() open: after the drain window, drop each one as soon as its response is done.
    res.once('finish', () => drained && server.closeIdleConnections());
  });
  const { port, address } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const listenUrl = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  const metricsUrl = metricsServer ? `http://${urlOf(metricsServer.address() as AddressInfo)}/metrics` : undefined;
  let closing: Promise<void> | undefined;
  return {
    get config() {
      return current.parts.config;
    },
    get providers() {
      return current.parts.providers;
    },
    get router() {
      return current.parts.router;
    },
    get app() {
      return current.parts.app;
    },
    log,
    server,
    host,
    port,
    listenUrl,
    metricsUrl,
    url: `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost === '[::]' ? '[::1]' : urlHost}:${port}`,
    reload(config) {
      if (stopping) throw new TokenPakError('shutting_down', 'TokenPak is stopping: the config was not reloaded.', { status: 503 });
      checkExposure(config, host);
      const before = current.parts.config;
      const next = generation(createProxyParts({ ...options, config }, access, extras(current.parts.conversations)));
      const old = current;
      current = next;
      live.add(next);
      old.retired = true;
      if (old.active === 0) dispose(old);
      return { needsRestart: restartOnly(before, config, options) };
    },
    close(closeOptions = {}) {
      closing ??= (async () => {
        const graceMs = closeOptions.graceMs ?? current.parts.config.server.shutdown_grace_ms;
        stopping = true;
        for (const res of unanswered) if (!res.headersSent) res.setHeader('connection', 'close');
        unanswered.clear();
        // Stop listening, but keep idle keep-alive connections open for a short
        // drain window: a client may be sending its next request on one right
        // now, and closing it would reset that request. Requests that arrive
        // are answered with Connection: close; what is still idle afterwards
        // is closed. (server.close() would close idle connections at once.)
        const closeIdle = server.closeIdleConnections;
        server.closeIdleConnections = () => {};
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections = closeIdle;
        const drain = setTimeout(() => {
          drained = true;
          server.closeIdleConnections();
        }, Math.min(graceMs, IDLE_DRAIN_MS));
        // At the end of the grace period, open streams first get an error event in their own format;
        // whatever is still open a moment later is cut.
        let cut: NodeJS.Timeout | undefined;
        const timer = setTimeout(() => {
          for (const generation of live) generation.parts.shutdown.abort();
          cut = setTimeout(() => server.closeAllConnections(), STREAM_END_MS);
        }, graceMs);
        await closed;
        clearTimeout(drain);
        clearTimeout(timer);
        clearTimeout(cut);
        if (metricsServer) {
          metricsServer.closeAllConnections();
          await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
        }
        await log.close();
        await Promise.all([...live].flatMap((generation) => [...generation.parts.providers.values()].map((p) => p.close?.())));
        live.clear();
        await options.cassettes?.close();
        await ownLimits?.close();
      })();
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function urlOf({ address, port }: AddressInfo): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** `/metrics` on a port of its own (`metrics.port`): no client key there, and nothing else served. */
async function serveMetrics(render: () => Promise<{ contentType: string; body: string }>, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served on this port.\n');
      return;
    }
    render().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`Cannot render metrics: ${(error as Error).message}\n`),
    );
  });
  await listen(server, port, host);
  return server;
}

/** Settings a reload cannot apply to a running proxy, named when they changed. */
function restartOnly(before: Config, after: Config, options: ProxyOptions): string[] {
  const changed: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (options.host === undefined && before.server.host !== after.server.host) changed.push('server.host');
  if (options.port === undefined && before.server.port !== after.server.port) changed.push('server.port');
  for (const key of ['keep_alive_timeout_ms', 'headers_timeout_ms', 'request_timeout_ms', 'conversations'] as const) {
    if (!same(before.server[key], after.server[key])) changed.push(`server.${key}`);
  }
  if (!same(before.logs, after.logs)) changed.push('logs');
  if (!same(before.metrics, after.metrics)) changed.push('metrics');
  if (!same(before.cassettes, after.cassettes)) changed.push('cassettes');
  if (!same(before.telemetry, after.telemetry)) changed.push('telemetry');
  if (!same(before.state, after.state)) changed.push('state');
  return changed;
}
