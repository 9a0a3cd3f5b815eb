/**
 * A running TokenPak in front of a fake OpenAI and a fake Anthropic, and a
 * plain HTTP client that speaks each client format (TokenPak, OpenAI Chat
 * Completions, OpenAI Responses, Anthropic Messages), streaming or not.
 */
import { parseConfig } from '../../src/config/load.ts';
import { parseSSE, type ParsedSSE } from '../../src/formats/sse.ts';
import type { ClientFormat } from '../../src/logs/types.ts';
import { startProxy, type TokenPakProxy } from '../../src/server/proxy.ts';
import { createFakeAnthropic, createFakeOpenAI, FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, type FakeUpstream } from '../support/fake-upstream.ts';

export interface Gateway {
  proxy: TokenPakProxy;
  openai: FakeUpstream;
  anthropic: FakeUpstream;
  close(): Promise<void>;
}

/**
 * Routes: `gpt-4` → openai (gpt-4), falling back to anthropic (claude-3-5-sonnet-20241022);
 * `claude-3-sonnet` → anthropic (claude-3-sonnet), falling back to openai (gpt-4o).
 * Retries at the same provider are off unless `providerYaml` turns them on.
 * The fakes accept the keys TokenPak is configured with, unless `upstreamKeys` gives others.
 */
export async function startGateway(providerYaml = 'max_retries: 0', upstreamKeys: { openai?: string; anthropic?: string } = {}): Promise<Gateway> {
  const [openai, anthropic] = await Promise.all([
    createFakeOpenAI(upstreamKeys.openai ? { apiKey: upstreamKeys.openai } : {}),
    createFakeAnthropic(upstreamKeys.anthropic ? { apiKey: upstreamKeys.anthropic } : {}),
  ]);
  const indent = (yaml: string) => yaml.split('\n').map((line) => `    ${line}`).join('\n');
  const config = parseConfig(
    `
providers:
  openai:
    type: openai
    api_key: \${OPENAI_KEY}
    base_url: ${openai.baseUrl}
${indent(providerYaml)}
  anthropic:
    type: anthropic
    api_key: \${ANTHROPIC_KEY}
    base_url: ${anthropic.baseUrl}
${indent(providerYaml)}
models:
  gpt-4: { provider: openai, fallback_provider: anthropic, fallback_model: claude-3-5-sonnet-20241022 }
  claude-3-sonnet: { provider: anthropic, fallback_provider: openai, fallback_model: gpt-4o }
`,
    { env: { OPENAI_KEY: FAKE_OPENAI_KEY, ANTHROPIC_KEY: FAKE_ANTHROPIC_KEY } },
  );
  const proxy = await startProxy({ config, port: 0, host: '127.0.0.1' });
  return {
    proxy,
    openai,
    anthropic,
    async close() {
      await proxy.close({ graceMs: 0 });
      await Promise.all([openai.close(), anthropic.close()]);
    },
  };
}

export const CLIENT_FORMATS: readonly ClientFormat[] = ['tokenpak', 'openai-chat', 'openai-responses', 'anthropic-messages'];

/** What a client received. */
export interface ClientResult {
  status: number;
  headers: Headers;
  /** The JSON body of a non-streaming answer or error. */
  body?: any;
  /** The SSE events of a streamed answer, data parsed as JSON where it is JSON. */
  events?: Array<ParsedSSE & { json?: any }>;
}

/** Sends a one-message chat request in a client format. */
export async function send(gateway: Gateway, format: ClientFormat, model: string, options: { stream?: boolean; text?: string } = {}): Promise<ClientResult> {
  const text = options.text ?? 'What is the capital of France?';
  const stream = options.stream === true;
  const messages = [{ role: 'user', content: text }];
  const request: Record<ClientFormat, { path: string; body: object; headers?: Record<string, string> }> = {
    tokenpak: { path: '/v1/messages', body: { model, messages, stream } },
    'openai-chat': { path: '/v1/chat/completions', body: { model, messages, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) } },
    'openai-responses': { path: '/v1/responses', body: { model, input: text, stream } },
    'anthropic-messages': { path: '/v1/messages', body: { model, max_tokens: 256, messages, stream }, headers: { 'anthropic-version': '2023-06-01' } },
  };
  const { path, body, headers } = request[format];
  const response = await fetch(`${gateway.proxy.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const result: ClientResult = { status: response.status, headers: response.headers };
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    result.events = [];
    for await (const event of parseSSE(response.body!)) {
      let json: unknown;
      try {
        json = JSON.parse(event.data);
      } catch {
        json = undefined;
      }
      result.events.push({ ...event, json });
    }
  } else {
    result.body = await response.json();
  }
  return result;
}

/** The answer text a client got, in its format. */
export function answerText(format: ClientFormat, result: ClientResult): string {
  if (result.events) {
    const pieces = result.events.flatMap((e) => {
      switch (format) {
        case 'tokenpak':
          return e.event === 'delta' ? [e.json.text] : [];
        case 'openai-chat':
          return e.json?.choices?.[0]?.delta?.content ? [e.json.choices[0].delta.content] : [];
        case 'openai-responses':
          return e.event === 'response.output_text.delta' ? [e.json.delta] : [];
        case 'anthropic-messages':
          return e.event === 'content_block_delta' && e.json.delta.type === 'text_delta' ? [e.json.delta.text] : [];
      }
    });
    return pieces.join('');
  }
  const body = result.body;
  switch (format) {
    case 'tokenpak':
      return body.content;
    case 'openai-chat':
      return body.choices[0].message.content;
    case 'openai-responses':
      return body.output.flatMap((item: any) => (item.type === 'message' ? item.content.map((c: any) => c.text) : [])).join('');
    case 'anthropic-messages':
      return body.content.filter((b: any) => b.type === 'text').map((b: any) => b.text).join('');
  }
}

/** The error message a client got mid-stream, in its format; undefined when there was none. */
export function streamErrorMessage(format: ClientFormat, result: ClientResult): string | undefined {
  for (const e of result.events ?? []) {
    if (format === 'openai-chat' && e.json?.error) return e.json.error.message;
    if (format !== 'openai-chat' && e.event === 'error') return format === 'openai-responses' ? e.json.message : e.json.error.message;
  }
  return undefined;
}

/** Whether a stream ended the way its format ends a complete answer. */
export function completedNormally(format: ClientFormat, result: ClientResult): boolean {
  const last = result.events?.at(-1);
  switch (format) {
    case 'tokenpak':
      return last?.event === 'done';
    case 'openai-chat':
      return last?.data === '[DONE]';
    case 'openai-responses':
      return last?.event === 'response.completed';
    case 'anthropic-messages':
      return last?.event === 'message_stop';
  }
}
