import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterEach } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { MockProvider } from '../../src/providers/mock/mock-provider.ts';
import { startProxy, type ProxyOptions, type TokenPakProxy } from '../../src/server/proxy.ts';

/** The recipe's dev config, with a short latency so tests stay quick. */
export const RECIPE_CONFIG = `providers:
  mock:
    type: mock
    latency_ms: 5
    responses:
      gpt-4:
        default: "Mock GPT-4 response: [mock output for testing]"
        patterns:
          debug: "Mock response: Debugged your code successfully"
          refactor: "Mock response: Code refactored for clarity"
      claude-3-sonnet:
        default: "Mock Claude response: [test output]"
        patterns:
          explain: "Mock response: Explained the concept clearly"
  openai:
    type: openai
    api_key: \${OPENAI_API_KEY}
    enabled: false
models:
  gpt-4:
    provider: mock
    fallback_provider: mock
  gpt-3.5-turbo:
    provider: mock
    fallback_provider: mock
  claude-3-sonnet:
    provider: mock
    fallback_provider: mock
`;

const running: TokenPakProxy[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.close({ graceMs: 0 })));
});

/** Starts a proxy on a free port of 127.0.0.1; it is closed after the test. */
export async function proxyFor(yaml = RECIPE_CONFIG, options: Omit<ProxyOptions, 'config'> = {}) {
  const config = parseConfig(yaml, { env: {} });
  const proxy = await startProxy({ config, port: 0, host: '127.0.0.1', onInternalError: (error) => internalErrors.push(error), ...options });
  running.push(proxy);
  return { proxy, mock: (name = 'mock') => proxy.providers.get(name) as MockProvider };
}

/** TokenPak's own internal errors seen by the proxies of this file (should stay empty). */
export const internalErrors: unknown[] = [];

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): any;
}

/**
 * One HTTP request over a real socket, with exact control of the headers: no
 * Content-Type unless given, and a body sent in `chunks` uses chunked transfer
 * encoding without a Content-Length.
 */
export function send(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string; chunks?: string[] } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] ??= String(Buffer.byteLength(options.body));
    const req = httpRequest(`${url}${options.path ?? '/v1/messages'}`, { method: options.method ?? 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.chunks) {
      for (const chunk of options.chunks) req.write(chunk);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

/** POSTs a JSON text to /v1/messages with no Content-Type header (as the recipe's loop does). */
export function postMessages(url: string, body: unknown, headers: Record<string, string> = {}) {
  return send(url, { body: typeof body === 'string' ? body : JSON.stringify(body), headers });
}

export const RECIPE_REQUEST = { model: 'gpt-4', messages: [{ role: 'user', content: 'Debug my code' }] };
