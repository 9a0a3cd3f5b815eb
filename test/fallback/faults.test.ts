/**
 * The fault list of the real-provider issue, end to end: each fault at the
 * primary upstream, what the client then receives (the fallback's answer),
 * and what the call log records about the failed attempt. The provider has
 * one retry, so a retryable fault is tried twice before the router falls back.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixtureJson, replies, type FakeReply } from '../support/fake-upstream.ts';
import { answerText, send, startGateway, type Gateway } from './helpers.ts';

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway('max_retries: 1\nretry_base_ms: 1\nfirst_byte_timeout_ms: 300');
});
afterAll(async () => {
  await gateway.close();
});
beforeEach(() => {
  gateway.openai.requests.length = 0;
  gateway.anthropic.requests.length = 0;
});

interface Fault {
  name: string;
  primary: 'openai' | 'anthropic';
  replies: () => FakeReply[];
  /** Requests the primary gets (1 + its retries). */
  tries: number;
  status: number;
  code: string;
  message: RegExp;
}

const FAULTS: Fault[] = [
  {
    name: '429 with a retry-after longer than retry_max_ms',
    primary: 'openai',
    replies: () => [replies.status(429, 'openai-error-rate-limit.json', { 'retry-after': '30' })],
    tries: 1,
    status: 429,
    code: 'rate_limited',
    message: /answered HTTP 429: Rate limit reached for gpt-4/,
  },
  {
    name: '500, twice',
    primary: 'openai',
    replies: () => [replies.status(500, 'openai-error-server.json'), replies.status(500, 'openai-error-server.json')],
    tries: 2,
    status: 500,
    code: 'provider_error',
    message: /answered HTTP 500 after 2 tries: The server had an error/,
  },
  {
    name: '503, twice',
    primary: 'openai',
    replies: () => [replies.status(503, 'openai-error-unavailable.json'), replies.status(503, 'openai-error-unavailable.json')],
    tries: 2,
    status: 503,
    code: 'provider_error',
    message: /answered HTTP 503 after 2 tries/,
  },
  {
    name: '529 overloaded, twice',
    primary: 'anthropic',
    replies: () => [replies.status(529, 'anthropic-error-overloaded.json'), replies.status(529, 'anthropic-error-overloaded.json')],
    tries: 2,
    status: 529,
    code: 'provider_overloaded',
    message: /answered HTTP 529 after 2 tries: Overloaded \(overloaded_error\)/,
  },
  {
    name: 'a first byte slower than first_byte_timeout_ms, twice',
    primary: 'openai',
    replies: () => [replies.answer('openai-chat-text', { delayMs: 5_000 }), replies.answer('openai-chat-text', { delayMs: 5_000 })],
    tries: 2,
    status: 504,
    code: 'provider_timeout',
    message: /sent no response within 300 ms \(first_byte_timeout_ms\) \(after 2 tries\)/,
  },
  {
    name: 'a reset connection, twice',
    primary: 'anthropic',
    replies: () => [replies.reset(), replies.reset()],
    tries: 2,
    status: 502,
    code: 'provider_connection_error',
    message: /closed the connection before answering .* \(after 2 tries\)/,
  },
];

const FALLBACK_TEXT = {
  openai: fixtureJson('anthropic-messages-text.json').content[0].text as string,
  anthropic: fixtureJson('openai-chat-text.json').choices[0].message.content as string,
};

describe.each(FAULTS)('primary fault: $name', (fault) => {
  it.each([{ stream: false }, { stream: true }])('the client gets the fallback answer and the log says why (stream: $stream)', async ({ stream }) => {
    const fallback = fault.primary === 'openai' ? 'anthropic' : 'openai';
    gateway[fault.primary].reply(...fault.replies());
    const result = await send(gateway, 'openai-chat', fault.primary === 'openai' ? 'gpt-4' : 'claude-3-sonnet', { stream });

    expect(result.status).toBe(200);
    expect(answerText('openai-chat', result)).toBe(FALLBACK_TEXT[fault.primary]);
    expect(result.headers.get('x-tokenpak-provider')).toBe(fallback);
    // One attempt per try (retries included), then the fallback's.
    expect(result.headers.get('x-tokenpak-attempts')).toBe(String(fault.tries + 1));
    expect(gateway[fault.primary].requests).toHaveLength(fault.tries);
    expect(gateway[fallback].requests).toHaveLength(1);

    await gateway.proxy.log.flush();
    const call = (await gateway.proxy.log.query()).find((c) => c.id === result.headers.get('x-request-id'))!;
    expect(call).toMatchObject({ outcome: 'ok', provider: fallback, stream, clientFormat: 'openai-chat' });
    expect(call.attempts).toHaveLength(fault.tries + 1);
    const retried = call.attempts.slice(0, fault.tries - 1);
    for (const attempt of retried) {
      expect(attempt).toMatchObject({ provider: fault.primary, outcome: 'error', status: fault.status, errorCode: fault.code, costCents: 0, waitMs: expect.any(Number) });
      expect(attempt.errorMessage).toMatch(/Retrying in \d+ ms\.$/);
    }
    const lastTry = call.attempts[fault.tries - 1]!;
    expect(lastTry).toMatchObject({ provider: fault.primary, outcome: 'error', status: fault.status, errorCode: fault.code, costCents: 0 });
    expect(lastTry.waitMs).toBeUndefined();
    expect(lastTry.errorMessage).toMatch(fault.message);
    expect(call.attempts[fault.tries]).toMatchObject({ provider: fallback, outcome: 'ok', status: 200 });
    expect(call.costCents).toBeGreaterThan(0);
  });
});

describe('primary fault: a 200 whose body is not JSON', () => {
  it('is not retried (the model may have answered), and falls back', async () => {
    gateway.openai.reply(replies.malformed());
    const result = await send(gateway, 'tokenpak', 'gpt-4');
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ provider: 'anthropic', content: FALLBACK_TEXT.openai });
    expect(result.body.attempts[0]).toMatchObject({ provider: 'openai', outcome: 'error', status: 502, error: { type: 'provider_error', message: expect.stringContaining('with a body that is not JSON') } });
    expect(gateway.openai.requests).toHaveLength(1);
    await gateway.proxy.log.flush();
    const call = (await gateway.proxy.log.query()).find((c) => c.id === result.headers.get('x-request-id'))!;
    expect(call.attempts.map((a) => [a.provider, a.status, a.errorCode ?? null])).toEqual([
      ['openai', 502, 'provider_error'],
      ['anthropic', 200, null],
    ]);
  });
});
