/**
 * Requests refused before any provider was tried — an unknown model, a body
 * that is not a valid request, a body that is not JSON — are calls too: each
 * is in the call log with its status and error code (and its body only with
 * logs.capture_bodies), exactly once.
 */
import { describe, expect, it } from 'vitest';
import { proxyFor, send } from './helpers.ts';

const CONFIG = (logs = '') => `providers:
  mock:
    type: mock
models:
  gpt-4: {provider: mock}
${logs}`;

async function loggedAfter(proxy: Awaited<ReturnType<typeof proxyFor>>['proxy'], body: string, path = '/v1/chat/completions') {
  const response = await send(proxy.url, { path, body, headers: { 'content-type': 'application/json' } });
  await proxy.log.flush();
  const calls = await proxy.log.query();
  return { response, calls };
}

describe('requests refused before routing are logged as calls', () => {
  it('an unknown model: status 404, model_not_found, the model asked for, no attempts', async () => {
    const { proxy } = await proxyFor(CONFIG());
    const { response, calls } = await loggedAfter(proxy, JSON.stringify({ model: 'gtp-4', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    expect(response.status).toBe(404);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      id: response.headers['x-request-id'],
      clientFormat: 'openai-chat',
      model: 'gtp-4',
      provider: null,
      outcome: 'error',
      status: 404,
      errorCode: 'model_not_found',
      errorMessage: expect.stringContaining('Did you mean "gpt-4"?'),
      stream: true,
      attempts: [],
      costCents: 0,
    });
    expect(calls[0]).not.toHaveProperty('requestBody');
  });

  it('a body that is not a valid request, and one that is not JSON: 400 invalid_request', async () => {
    const { proxy } = await proxyFor(CONFIG());
    await loggedAfter(proxy, JSON.stringify({ model: 'gpt-4', messages: 'hi' }));
    const { calls } = await loggedAfter(proxy, '{"model": "gpt-4", "messages": [', '/v1/messages');
    expect(calls.map((c) => [c.model, c.status, c.errorCode, c.clientFormat])).toEqual([
      ['gpt-4', 400, 'invalid_request', 'openai-chat'],
      ['', 400, 'invalid_request', 'tokenpak'],
    ]);
    expect(calls[1]!.errorMessage).toContain('not valid JSON');
  });

  it('with logs.capture_bodies the body is kept as received: the JSON, or the text that was not JSON', async () => {
    const { proxy } = await proxyFor(CONFIG('logs:\n  capture_bodies: true\n'));
    await loggedAfter(proxy, JSON.stringify({ model: 'gtp-4', max_tokens: 200, messages: [{ role: 'user', content: 'hi' }] }));
    const { calls } = await loggedAfter(proxy, '{"model": "gpt-4", "messages": [', '/v1/messages');
    expect(calls.map((c) => c.requestBody)).toEqual([{ model: 'gtp-4', max_tokens: 200, messages: [{ role: 'user', content: 'hi' }] }, '{"model": "gpt-4", "messages": [']);
  });

  it('calls that reached a provider are logged once, by the router, whether they succeeded or failed', async () => {
    const { proxy, mock } = await proxyFor(CONFIG());
    const ok = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
    await loggedAfter(proxy, ok);
    mock().failNext(1, 400);
    const { calls } = await loggedAfter(proxy, ok);
    expect(calls.map((c) => [c.status, c.attempts.length])).toEqual([
      [200, 1],
      [400, 1],
    ]);
  });
});
