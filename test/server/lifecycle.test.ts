/**
 * Connection life cycle over real sockets: clients that leave mid-request,
 * graceful close with requests in flight, and the port being free after close.
 */
import { Agent, request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { MockProvider } from '../../src/providers/mock/mock-provider.ts';
import { startProxy } from '../../src/server/proxy.ts';
import { internalErrors, postMessages, proxyFor, RECIPE_REQUEST } from './helpers.ts';

const SLOW_STREAM = `providers:
  mock:
    type: mock
    chunk_delay_ms: 20
    responses:
      gpt-4:
        default: "${'word '.repeat(200).trim()}"
models:
  gpt-4: {provider: mock}
`;

/** Opens a streaming request, waits for the first body bytes, then destroys the socket. */
function leaveAfterFirstChunk(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ ...RECIPE_REQUEST, stream: true });
    const req = httpRequest(`${url}/v1/messages`, { method: 'POST', agent: false, headers: { 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      res.once('data', (chunk: Buffer) => {
        req.destroy();
        resolve(chunk.toString());
      });
    });
    req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)));
    req.end(body);
  });
}

async function waitFor<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('server life cycle', () => {
  it('a client that disconnects mid-stream does not crash the server; the call is logged as a client disconnect', async () => {
    const { proxy } = await proxyFor(SLOW_STREAM);
    const first = await leaveAfterFirstChunk(proxy.url);
    expect(first).toContain('event: start');
    const record = await waitFor(async () => (await proxy.log.query())[0], 'the call record');
    expect(record).toMatchObject({ outcome: 'error', status: 499, stream: true });
    expect(record.errorMessage).toMatch(/cancelled|client closed the connection/);
    // The stream stopped: far fewer than the 200 words were produced.
    expect(record.attempts[0]!.latencyMs).toBeLessThan(200 * 20);
    expect((await postMessages(proxy.url, { ...RECIPE_REQUEST, messages: [{ role: 'user', content: 'again' }] })).status).toBe(200);
    expect(internalErrors).toEqual([]);
  });

  it('a client that disconnects before a slow answer does not crash the server, and no fallback is tried', async () => {
    const { proxy, mock } = await proxyFor(`providers:\n  mock: {type: mock, latency_ms: 5000}\n  second: {type: mock}\nmodels:\n  gpt-4: {provider: mock, fallback_provider: second}\n`);
    const controller = new AbortController();
    const pending = fetch(`${proxy.url}/v1/messages`, { method: 'POST', body: JSON.stringify(RECIPE_REQUEST), signal: controller.signal }).catch((e: unknown) => e);
    await waitFor(async () => (mock().calls.length > 0 ? true : undefined), 'the mock call');
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    const record = await waitFor(async () => (await proxy.log.query())[0], 'the call record');
    expect(record.outcome).toBe('error');
    expect(mock('second').calls).toHaveLength(0);
    mock().configure({ latency_ms: 0 });
    expect((await postMessages(proxy.url, RECIPE_REQUEST)).status).toBe(200);
  });

  it('close() lets an in-flight request finish, then frees the port for the next proxy at once', async () => {
    const config = parseConfig('providers:\n  mock: {type: mock, latency_ms: 300}\nmodels:\n  gpt-4: {provider: mock}\n', { env: {} });
    const proxy = await startProxy({ config, port: 0, host: '127.0.0.1' });
    const inFlight = postMessages(proxy.url, RECIPE_REQUEST);
    await waitFor(async () => ((proxy.providers.get('mock') as MockProvider).calls.length > 0 ? true : undefined), 'the request to arrive');
    const closed = proxy.close();
    // New connections are refused while the in-flight request finishes.
    await expect(postMessages(proxy.url, RECIPE_REQUEST)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.json().content).toMatch(/^Mock answer from gpt-4/);
    await closed;
    const next = await startProxy({ config, port: proxy.port, host: '127.0.0.1' });
    expect(next.port).toBe(proxy.port);
    await next.close();
  });

  it('close() cuts requests still running after the grace period', async () => {
    const config = parseConfig('providers:\n  mock: {type: mock, latency_ms: 60000}\nmodels:\n  gpt-4: {provider: mock}\n', { env: {} });
    const proxy = await startProxy({ config, port: 0, host: '127.0.0.1' });
    const inFlight = postMessages(proxy.url, RECIPE_REQUEST).catch((e: unknown) => e);
    await waitFor(async () => ((proxy.providers.get('mock') as MockProvider).calls.length > 0 ? true : undefined), 'the request to arrive');
    await proxy.close({ graceMs: 50 });
    expect(await inFlight).toBeInstanceOf(Error);
  });

  it('idle keep-alive connections do not hold close() open', async () => {
    const config = parseConfig('providers:\n  mock: {type: mock}\nmodels:\n  gpt-4: {provider: mock}\nserver: {shutdown_grace_ms: 60000}\n', { env: {} });
    const proxy = await startProxy({ config, port: 0, host: '127.0.0.1' });
    const agent = new Agent({ keepAlive: true });
    const body = JSON.stringify(RECIPE_REQUEST);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${proxy.url}/v1/messages`, { method: 'POST', agent, headers: { 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
    // With a 60 s grace period, this finishes within the test timeout only if the idle socket is closed at once.
    await proxy.close();
    agent.destroy();
  }, 10_000);
});
