/**
 * Issue 11, "a web page the operator visits can POST to 127.0.0.1:8000":
 * DNS rebinding (a foreign Host on a loopback bind) and cross-site requests
 * (a `text/plain` POST, which needs no preflight) are refused before any
 * provider is called; CORS preflights and headers go only to
 * `server.cors_origins`; HEAD and OPTIONS are answered.
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { MockProvider } from '../../src/providers/mock/mock-provider.ts';
import { startProxy, type TokenPakProxy } from '../../src/server/proxy.ts';

const CONFIG = `providers:
  mock:
    type: mock
    responses:
      gpt-4: {default: "spent"}
models:
  gpt-4: {provider: mock}
`;
const LISTED = 'http://localhost:5173';
const WITH_CORS = `${CONFIG}server:\n  cors_origins: ["${LISTED}"]\n`;

const running: TokenPakProxy[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.close({ graceMs: 0 })));
});

async function serve(yaml: string, host = '127.0.0.1', env: NodeJS.ProcessEnv = {}) {
  const proxy = await startProxy({ config: parseConfig(yaml, { env }), port: 0, host });
  running.push(proxy);
  return proxy;
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request over a real socket with exactly these headers (fetch would not let a test set Host). */
function raw(proxy: TokenPakProxy, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxy.port, method, path, headers: { ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const PROMPT = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'spend the operator key' }] });
const calls = (proxy: TokenPakProxy) => (proxy.providers.get('mock') as MockProvider).calls.length;

describe('DNS rebinding', () => {
  it('on a loopback bind, a request whose Host is a foreign name is refused (403, its wire format) and reaches no provider', async () => {
    const proxy = await serve(CONFIG);
    for (const host of ['attacker.example', `attacker.example:${proxy.port}`, '192.168.1.20:8000', 'localhost.attacker.example']) {
      const response = await raw(proxy, 'POST', '/v1/chat/completions', { host, 'content-type': 'application/json' }, PROMPT);
      expect(response.status).toBe(403);
      const body = JSON.parse(response.text) as { error: { type: string; code: string; message: string } };
      expect(body.error).toMatchObject({ type: 'permission_error', code: 'forbidden' });
      expect(body.error.message).toContain(`Host ${JSON.stringify(host)} is not this machine`);
    }
    const anthropic = await raw(proxy, 'POST', '/v1/messages', { host: 'attacker.example', 'anthropic-version': '2023-06-01' }, PROMPT);
    expect(JSON.parse(anthropic.text)).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    expect(calls(proxy)).toBe(0);
  });

  it('loopback names are served: localhost, 127.0.0.1, [::1], *.localhost', async () => {
    const proxy = await serve(CONFIG);
    for (const host of [`localhost:${proxy.port}`, `127.0.0.1:${proxy.port}`, `[::1]:${proxy.port}`, 'app.localhost', 'LOCALHOST.']) {
      const response = await raw(proxy, 'POST', '/v1/chat/completions', { host }, PROMPT);
      expect(response.status, host).toBe(200);
    }
    expect(calls(proxy)).toBe(5);
  });

  it('on a non-loopback bind (with client keys), any Host name is served', async () => {
    const key = 'tpk-lan-5e6f7a8b9c0d1e2f3a4b';
    const proxy = await serve(`${CONFIG}server:\n  auth:\n    keys: ["\${KEY}"]\n`, '0.0.0.0', { KEY: key });
    const response = await raw(proxy, 'POST', '/v1/chat/completions', { host: 'tokenpak.lan:8000', authorization: `Bearer ${key}` }, PROMPT);
    expect(response.status).toBe(200);
  });
});

describe('cross-site requests', () => {
  it('a text/plain POST from another site (no preflight needed) is refused and reaches no provider', async () => {
    const proxy = await serve(CONFIG);
    const host = `127.0.0.1:${proxy.port}`;
    for (const origin of ['https://evil.example', 'http://localhost:5173', 'null']) {
      const response = await raw(proxy, 'POST', '/v1/messages', { host, origin, 'content-type': 'text/plain' }, PROMPT);
      expect(response.status).toBe(403);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      expect(JSON.parse(response.text).error.message).toContain(`Requests from the web page at ${JSON.stringify(origin)} are refused`);
    }
    // A request a browser sends without Origin still says where it comes from.
    const noOrigin = await raw(proxy, 'GET', '/v1/models', { host, 'sec-fetch-site': 'cross-site' });
    expect(noOrigin.status).toBe(403);
    expect(calls(proxy)).toBe(0);
  });

  it('same-origin requests and clients that send no Origin (SDKs, curl) are served', async () => {
    const proxy = await serve(CONFIG);
    const host = `127.0.0.1:${proxy.port}`;
    expect((await raw(proxy, 'POST', '/v1/messages', { host, origin: `http://${host}` }, PROMPT)).status).toBe(200);
    expect((await raw(proxy, 'POST', '/v1/messages', { host }, PROMPT)).status).toBe(200);
    expect((await raw(proxy, 'GET', '/v1/models', { host, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
  });

  it('a listed origin gets its preflight answered and CORS headers on answers and errors; others get neither', async () => {
    const proxy = await serve(WITH_CORS);
    const host = `127.0.0.1:${proxy.port}`;
    const preflight = await raw(proxy, 'OPTIONS', '/v1/chat/completions', {
      host,
      origin: LISTED,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, x-stainless-os',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': LISTED,
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type, x-stainless-os',
    });

    const answer = await raw(proxy, 'POST', '/v1/chat/completions', { host, origin: LISTED, 'content-type': 'application/json' }, PROMPT);
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBe(LISTED);
    expect(answer.headers['access-control-expose-headers']).toContain('x-request-id');
    expect(answer.headers.vary).toBe('Origin');
    const error = await raw(proxy, 'POST', '/v1/chat/completions', { host, origin: LISTED }, PROMPT.replace('gpt-4', 'nope'));
    expect(error.status).toBe(404);
    expect(error.headers['access-control-allow-origin']).toBe(LISTED);

    const other = await raw(proxy, 'OPTIONS', '/v1/chat/completions', { host, origin: 'https://evil.example', 'access-control-request-method': 'POST' });
    expect(other.status).toBe(403);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(calls(proxy)).toBe(1);
  });

  it('a preflight never needs a client key; the request after it does', async () => {
    const key = 'tpk-browser-1a2b3c4d5e6f7a8b9c';
    const proxy = await serve(`${WITH_CORS}  auth:\n    keys: ["\${KEY}"]\n`, '127.0.0.1', { KEY: key });
    const host = `127.0.0.1:${proxy.port}`;
    const preflight = await raw(proxy, 'OPTIONS', '/v1/messages', { host, origin: LISTED, 'access-control-request-method': 'POST' });
    expect(preflight.status).toBe(204);
    const refused = await raw(proxy, 'POST', '/v1/messages', { host, origin: LISTED }, PROMPT);
    expect(refused.status).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(LISTED);
    const served = await raw(proxy, 'POST', '/v1/messages', { host, origin: LISTED, 'x-api-key': key }, PROMPT);
    expect(served.status).toBe(200);
  });

  it('cors_origins must be origins', () => {
    expect(() => parseConfig(`${CONFIG}server:\n  cors_origins: ["https://app.example.com/"]\n`, { env: {} })).toThrow(
      /server\.cors_origins\[0\]: must be an origin such as https:\/\/app\.example\.com or http:\/\/localhost:5173 \(scheme, host and port; no path, no trailing slash\)/,
    );
  });
});

describe('HEAD and OPTIONS', () => {
  it('HEAD works wherever GET does: same status and headers, no body', async () => {
    const proxy = await serve(CONFIG);
    const host = `127.0.0.1:${proxy.port}`;
    for (const path of ['/healthz', '/v1/models', '/v1/models/gpt-4', '/models']) {
      const get = await raw(proxy, 'GET', path, { host });
      const head = await raw(proxy, 'HEAD', path, { host });
      expect(head.status, path).toBe(200);
      expect(head.text).toBe('');
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.headers['content-length']).toBe(String(Buffer.byteLength(get.text)));
    }
    expect((await raw(proxy, 'HEAD', '/v1/models/unknown', { host })).status).toBe(404);
    const post = await raw(proxy, 'HEAD', '/v1/messages', { host });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('POST, OPTIONS');
  });

  it('OPTIONS without an Origin says which methods an endpoint takes', async () => {
    const proxy = await serve(CONFIG);
    const host = `127.0.0.1:${proxy.port}`;
    const options = await raw(proxy, 'OPTIONS', '/healthz', { host });
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(options.headers['access-control-allow-origin']).toBeUndefined();
    expect((await raw(proxy, 'OPTIONS', '/nowhere', { host })).status).toBe(404);
  });
});
