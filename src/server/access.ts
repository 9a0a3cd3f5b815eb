/**
 * Who may use a served proxy: client keys (`server.auth`), and the browser
 * checks that keep web pages from spending the operator's API keys: the
 * `Host` check against DNS rebinding on a loopback bind, and the `Origin`
 * check with CORS only for `server.cors_origins`. Each check throws a
 * TokenPakError, which the app's one error path renders in the client's wire
 * format.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/load.ts';
import { TokenPakError } from '../errors.ts';
import type { ServerAnswer, ServerRequest } from './exchange.ts';
import { clientKeyId } from '../limits/limiter.ts';

/** What a served app checks; absent for in-process use (the Vitest plugin), where no browser or stranger can reach it. */
export interface AccessOptions {
  /** The interface the server listens on: a loopback one turns on the `Host` check. */
  bindHost: string;
}

/** The checks of one served app, built once from the config. */
export interface Access {
  /**
   * Refuses a request whose `Host` is not a loopback name (on a loopback
   * bind) or whose `Origin` is cross-site and not listed. Returns the CORS
   * headers its answer carries (none unless the origin is listed).
   */
  checkBrowser(request: Pick<ServerRequest, 'method' | 'headers'>): Record<string, string>;
  /** The answer to a CORS preflight from a listed origin, or undefined when `request` is not one. */
  preflight(request: Pick<ServerRequest, 'method' | 'headers'>, methods: readonly string[], cors: Record<string, string>): ServerAnswer | undefined;
  /** Checks the client key; returns which key it is (undefined when the proxy has no keys). Throws 401. */
  authenticate(request: Pick<ServerRequest, 'method' | 'headers'>): ClientKey | undefined;
}

/** The client key a request presented. */
export interface ClientKey {
  /** Its id (a digest, never the key), under which its limits are counted. */
  id: string;
  /** The models it may use; undefined: all. */
  models: ReadonlySet<string> | undefined;
}

/** Is `host` (a bind address or a `Host` name, without port) this machine's loopback? */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  const v4 = name.startsWith('::ffff:') ? name.slice(7) : name;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * Refuses to serve real providers to the network without client keys: on a
 * non-loopback host anyone who reaches the port could spend the API keys.
 */
export function checkExposure(config: Config, host: string): void {
  if (isLoopbackHost(host) || (config.server.auth?.keys.length ?? 0) > 0) return;
  const real = Object.entries(config.providers).filter(([, p]) => p.enabled && p.type !== 'mock').map(([name]) => name);
  if (real.length === 0) return;
  throw new TokenPakError(
    'config_invalid',
    `Refusing to listen on ${host}: the config enables real providers (${real.join(', ')}) and server.auth has no keys, so anyone who can reach this port could spend their API keys. ` +
      'Add client keys (server.auth.keys, for example keys: ["${TOKENPAK_API_KEY}"]) and give clients one as their API key, or listen on 127.0.0.1.',
  );
}

const EXPOSED = 'x-request-id, x-tokenpak-provider, x-tokenpak-model, x-tokenpak-attempts, x-tokenpak-cost-cents, retry-after';
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

export function createAccess(config: Config, options: AccessOptions): Access {
  const hostCheck = isLoopbackHost(options.bindHost);
  const origins = new Set(config.server.cors_origins);
  const keys = (config.server.auth?.keys ?? []).map((entry) => {
    const key = typeof entry === 'string' ? entry : entry.key;
    const models = typeof entry === 'string' || !entry.models ? undefined : new Set(entry.models);
    return { digest: digest(key), models, id: clientKeyId(key) };
  });

  return {
    checkBrowser(request): Record<string, string> {
      const { headers } = request;
      const host = headers.get('host');
      if (hostCheck && host !== null && !isLoopbackHost(hostName(host))) {
        throw new TokenPakError(
          'forbidden',
          `Host ${JSON.stringify(host)} is not this machine: TokenPak listens on ${options.bindHost} and answers only requests addressed to localhost or a loopback address (a web page must not reach it through its own domain name). Use http://127.0.0.1, or listen on another host with server.auth keys.`,
          { status: 403 },
        );
      }
      const origin = headers.get('origin');
      if (origin === null) {
        // A browser sends Origin on every cross-origin POST; Sec-Fetch-Site also covers requests without one.
        const site = headers.get('sec-fetch-site');
        if (site === 'cross-site' || site === 'same-site') throw refusedOrigin(`a ${site} web page`, origins);
        return {};
      }
      if (origins.has(origin)) {
        return { 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED, vary: 'Origin' };
      }
      if (host !== null && sameHost(origin, host)) return {};
      throw refusedOrigin(`the web page at ${JSON.stringify(origin)}`, origins);
    },

    preflight(request, methods, cors) {
      const method = request.headers.get('access-control-request-method');
      if (request.method !== 'OPTIONS' || method === null || !cors['access-control-allow-origin']) return undefined;
      const asked = request.headers.get('access-control-request-headers');
      return {
        status: 204,
        body: null,
        headers: {
          ...cors,
          'access-control-allow-methods': methods.join(', '),
          ...(asked && HEADER_LIST.test(asked) ? { 'access-control-allow-headers': asked } : {}),
          ...(request.headers.get('access-control-request-private-network') === 'true' ? { 'access-control-allow-private-network': 'true' } : {}),
          'access-control-max-age': '600',
          vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
        },
      };
    },

    authenticate(request) {
      if (keys.length === 0) return undefined;
      const presented = presentedKeys(request.headers);
      if (presented.length === 0) {
        throw new TokenPakError(
          'unauthorized',
          'This proxy needs a client key: send one of server.auth.keys as "Authorization: Bearer KEY" or "x-api-key: KEY" (with the official SDKs, set the API key to it).',
          { status: 401 },
        );
      }
      // Every configured key is compared, in constant time, whatever matches: the time taken says nothing about the keys.
      let matched = -1;
      for (const candidate of presented) {
        const offered = digest(candidate);
        keys.forEach((key, i) => {
          if (timingSafeEqual(offered, key.digest) && matched < 0) matched = i;
        });
      }
      if (matched < 0) {
        throw new TokenPakError('unauthorized', 'The client key is not valid: it is none of server.auth.keys. Check the API key your client sends.', { status: 401 });
      }
      return { id: keys[matched]!.id, models: keys[matched]!.models };
    },
  };
}

/** Throws 403 when `model` is not one a key may use. */
export function checkModelAllowed(model: string, allowed: ReadonlySet<string> | undefined): void {
  if (!allowed || allowed.has(model)) return;
  throw new TokenPakError('forbidden', `This client key may not use model "${model}". It may use: ${[...allowed].join(', ')}.`, { status: 403 });
}

function refusedOrigin(who: string, origins: ReadonlySet<string>): TokenPakError {
  const listed = origins.size > 0 ? [...origins].join(', ') : 'none';
  return new TokenPakError(
    'forbidden',
    `Requests from ${who} are refused: browsers may call TokenPak only from the origins in server.cors_origins (now: ${listed}). Add the page's origin there if it should use this proxy.`,
    { status: 403 },
  );
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** The keys a request offers: `Authorization: Bearer KEY` (OpenAI SDKs) and `x-api-key: KEY` (Anthropic SDKs). */
function presentedKeys(headers: ServerRequest['headers']): string[] {
  const found: string[] = [];
  const authorization = headers.get('authorization');
  const bearer = authorization === null ? null : /^bearer\s+(.+)$/i.exec(authorization.trim());
  if (bearer) found.push(bearer[1]!.trim());
  const apiKey = headers.get('x-api-key')?.trim();
  if (apiKey) found.push(apiKey);
  return found;
}

/** The name part of a Host header (`[::1]:8000` → `[::1]`, `localhost:8000` → `localhost`). */
function hostName(host: string): string {
  const match = /^(\[[^\]]*\]|[^:]*)(?::\d*)?$/.exec(host.trim());
  return match ? match[1]! : host;
}

function sameHost(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === new URL(`http://${host}`).host;
  } catch {
    return false;
  }
}
