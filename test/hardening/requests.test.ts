/**
 * Bounded work per request (issue 11, item 1): each hostile request of the
 * issue is answered with a 4xx JSON error in the client's format, quickly,
 * while the server keeps answering others. Real sockets throughout.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { internalErrors, proxyFor, send } from '../server/helpers.ts';
import { expectClientError, expectResponsive, nestedArrays, nestedSchema, probe } from './helpers.ts';

const CONFIG = `providers:
  mock: {type: mock}
models:
  gpt-4: {provider: mock}
`;

const hello = [{ role: 'user', content: 'hello' }];

describe('JSON depth budget', () => {
  it('a 1,000,000-level-deep body is refused before parsing, and /healthz is answered meanwhile', async () => {
    const { proxy } = await proxyFor(CONFIG);
    const result = await probe(proxy.url, { body: nestedArrays(1_000_000) });
    expectClientError(result.response, 400, /nests arrays and objects more than 100 levels deep.*server\.max_json_depth/);
    expect(result.response.json().error.type).toBe('invalid_request_error');
    expectResponsive(result);
    expect(internalErrors).toEqual([]);
  });

  it('a deep value inside a valid request is refused in the client format (Anthropic)', async () => {
    const { proxy } = await proxyFor(CONFIG);
    const body = `{"model":"gpt-4","max_tokens":10,"metadata":{"user_id":"x"},"messages":[{"role":"user","content":"hi"}],"system":${nestedArrays(500)}}`;
    const result = await probe(proxy.url, { path: '/v1/messages', body, headers: { 'anthropic-version': '2023-06-01' } });
    expectClientError(result.response, 400, /more than 100 levels deep/);
    expect(result.response.json().type).toBe('error');
    expect(result.response.json().error.type).toBe('invalid_request_error');
  });

  it('brackets inside strings do not count', async () => {
    const { proxy } = await proxyFor(CONFIG);
    const response = await send(proxy.url, {
      path: '/v1/chat/completions',
      body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: `${'[{'.repeat(5000)} "quoted \\" ${'['.repeat(500)}` }] }),
    });
    expect(response.status, response.text.slice(0, 300)).toBe(200);
  });

  it('the limit is server.max_json_depth', async () => {
    const { proxy } = await proxyFor(`${CONFIG}server:\n  max_json_depth: 5\n`);
    const deep = JSON.stringify({ model: 'gpt-4', messages: hello, metadata: { a: { b: { c: { d: {} } } } } });
    expectClientError(await send(proxy.url, { path: '/v1/chat/completions', body: deep }), 400, /more than 5 levels deep/);
  });
});

describe('deeply nested tool schemas', () => {
  const tool = (schema: string) =>
    `{"model":"gpt-4","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${schema}}}]}`;

  it('a 5,000-level schema is a 400, never a 500 (stack overflow)', async () => {
    const { proxy } = await proxyFor(CONFIG);
    const result = await probe(proxy.url, { body: tool(nestedSchema(5_000)) });
    expectClientError(result.response, 400, /more than 100 levels deep/);
    expectResponsive(result);
    expect(internalErrors).toEqual([]);
  });

  it('a schema nested just under the budget is answered, the forced tool call included', async () => {
    const { proxy } = await proxyFor(CONFIG);
    const body = tool(nestedSchema(45)).replace('"tools"', '"tool_choice":"required","tools"');
    const response = await send(proxy.url, { path: '/v1/chat/completions', body });
    expect(response.status, response.text.slice(0, 300)).toBe(200);
    expect(response.json().choices[0].message.tool_calls[0].function.name).toBe('f');
    expect(internalErrors).toEqual([]);
  });
});

describe('did-you-mean stays cheap', () => {
  const key = 'k'.repeat(300_000);
  const chat = '"messages":[{"role":"user","content":"hi"}]';
  const cases: Array<[string, string, string, Record<string, string>, RegExp]> = [
    ['OpenAI Chat Completions', '/v1/chat/completions', chat, {}, /Unrecognized request argument supplied: k{100}/],
    ['OpenAI Responses', '/v1/responses', '"input":"hi"', {}, /Unknown parameter: 'k{100}/],
    ['Anthropic Messages', '/v1/messages', `"max_tokens":10,${chat}`, { 'anthropic-version': '2023-06-01' }, /Extra inputs are not permitted/],
    ['TokenPak', '/v1/messages', chat, {}, /Unknown field "k{100}/],
  ];
  for (const [name, path, fields, headers, message] of cases) {
    it(`a 300 KB unknown key (${name}) is answered at once, /healthz meanwhile`, async () => {
      const { proxy } = await proxyFor(CONFIG);
      const body = `{"model":"gpt-4",${fields},"${key}":1}`;
      const result = await probe(proxy.url, { path, body, headers });
      expectClientError(result.response, 400, message);
      expect(result.response.text).not.toMatch(/Did you mean/);
      expectResponsive(result);
    });
  }

  it('a 300 KB unknown model name is a 404 at once, among 100 configured models', async () => {
    // Every configured model is a did-you-mean candidate: unbounded, 100 of them cost seconds.
    const models = Array.from({ length: 100 }, (_, i) => `  model-${i}: {provider: mock}\n`).join('');
    const { proxy } = await proxyFor(`${CONFIG}${models}`);
    const result = await probe(proxy.url, { body: JSON.stringify({ model: 'g'.repeat(300_000), messages: hello }) });
    expectClientError(result.response, 404, /is not configured/);
    expectResponsive(result);
  });
});

describe('headers the URL cannot hold', () => {
  it('Host: a:99999 is a 400 JSON error, not a 500 with a stack', async () => {
    const { proxy } = await proxyFor(CONFIG);
    for (const path of ['/v1/chat/completions', '/healthz']) {
      const response = await send(proxy.url, { path, method: path === '/healthz' ? 'GET' : 'POST', headers: { host: 'a:99999' }, body: JSON.stringify({ model: 'gpt-4', messages: hello }) });
      expectClientError(response, 400, /The Host header "a:99999" is not a valid host name and port/);
    }
    expect(internalErrors).toEqual([]);
    expect((await send(proxy.url, { path: '/healthz', method: 'GET' })).status).toBe(200);
  });
});

describe('server timeouts and connection cap', () => {
  it('the node server takes its timeouts and connection cap from server:', async () => {
    const { proxy } = await proxyFor(`${CONFIG}server:\n  headers_timeout_ms: 1500\n  request_timeout_ms: 3000\n  keep_alive_timeout_ms: 7000\n  max_connections: 7\n`);
    expect(proxy.server.headersTimeout).toBe(1500);
    expect(proxy.server.requestTimeout).toBe(3000);
    expect(proxy.server.keepAliveTimeout).toBe(7000);
    expect(proxy.server.maxConnections).toBe(7);
  });

  it('defaults: headers 60 s, request 300 s, keep-alive 65 s, 1,000 connections', async () => {
    const { proxy } = await proxyFor(CONFIG);
    expect([proxy.server.headersTimeout, proxy.server.requestTimeout, proxy.server.keepAliveTimeout, proxy.server.maxConnections]).toEqual([60_000, 300_000, 65_000, 1_000]);
  });

  it('a client that never finishes its headers is cut off after headers_timeout_ms', async () => {
    const { proxy } = await proxyFor(`${CONFIG}server:\n  headers_timeout_ms: 300\n  request_timeout_ms: 600\n`);
    const socket = connect(proxy.port, '127.0.0.1');
    socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    // Node checks the timeouts every connectionsCheckingInterval (30 s by default, lower in the proxy).
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  it('connections past max_connections are closed, and the ones within it are served', async () => {
    const { proxy } = await proxyFor(`${CONFIG}server:\n  max_connections: 2\n`);
    const open = await Promise.all([0, 1].map(() => new Promise<ReturnType<typeof connect>>((resolve) => {
      const socket = connect(proxy.port, '127.0.0.1', () => resolve(socket));
    })));
    // The server counts a connection once it has accepted it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = connect(proxy.port, '127.0.0.1');
    let answered = '';
    third.on('data', (chunk) => (answered += chunk));
    third.on('error', () => {});
    third.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await new Promise<void>((resolve) => third.once('close', () => resolve()));
    expect(answered).toBe('');
    open[0]!.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const served = await new Promise<string>((resolve) => {
      let text = '';
      open[0]!.on('data', (chunk) => (text += chunk)).once('close', () => resolve(text));
    });
    expect(served).toMatch(/^HTTP\/1\.1 200/);
    open[1]!.destroy();
  });
});
