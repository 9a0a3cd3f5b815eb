/**
 * The node:http adapter serves the app natively (no web Request, Headers, URL
 * or stream per JSON call) and reads requests as the fetch-style adapter
 * does: the same path, the same headers, the same answers.
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createApp } from '../../src/server/app.ts';
import { createProxyParts } from '../../src/server/proxy.ts';
import { postMessages, proxyFor, RECIPE_CONFIG, RECIPE_REQUEST, send } from './helpers.ts';

const WEB_CLASSES = ['Request', 'Response', 'Headers', 'URL', 'ReadableStream'] as const;
const originals = Object.fromEntries(WEB_CLASSES.map((name) => [name, globalThis[name]])) as Record<(typeof WEB_CLASSES)[number], unknown>;

afterEach(() => {
  for (const name of WEB_CLASSES) (globalThis as Record<string, unknown>)[name] = originals[name];
});

/** Counts constructions of the web classes from now until the returned function is called. */
function countWebObjects(): () => Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of WEB_CLASSES) {
    const Real = originals[name] as new (...args: unknown[]) => object;
    (globalThis as Record<string, unknown>)[name] = new Proxy(Real, {
      construct(target, args, newTarget) {
        counts[name] = (counts[name] ?? 0) + 1;
        return Reflect.construct(target, args, newTarget === (globalThis as Record<string, unknown>)[name] ? target : newTarget);
      },
    });
  }
  return () => {
    for (const name of WEB_CLASSES) (globalThis as Record<string, unknown>)[name] = originals[name];
    return counts;
  };
}

/** POSTs `body` to `path` exactly as written (a URL string would have its dot segments resolved by the client). */
function postRaw(url: string, path: string, body: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: 'POST', agent: false, headers: { 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the node:http adapter', () => {
  it('answers a JSON call without building a Request, Response, Headers, URL or web stream', async () => {
    const { proxy } = await proxyFor();
    // The first request from a Host checks it once with the URL parser.
    expect((await postMessages(proxy.url, RECIPE_REQUEST)).status).toBe(200);
    const stop = countWebObjects();
    const answer = await postMessages(proxy.url, RECIPE_REQUEST, { 'x-request-id': 'req-1' });
    const errorAnswer = await postMessages(proxy.url, '{"model": 1}');
    const counts = stop();
    expect(answer.status).toBe(200);
    expect(answer.json().content).toBe('Mock response: Debugged your code successfully');
    expect(answer.headers['x-request-id']).toBe('req-1');
    expect(errorAnswer.status).toBe(400);
    expect(counts).toEqual({});
  });

  it('reads the path as the URL parser does: dot segments, escaped dots, a query, a trailing slash', async () => {
    const { proxy } = await proxyFor();
    const body = JSON.stringify(RECIPE_REQUEST);
    for (const path of ['/v1/../v1/messages', '/v1/x/%2e%2e/messages', '/v1/messages/?beta=true', '/messages', '/./v1/messages']) {
      const answer = await postRaw(proxy.url, path, body);
      expect({ path, status: answer.status }).toEqual({ path, status: 200 });
    }
    const missing = await postRaw(proxy.url, '/v1/messages/../nothing', body);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).error.message).toContain('No endpoint at POST /v1/nothing');
  });

  it('refuses a Host header that is no host with a 400 naming it, and keeps serving', async () => {
    const { proxy } = await proxyFor();
    const native = await send(proxy.url, { body: JSON.stringify(RECIPE_REQUEST), headers: { host: 'a:99999' } });
    expect(native.status).toBe(400);
    expect(native.json().error.message).toContain('The Host header "a:99999" is not a valid host name and port');
    expect((await postMessages(proxy.url, RECIPE_REQUEST)).status).toBe(200);
  });

  it('reads a header of several fields as Headers.get does, whatever the case of its name', async () => {
    const config = parseConfig(RECIPE_CONFIG, { env: {} });
    const { proxy } = await proxyFor();
    const body = JSON.stringify(RECIPE_REQUEST);
    // Two X-Request-Id fields read as "a, b": not a valid id, so a fresh one is made, by both adapters alike.
    const twice = await send(proxy.url, { body, headers: { 'X-Request-ID': ['a', 'b'] as unknown as string } });
    const app = createApp({ config, router: createProxyParts({ config }).router });
    const headers = new Headers();
    headers.append('x-request-id', 'a');
    headers.append('x-request-id', 'b');
    const viaFetch = await app.fetch(new Request('http://127.0.0.1/v1/messages', { method: 'POST', body, headers }));
    expect(twice.status).toBe(200);
    expect(viaFetch.status).toBe(200);
    expect(twice.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(viaFetch.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const once = await send(proxy.url, { body, headers: { 'X-Request-ID': 'Mixed-Case-1' } });
    expect(once.headers['x-request-id']).toBe('Mixed-Case-1');
  });
});
