/**
 * POST /v1/messages in TokenPak's own format, over real sockets.
 */
import { describe, expect, it } from 'vitest';
import { internalErrors, postMessages, proxyFor, RECIPE_REQUEST, send } from './helpers.ts';

describe('POST /v1/messages', () => {
  it('answers the recipe request with every documented field', async () => {
    const { proxy } = await proxyFor();
    const response = await postMessages(proxy.url, RECIPE_REQUEST, { 'content-type': 'application/json' });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    const body = response.json();
    expect(body).toEqual({
      id: expect.any(String),
      object: 'tokenpak.message',
      model: 'gpt-4',
      provider: 'mock',
      upstream_model: 'gpt-4',
      content: 'Mock response: Debugged your code successfully',
      stop_reason: 'stop',
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
      cost_cents: 0,
      latency_ms: expect.any(Number),
      attempts: [{ provider: 'mock', model: 'gpt-4', outcome: 'ok', status: 200, latency_ms: expect.any(Number), cost_cents: 0 }],
    });
    expect(body.usage.input_tokens).toBeGreaterThan(0);
    expect(body.usage.output_tokens).toBeGreaterThan(0);
    expect(body.latency_ms).toBeGreaterThanOrEqual(4);
    expect(response.headers['x-request-id']).toBe(body.id);
    expect(response.headers['x-tokenpak-provider']).toBe('mock');
    expect(response.headers['x-tokenpak-attempts']).toBe('1');
    expect(internalErrors).toEqual([]);
  });

  it('reads the body as JSON without a Content-Type header (recipe step 4)', async () => {
    const { proxy } = await proxyFor();
    const response = await postMessages(proxy.url, { model: 'gpt-4', messages: [{ role: 'user', content: 'request $i' }] });
    expect(response.status).toBe(200);
    expect(response.json().content).toBe('Mock GPT-4 response: [mock output for testing]');
  });

  it("reads the body as JSON under curl's form content-type, and under text/plain", async () => {
    const { proxy } = await proxyFor();
    for (const type of ['application/x-www-form-urlencoded', 'text/plain;charset=UTF-8']) {
      const response = await postMessages(proxy.url, RECIPE_REQUEST, { 'content-type': type });
      expect(response.status, type).toBe(200);
      expect(response.json().content).toBe('Mock response: Debugged your code successfully');
    }
  });

  it('keeps a well-formed x-request-id from the client, and replaces a malformed one', async () => {
    const { proxy } = await proxyFor();
    const kept = await postMessages(proxy.url, RECIPE_REQUEST, { 'x-request-id': 'trace-123.abc' });
    expect(kept.headers['x-request-id']).toBe('trace-123.abc');
    expect(kept.json().id).toBe('trace-123.abc');
    const replaced = await postMessages(proxy.url, RECIPE_REQUEST, { 'x-request-id': 'bad id with spaces' });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('accepts system prompts, content parts and the optional fields', async () => {
    const { proxy, mock } = await proxyFor();
    const response = await postMessages(proxy.url, {
      model: 'claude-3-sonnet',
      system: 'Be brief.',
      messages: [
        { role: 'system', content: 'Really brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Please ' }, { type: 'text', text: 'explain closures' }] },
      ],
      max_tokens: 100,
      temperature: 0.2,
    });
    expect(response.status).toBe(200);
    expect(response.json().content).toBe('Mock response: Explained the concept clearly');
    const request = mock().calls[0]!.request;
    expect(request.system).toBe('Be brief.\n\nReally brief.');
    expect(request.maxTokens).toBe(100);
    expect(request.temperature).toBe(0.2);
  });

  it('reports a fallback: two attempts in the body and the headers', async () => {
    const { proxy, mock } = await proxyFor();
    mock().failNext(1, 503);
    const response = await postMessages(proxy.url, RECIPE_REQUEST);
    expect(response.status).toBe(200);
    expect(response.headers['x-tokenpak-attempts']).toBe('2');
    expect(response.json().attempts).toEqual([
      expect.objectContaining({ provider: 'mock', outcome: 'error', status: 503, error: { type: 'provider_error', message: expect.stringContaining('HTTP 503') } }),
      expect.objectContaining({ provider: 'mock', outcome: 'ok', status: 200 }),
    ]);
  });

  it('when every attempt fails, answers the last status with the attempts and a realistic retry-after for 429', async () => {
    const { proxy, mock } = await proxyFor();
    mock().configure({ retry_after: 'realistic' });
    mock().failNext(2, 429);
    const response = await postMessages(proxy.url, RECIPE_REQUEST);
    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.headers['retry-after-ms']).toBeUndefined();
    const { error } = response.json();
    expect(error.type).toBe('rate_limited');
    expect(error.provider).toBe('mock');
    expect(error.attempts).toHaveLength(2);
    expect(error.message).toContain('all 2 attempts for "gpt-4" failed');
  });

  it('answers an unknown model with 404 naming the configured models', async () => {
    const { proxy } = await proxyFor();
    const response = await postMessages(proxy.url, { model: 'gpt-5', messages: [{ role: 'user', content: 'x' }] });
    expect(response.status).toBe(404);
    expect(response.json().error).toMatchObject({
      type: 'model_not_found',
      message: expect.stringContaining('Configured models: gpt-4, gpt-3.5-turbo, claude-3-sonnet.'),
    });
  });

  it('logs each request in the call log', async () => {
    const { proxy } = await proxyFor();
    const response = await postMessages(proxy.url, RECIPE_REQUEST);
    await proxy.log.flush();
    const [record] = await proxy.log.query({ provider: 'mock' });
    expect(record).toMatchObject({ id: response.json().id, model: 'gpt-4', provider: 'mock', outcome: 'ok', costCents: 0, clientFormat: 'tokenpak' });
    expect(await proxy.log.query({ provider: 'openai' })).toEqual([]);
  });

  it('GET /healthz answers ok', async () => {
    const { proxy } = await proxyFor();
    const response = await send(proxy.url, { method: 'GET', path: '/healthz' });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });
});
