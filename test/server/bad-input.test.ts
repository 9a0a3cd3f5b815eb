/**
 * Bad input gets a clear 4xx `{error: {type, message}}` and the server keeps
 * serving (issue 2, item 10). Real sockets throughout.
 */
import { describe, expect, it } from 'vitest';
import type { TokenPakProxy } from '../../src/server/proxy.ts';
import { internalErrors, postMessages, proxyFor, RECIPE_REQUEST, send, type RawResponse } from './helpers.ts';

const SMALL_LIMIT = `${'providers:\n  mock: {type: mock}\nmodels:\n  gpt-4: {provider: mock}\n'}server:\n  body_limit: 1kb\n`;

async function expectError(response: RawResponse, status: number, type: string, message: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe('application/json');
  const body = response.json();
  expect(body.error.type).toBe(type);
  expect(body.error.message).toMatch(message);
  expect(body.error.message).not.toMatch(/\n\s+at /);
  expect(response.headers['x-request-id']).toBe(body.error.request_id);
}

async function expectStillServing(proxy: TokenPakProxy) {
  const response = await postMessages(proxy.url, { model: 'gpt-4', messages: [{ role: 'user', content: 'still there?' }] });
  expect(response.status).toBe(200);
}

describe('bad input', () => {
  // A proxy per test: the helper closes each one after its test.
  let proxy: TokenPakProxy;

  const cases: Array<[string, string, number, string, RegExp]> = [
    ['invalid JSON', '{"model": "gpt-4", "messages": [', 400, 'invalid_request', /^The request body is not valid JSON \(.+\)\. Send a JSON object, for example/],
    ['an empty body', '', 400, 'invalid_request', /^The request body is empty\. Send a JSON object\./],
    ['a JSON array', '[1, 2]', 400, 'invalid_request', /^The request body must be a JSON object\./],
    ['a missing model', '{"messages": [{"role": "user", "content": "hi"}]}', 400, 'invalid_request', /^model: is required: the model name to route/],
    ['a numeric model', '{"model": 4, "messages": [{"role": "user", "content": "hi"}]}', 400, 'invalid_request', /^model: must be a string/],
    ['an empty model', '{"model": "", "messages": [{"role": "user", "content": "hi"}]}', 400, 'invalid_request', /^model: must not be empty/],
    ['missing messages', '{"model": "gpt-4"}', 400, 'invalid_request', /^messages: is required: a list of/],
    ['messages as a string', '{"model": "gpt-4", "messages": "hi"}', 400, 'invalid_request', /^messages: must be a list of/],
    ['empty messages', '{"model": "gpt-4", "messages": []}', 400, 'invalid_request', /^messages: must contain at least one message/],
    ['only system messages', '{"model": "gpt-4", "messages": [{"role": "system", "content": "x"}]}', 400, 'invalid_request', /needs at least one user or assistant message/],
    ['an unknown role', '{"model": "gpt-4", "messages": [{"role": "usr", "content": "hi"}]}', 400, 'invalid_request', /^messages\[0\]\.role: unknown role "usr"\. Did you mean "user"\?/],
    ['a numeric role', '{"model": "gpt-4", "messages": [{"role": 1, "content": "hi"}]}', 400, 'invalid_request', /^messages\[0\]\.role: must be a string/],
    ['content of the wrong type', '{"model": "gpt-4", "messages": [{"role": "user", "content": 5}]}', 400, 'invalid_request', /^messages\[0\]\.content: must be a string, or a list of/],
    ['an unknown field', '{"model": "gpt-4", "mesages": [], "messages": [{"role": "user", "content": "hi"}]}', 400, 'invalid_request', /^Unknown field "mesages"\. Did you mean "messages"\?/],
    ['max_tokens of the wrong type', '{"model": "gpt-4", "max_tokens": "10", "messages": [{"role": "user", "content": "hi"}]}', 400, 'invalid_request', /^max_tokens: /],
  ];
  for (const [name, body, status, type, message] of cases) {
    it(`${name} → ${status} ${type}, and the server keeps serving`, async () => {
      ({ proxy } = await proxyFor(SMALL_LIMIT));
      await expectError(await postMessages(proxy.url, body), status, type, message);
      await expectStillServing(proxy);
    });
  }

  it('a body over the limit with a Content-Length → 413 before reading it', async () => {
    ({ proxy } = await proxyFor(SMALL_LIMIT));
    const body = JSON.stringify({ ...RECIPE_REQUEST, messages: [{ role: 'user', content: 'x'.repeat(2000) }] });
    await expectError(await postMessages(proxy.url, body), 413, 'payload_too_large', /larger than the limit of 1000 bytes\. Send a smaller request, or raise server\.body_limit/);
    await expectStillServing(proxy);
  });

  it('a chunked body over the limit without a Content-Length → 413, and the server keeps serving', async () => {
    ({ proxy } = await proxyFor(SMALL_LIMIT));
    const chunks = ['{"model": "gpt-4", "messages": [{"role": "user", "content": "', ...Array.from({ length: 10 }, () => 'y'.repeat(300)), '"}]}'];
    const response = await send(proxy.url, { chunks, headers: { 'transfer-encoding': 'chunked' } });
    await expectError(response, 413, 'payload_too_large', /larger than the limit of 1000 bytes/);
    await expectStillServing(proxy);
    expect(internalErrors).toEqual([]);
  });

  it('a chunked body within the limit is read whole', async () => {
    ({ proxy } = await proxyFor(SMALL_LIMIT));
    const response = await send(proxy.url, { chunks: ['{"model": "gpt-4", ', '"messages": [{"role": "user", ', '"content": "hi"}]}'] });
    expect(response.status).toBe(200);
  });

  it('a wrong method → 405 with an Allow header', async () => {
    ({ proxy } = await proxyFor(SMALL_LIMIT));
    const response = await send(proxy.url, { method: 'GET' });
    await expectError(response, 405, 'method_not_allowed', /^GET is not allowed on \/v1\/messages; use POST\.$/);
    expect(response.headers.allow).toBe('POST, OPTIONS');
    const del = await send(proxy.url, { method: 'DELETE', path: '/healthz' });
    await expectError(del, 405, 'method_not_allowed', /use GET/);
    expect(del.headers.allow).toBe('GET, HEAD, OPTIONS');
    await expectStillServing(proxy);
  });

  it('an unknown path → 404 listing the endpoints', async () => {
    ({ proxy } = await proxyFor(SMALL_LIMIT));
    const response = await send(proxy.url, { method: 'POST', path: '/v1/mesages', body: '{}' });
    await expectError(response, 404, 'route_not_found', /^No endpoint at POST \/v1\/mesages\. TokenPak serves .*\/v1\/messages/);
    await expectStillServing(proxy);
  });

  it('many bad requests in a row, then a good one', async () => {
    ({ proxy } = await proxyFor(SMALL_LIMIT));
    const bad = await Promise.all(cases.map(([, body]) => postMessages(proxy.url, body)));
    expect(bad.map((r) => r.status)).toEqual(cases.map(([, , status]) => status));
    await expectStillServing(proxy);
    expect(internalErrors).toEqual([]);
  });
});
