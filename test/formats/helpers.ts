/**
 * A proxy (the built package, on 127.0.0.1 port 0) with a mock whose models
 * answer with text, a tool call, content parts, or an error, and plain-fetch
 * helpers to speak each wire format without an SDK in between.
 */
import { defineConfig, startProxy, type MockProvider, type TokenPakProxy } from 'tokenpak';

export const TEXT = 'Hello, golden world! One two three.';

export interface FormatProxy {
  proxy: TokenPakProxy;
  mock: MockProvider;
  /** POST a JSON body (a string is sent as it is). */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Models: `text-model` answers {@link TEXT}; `tool-model` calls
 * `get_weather({"city": "Paris", "unit": "celsius"})`; `parts-model` answers text then a tool
 * call; `overloaded-model` fails with 529; `generated-model` has no canned
 * answer.
 */
export async function startFormatProxy(options: { bodyLimit?: string } = {}): Promise<FormatProxy> {
  const config = defineConfig({
    providers: {
      mock: {
        type: 'mock',
        latency_ms: 0,
        responses: {
          'text-model': { default: TEXT },
          'tool-model': { default: { tool_call: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' }, id: 'call_golden_1' } } },
          'parts-model': {
            default: {
              content: [
                { type: 'text', text: 'Let me check.' },
                { type: 'tool_call', name: 'get_weather', arguments: { city: 'Oslo' }, id: 'call_parts_1' },
              ],
            },
          },
          'overloaded-model': { default: { error: 529 } },
        },
      },
    },
    models: {
      'text-model': { provider: 'mock' },
      'tool-model': { provider: 'mock' },
      'parts-model': { provider: 'mock' },
      'overloaded-model': { provider: 'mock' },
      'generated-model': { provider: 'mock' },
    },
    ...(options.bodyLimit ? { server: { body_limit: options.bodyLimit } } : {}),
  });
  const proxy = await startProxy({ config, port: 0, host: '127.0.0.1' });
  return {
    proxy,
    mock: proxy.providers.get('mock') as MockProvider,
    post: (path, body, headers = {}) =>
      fetch(`${proxy.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    close: () => proxy.close({ graceMs: 100 }),
  };
}

export const ANTHROPIC = { 'anthropic-version': '2023-06-01' };

/** A request for `model` in each format; `extra` is merged into the body. */
export function requestFor(format: 'openai-chat' | 'openai-responses' | 'anthropic-messages', model: string, extra: Record<string, unknown> = {}) {
  switch (format) {
    case 'openai-chat':
      return { path: '/v1/chat/completions', headers: {}, body: { model, messages: [{ role: 'user', content: 'Hello' }], ...extra } };
    case 'openai-responses':
      return { path: '/v1/responses', headers: {}, body: { model, input: 'Hello', ...extra } };
    case 'anthropic-messages':
      return { path: '/v1/messages', headers: ANTHROPIC, body: { model, max_tokens: 1024, messages: [{ role: 'user', content: 'Hello' }], ...extra } };
  }
}

/** Timestamps vary run to run; everything else in TokenPak's output is deterministic for a fixed request id. */
export function normalize(text: string): string {
  return text
    .replace(/("(?:created|created_at|completed_at)": ?)\d+/g, (_, key: string) => `${key}0`)
    .replace(/("created_at": ?)"[^"]+"/g, (_, key: string) => `${key}"1970-01-01T00:00:00.000Z"`);
}
