/**
 * A base_url that leads back to TokenPak itself (easy to do: SDK users set
 * OPENAI_BASE_URL to the proxy, and the proxy reads it too) is refused after
 * one hop instead of recursing, and the route falls back.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { startProxy, type TokenPakProxy } from '../../src/server/proxy.ts';
import { createFakeAnthropic, FAKE_ANTHROPIC_KEY, fixtureJson, type FakeUpstream } from '../support/fake-upstream.ts';

let proxy: TokenPakProxy;
let anthropic: FakeUpstream;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  anthropic = await createFakeAnthropic();
  const port = await freePort();
  const config = parseConfig(`
providers:
  openai: {type: openai, api_key: sk-whatever-0000000000, base_url: "http://127.0.0.1:${port}/v1", max_retries: 0}
  anthropic: {type: anthropic, api_key: ${FAKE_ANTHROPIC_KEY}, base_url: "${anthropic.url}"}
models:
  gpt-4: {provider: openai}
  gpt-4-safe: {provider: openai, model: gpt-4, fallback_provider: anthropic, fallback_model: claude-3-5-haiku-latest}
`);
  proxy = await startProxy({ config, port, host: '127.0.0.1' });
});
afterAll(async () => {
  await proxy.close({ graceMs: 0 });
  await anthropic.close();
});

const ask = (model: string) =>
  fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });

it('refuses the request that comes back, and says which setting loops', async () => {
  const response = await ask('gpt-4');
  expect(response.status).toBe(508);
  const body = (await response.json()) as { error: { message: string } };
  expect(body.error.message).toContain('OpenAI provider "openai" answered HTTP 508');
  expect(body.error.message).toContain('points back at the proxy');
  await proxy.log.flush();
  // One call from the client; the looped request was refused before routing, so it is not logged as a call.
  const calls = await proxy.log.query({ model: 'gpt-4' });
  expect(calls).toHaveLength(1);
  expect(calls[0]!.attempts).toEqual([expect.objectContaining({ provider: 'openai', status: 508, outcome: 'error' })]);
});

it('falls back past the looping provider', async () => {
  const response = await ask('gpt-4-safe');
  expect(response.status).toBe(200);
  expect(response.headers.get('x-tokenpak-provider')).toBe('anthropic');
  expect(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe(fixtureJson('anthropic-messages-text.json').content[0].text);
});
