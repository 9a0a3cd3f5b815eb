/**
 * Upstream faults seen by the OpenAI provider: what it retries (and how long
 * it waits), what it gives up on, and the error the router then gets. The
 * retry machinery is shared by both providers; the Anthropic tests cover its
 * own statuses (529) and stream errors.
 */
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openaiProviderSchema } from '../../src/config/schema.ts';
import { TokenPakError } from '../../src/errors.ts';
import { createOpenAIProvider } from '../../src/providers/openai/openai-provider.ts';
import type { Provider } from '../../src/providers/types.ts';
import { createFakeOpenAI, FAKE_OPENAI_KEY, replies, type FakeUpstream } from '../support/fake-upstream.ts';
import { ask, openaiAgainst } from '../support/http-providers.ts';
import { collectEvents, firstStreamFailure, rejectionOf } from './provider-contract.ts';

let fake: FakeUpstream;
const opened: Provider[] = [];
const open = (settings: Record<string, unknown> = {}) => {
  const provider = openaiAgainst(fake, settings);
  opened.push(provider);
  return provider;
};

beforeEach(async () => {
  fake = await createFakeOpenAI();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.close?.()));
  await fake.close();
});

const TEXT = 'The capital of France is Paris, a city of about two million people.';
const textOf = (answer: { content: Array<{ type: string; text?: string }> }) => answer.content.map((p) => p.text ?? '').join('');

describe('OpenAI provider: retries', () => {
  it('waits out a 429 retry-after-ms, then answers from the retry', async () => {
    fake.reply(replies.status(429, 'openai-error-rate-limit.json', { 'retry-after-ms': '250', 'retry-after': '1' }));
    const answer = await open().complete(ask('hi'));
    expect(textOf(answer)).toBe(TEXT);
    expect(fake.requests).toHaveLength(2);
    // retry-after-ms wins over retry-after (as in the OpenAI SDK); the wait is at least what was asked.
    expect(fake.requests[1]!.at - fake.requests[0]!.at).toBeGreaterThanOrEqual(240);
  });

  it('honours retry-after in seconds', async () => {
    fake.reply(replies.status(429, 'openai-error-rate-limit.json', { 'retry-after': '1' }));
    await open().complete(ask('hi'));
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1]!.at - fake.requests[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('does not wait for a retry-after longer than retry_max_ms: the router can fall back at once', async () => {
    fake.fallback = replies.status(429, 'openai-error-rate-limit.json', { 'retry-after': '20' });
    const error = await rejectionOf(open({ retry_max_ms: 2_000 }).complete(ask('hi')));
    expect(fake.requests).toHaveLength(1);
    expect(error).toMatchObject({ code: 'rate_limited', status: 429, retryable: true, retryAfterSeconds: 20, provider: 'openai' });
    expect((error as Error).message).toContain('OpenAI provider "openai" answered HTTP 429: Rate limit reached for gpt-4');
  });

  it('retries 500s with backoff and answers once the upstream recovers', async () => {
    fake.reply(replies.status(500, 'openai-error-server.json'), replies.status(500, 'openai-error-server.json'));
    const answer = await open().complete(ask('hi'));
    expect(textOf(answer)).toBe(TEXT);
    expect(fake.requests).toHaveLength(3);
  });

  it('gives up after max_retries with the last status and the upstream message', async () => {
    fake.fallback = replies.status(503, 'openai-error-unavailable.json');
    const error = await rejectionOf(open().complete(ask('hi')));
    expect(fake.requests).toHaveLength(3);
    expect(error).toMatchObject({ code: 'provider_error', status: 503, retryable: true });
    expect((error as Error).message).toBe(
      '[tokenpak] OpenAI provider "openai" answered HTTP 503 after 3 tries: The engine is currently overloaded, please try again later. (server_error)',
    );
  });

  it('sends once with max_retries: 0', async () => {
    fake.fallback = replies.status(500, 'openai-error-server.json');
    await rejectionOf(open({ max_retries: 0 }).complete(ask('hi')));
    expect(fake.requests).toHaveLength(1);
  });

  it('does not retry a 400, and passes its message on', async () => {
    fake.fallback = replies.status(400, 'openai-error-invalid.json');
    const error = await rejectionOf(open().complete(ask('hi')));
    expect(fake.requests).toHaveLength(1);
    expect(error).toMatchObject({ code: 'invalid_request', status: 400, retryable: false });
    expect((error as Error).message).toContain("Invalid value for 'temperature'");
  });

  it('retries a stream that fails before its first byte, then streams', async () => {
    fake.reply(replies.status(503, 'openai-error-unavailable.json'));
    const events = await collectEvents(open().stream(ask('hi')));
    expect(events.at(-1)).toMatchObject({ type: 'finish' });
    expect(fake.requests).toHaveLength(2);
  });

  it('stops waiting for a retry when the call is aborted', async () => {
    fake.fallback = replies.status(503, 'openai-error-unavailable.json');
    const controller = new AbortController();
    const call = open({ retry_base_ms: 10_000, retry_max_ms: 10_000 }).complete(ask('hi'), { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const error = await rejectionOf(call);
    expect(fake.requests).toHaveLength(1);
    expect(error).toMatchObject({ status: 499, retryable: false });
  });
});

describe('OpenAI provider: timeouts and broken connections', () => {
  it('times out a first byte slower than first_byte_timeout_ms, retrying before it gives up', async () => {
    fake.fallback = replies.answer('openai-chat-text', { delayMs: 3_000 });
    const error = await rejectionOf(open({ first_byte_timeout_ms: 150, max_retries: 1 }).complete(ask('hi')));
    expect(fake.requests).toHaveLength(2);
    expect(error).toMatchObject({ code: 'provider_timeout', status: 504, retryable: true });
    expect((error as Error).message).toContain('sent no response within 150 ms (first_byte_timeout_ms) (after 2 tries)');
  });

  it('answers from a retry when only the first try was slow', async () => {
    fake.reply(replies.answer('openai-chat-text', { delayMs: 3_000 }));
    const answer = await open({ first_byte_timeout_ms: 150 }).complete(ask('hi'));
    expect(textOf(answer)).toBe(TEXT);
    expect(fake.requests).toHaveLength(2);
  });

  it('times out a stream that goes quiet for longer than idle_timeout_ms, without re-sending it', async () => {
    fake.reply(replies.answer('openai-chat-text', { chunkDelayMs: 1_500 }));
    const iterator = open({ idle_timeout_ms: 200 }).stream(ask('hi'))[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ type: 'start' });
    const error = await rejectionOf(
      (async () => {
        for (;;) if ((await iterator.next()).done) break;
      })(),
    );
    expect(error).toMatchObject({ code: 'provider_timeout', retryable: true });
    expect((error as Error).message).toContain('stopped sending for more than 200 ms in the middle of its answer (idle_timeout_ms)');
    expect(fake.requests).toHaveLength(1);
  });

  it('ends a call that takes longer than timeout_ms, retries included', async () => {
    fake.fallback = replies.hang();
    const error = await rejectionOf(open({ timeout_ms: 300 }).complete(ask('hi')));
    expect(error).toMatchObject({ code: 'provider_timeout', status: 504, retryable: true });
    expect((error as Error).message).toContain('did not finish within 300 ms (timeout_ms)');
  });

  it('retries a reset connection, then reports it as a retryable connection error', async () => {
    fake.fallback = replies.reset();
    const error = await rejectionOf(open().complete(ask('hi')));
    expect(fake.requests).toHaveLength(3);
    expect(error).toMatchObject({ code: 'provider_connection_error', status: 502, retryable: true });
    expect((error as Error).message).toMatch(/closed the connection before answering \(.+\) \(after 3 tries\)/);
  });

  it('answers after one reset connection', async () => {
    fake.reply(replies.reset());
    expect(textOf(await open().complete(ask('hi')))).toBe(TEXT);
    expect(fake.requests).toHaveLength(2);
  });

  it('says which base_url refused the connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const provider = createOpenAIProvider('openai', openaiProviderSchema.parse({ type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: `http://127.0.0.1:${port}/v1`, max_retries: 0 }));
    opened.push(provider);
    const error = await rejectionOf(provider.complete(ask('hi')));
    expect(error).toMatchObject({ code: 'provider_connection_error', retryable: true });
    expect((error as Error).message).toContain(`refused the connection at http://127.0.0.1:${port}. Check providers.openai.base_url`);
  });

  it('treats a 200 with a body that is not JSON as a retryable provider error, without re-sending', async () => {
    fake.reply(replies.malformed());
    const error = await rejectionOf(open().complete(ask('hi')));
    expect(fake.requests).toHaveLength(1);
    expect(error).toMatchObject({ code: 'provider_error', status: 502, retryable: true });
    expect((error as Error).message).toContain('with a body that is not JSON');
  });

  it('fails a stream cut in the middle after the events already sent, and never re-sends it', async () => {
    fake.reply(replies.cut('openai-chat-text.sse.txt', 6));
    const seen: string[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const event of open().stream(ask('hi'))) seen.push(event.type === 'text-delta' ? event.text : event.type);
      })(),
    );
    expect(seen).toEqual(['start', 'The', ' capital', ' of', ' France', ' is']);
    expect(error).toBeInstanceOf(TokenPakError);
    expect(error).toMatchObject({ code: 'provider_connection_error', retryable: true });
    expect(fake.requests).toHaveLength(1);
  });

  it('fails a stream whose upstream errors before the first event, so the router can fall back', async () => {
    fake.fallback = replies.status(500, 'openai-error-server.json');
    const error = await firstStreamFailure(open({ max_retries: 0 }).stream(ask('hi')));
    expect(error).toMatchObject({ status: 500, retryable: true });
  });
});

describe('OpenAI provider: secrets', () => {
  it('keeps the key out of an auth error, which is not retried', async () => {
    const wrongKey = 'sk-proj-WRONGwrongWRONGwrong0123456789';
    const provider = open({ api_key: wrongKey });
    const error = await rejectionOf(provider.complete(ask('hi')));
    expect(fake.requests).toHaveLength(1);
    expect(error).toMatchObject({ code: 'provider_auth_error', status: 401, retryable: false });
    const message = (error as Error).message;
    expect(message).toContain('Incorrect API key provided: [redacted]');
    expect(message).toContain('Check providers.openai.api_key');
    expect(message).not.toContain(wrongKey);
    expect(message).not.toMatch(/sk-/);
    expect(JSON.stringify(error)).not.toContain(wrongKey);
  });

  it('redacts the key when an upstream echoes it in full', async () => {
    fake.reply(replies.status(400, { error: { message: `Key ${FAKE_OPENAI_KEY} is not allowed for model gpt-4`, type: 'invalid_request_error' } }));
    const error = await rejectionOf(open().complete(ask('hi')));
    expect((error as Error).message).toContain('Key [redacted] is not allowed');
    expect((error as Error).message).not.toContain(FAKE_OPENAI_KEY);
  });
});
