/**
 * Injected mock failures tell clients to retry at once (so error-path tests
 * with the official SDKs' default retries stay fast; the time is measured in
 * bench/, not here), unless `retry_after: realistic`; and the server keeps
 * idle connections longer than the SDKs' pools do, saying so on every answer.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { proxyFor, RECIPE_REQUEST, send } from './helpers.ts';

const ONE_MOCK = `providers:
  mock:
    type: mock
models:
  gpt-4: {provider: mock}
  claude-3-sonnet: {provider: mock}
`;

describe('injected failures and the official SDKs', () => {
  it('the OpenAI SDK, default retries, is told retry-after-ms: 1 and retries the injected 503 twice', async () => {
    const { proxy, mock } = await proxyFor(ONE_MOCK);
    mock().configure({ failure_rate: 1, failure: 503 });
    const client = new OpenAI({ apiKey: 'test', baseURL: `${proxy.url}/v1` });
    const error = await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect(Object.fromEntries(['retry-after-ms', 'retry-after'].map((h) => [h, (error as InstanceType<typeof OpenAI.APIError>).headers?.get(h)]))).toEqual({
      'retry-after-ms': '1',
      'retry-after': '0',
    });
    expect(mock().calls).toHaveLength(3);
  });

  it('the Anthropic SDK, default retries, is told retry-after-ms: 1 (it takes 0 as no hint) for a 529', async () => {
    const { proxy, mock } = await proxyFor(ONE_MOCK);
    mock().failNext(3, 529);
    const client = new Anthropic({ apiKey: 'test', baseURL: proxy.url });
    const error = await client.messages.create({ model: 'claude-3-sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((error as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after-ms')).toBe('1');
    expect(mock().calls).toHaveLength(3);
  });

  it('an SDK retry after an injected failure gets the answer', async () => {
    const { proxy, mock } = await proxyFor(ONE_MOCK);
    mock().failNext(1, 429);
    const client = new OpenAI({ apiKey: 'test', baseURL: `${proxy.url}/v1` });
    const completion = await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]!.message.content).toMatch(/^Mock answer from gpt-4/);
    expect(mock().calls.map((c) => c.outcome)).toEqual(['error', 'ok']);
  });

  it('retry_after: realistic sends what the real APIs send: retry-after: 1 on 429, no hint on 5xx', async () => {
    const { proxy, mock } = await proxyFor(`${ONE_MOCK.replace('type: mock', 'type: mock\n    retry_after: realistic')}`);
    mock().failNext(1, 429);
    const limited = await send(proxy.url, { body: JSON.stringify(RECIPE_REQUEST) });
    expect([limited.status, limited.headers['retry-after'], limited.headers['retry-after-ms']]).toEqual([429, '1', undefined]);
    mock().failNext(1, 503);
    const down = await send(proxy.url, { body: JSON.stringify(RECIPE_REQUEST) });
    expect([down.status, down.headers['retry-after'], down.headers['retry-after-ms']]).toEqual([503, undefined, undefined]);
  });

  it('a client error (400-range status other than 408/409/429) carries no retry hint: the SDKs do not retry it', async () => {
    const { proxy, mock } = await proxyFor(ONE_MOCK);
    mock().failNext(1, 400);
    const response = await send(proxy.url, { body: JSON.stringify(RECIPE_REQUEST) });
    expect([response.status, response.headers['retry-after-ms']]).toEqual([400, undefined]);
  });
});

describe('keep-alive', () => {
  it('idle connections are kept 65 s, above the SDK pools\' idle times, and every answer says so, streams included', async () => {
    const { proxy } = await proxyFor(ONE_MOCK);
    expect(proxy.server.keepAliveTimeout).toBe(65_000);
    const keepAlive = { connection: 'keep-alive' };
    const plain = await send(proxy.url, { body: JSON.stringify(RECIPE_REQUEST), headers: keepAlive });
    const streamed = await send(proxy.url, { body: JSON.stringify({ ...RECIPE_REQUEST, stream: true }), headers: keepAlive });
    expect(streamed.headers['content-type']).toMatch(/^text\/event-stream/);
    for (const response of [plain, streamed]) {
      expect({ connection: response.headers.connection, keepAlive: response.headers['keep-alive'] }).toEqual({ connection: 'keep-alive', keepAlive: 'timeout=65' });
    }
  });
});
