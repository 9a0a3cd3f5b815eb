/**
 * A provider of your own, registered as users do (the README's example): the
 * config declares it `type: custom` and routes to it; startProxy() gets the
 * object. It answers, streams, falls back like any provider, and is logged
 * under its own type.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, ProviderError, startProxy, TokenPakError, type ChatRequest, type Provider, type StreamEvent, type TokenPakProxy } from 'tokenpak';

/** The README's example: a provider that answers with the prompt shouted back. */
function createShoutProvider(name: string, options: { fail?: boolean } = {}): Provider {
  const answer = (request: ChatRequest) => {
    const last = request.messages.at(-1)!;
    return last.content.map((part) => (part.type === 'text' ? part.text : '')).join('').toUpperCase();
  };
  return {
    name,
    type: 'shout',
    async complete(request) {
      if (options.fail) throw new ProviderError('provider_error', `${name} is down`, { provider: name, status: 503, retryable: true });
      const text = answer(request);
      return { id: 'shout-1', model: request.model, content: [{ type: 'text', text }], stopReason: 'stop', usage: { inputTokens: 3, outputTokens: 2 } };
    },
    async *stream(request): AsyncGenerator<StreamEvent> {
      yield { type: 'start', id: 'shout-1', model: request.model };
      for (const word of answer(request).split(/(?<= )/)) yield { type: 'text-delta', text: word };
      yield { type: 'finish', stopReason: 'stop', usage: { inputTokens: 3, outputTokens: 2 } };
    },
  };
}

const YAML = `
providers:
  shouter: {type: custom, options: {volume: 11}}
  mock: {type: mock, responses: {"*": {default: "from the mock"}}}
models:
  loud: {provider: shouter, model: shout-1, fallback_provider: mock}
`;

let proxy: TokenPakProxy | undefined;
afterEach(async () => {
  await proxy?.close({ graceMs: 0 });
  proxy = undefined;
});

const chat = (url: string, body: Record<string, unknown>) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'loud', messages: [{ role: 'user', content: 'hello there' }], ...body }) });

describe('a provider of your own', () => {
  it('answers and streams through the proxy, and is logged under its own type', async () => {
    proxy = await startProxy({ config: parseConfig(YAML, { env: {} }), port: 0, host: '127.0.0.1', providers: { shouter: createShoutProvider('shouter') } });
    expect(proxy.config.providers.shouter).toMatchObject({ type: 'custom', options: { volume: 11 } });
    const answer = await chat(proxy.url, {});
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-tokenpak-provider')).toBe('shouter');
    expect(((await answer.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe('HELLO THERE');
    const streamed = await (await chat(proxy.url, { stream: true })).text();
    const text = streamed.split('\n').filter((line) => line.startsWith('data: {')).map((line) => JSON.parse(line.slice(6)).choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe('HELLO THERE');
    await proxy.log.flush();
    const calls = await proxy.log.query();
    expect(calls.map((c) => c.attempts.map((a) => `${a.provider}:${a.providerType}:${a.model}:${a.outcome}`))).toEqual([
      ['shouter:shout:shout-1:ok'],
      ['shouter:shout:shout-1:ok'],
    ]);
  });

  it('falls back like a built-in provider when it fails with a retryable error', async () => {
    proxy = await startProxy({ config: parseConfig(YAML, { env: {} }), port: 0, host: '127.0.0.1', providers: { shouter: createShoutProvider('shouter', { fail: true }) } });
    const answer = await chat(proxy.url, {});
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-tokenpak-provider')).toBe('mock');
    expect(answer.headers.get('x-tokenpak-attempts')).toBe('2');
  });

  it('without its implementation, starting fails and says how to pass it', async () => {
    const error = await startProxy({ config: parseConfig(YAML, { env: {} }), port: 0, host: '127.0.0.1' }).catch((e: unknown) => e);
    expect(TokenPakError.is(error)).toBe(true);
    expect((error as TokenPakError).code).toBe('config_invalid');
    expect((error as TokenPakError).detail).toContain('Provider "shouter" is type custom, and no implementation of it was given. Pass yours when starting TokenPak: startProxy({ config, providers: { "shouter": yourProvider } })');
  });
});
