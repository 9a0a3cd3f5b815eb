/**
 * Rate limits and budgets of one proxy (counters in memory), through real
 * sockets and the official SDKs: who is refused, in which wire format, with
 * which `retry-after`, and what each call counts (a stream exactly as a
 * non-stream; a stream cut short, what it produced).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { defineConfig, startProxy, type TokenPakProxy } from 'tokenpak';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createFakeOpenAI, FAKE_OPENAI_KEY, replies, type FakeUpstream } from '../support/fake-upstream.ts';

const KEY_A = 'team-a-key-0123456789abcdef';
const KEY_B = 'team-b-key-0123456789abcdef';
const PROMPT = 'Debug my code';

const proxies: TokenPakProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close({ graceMs: 100 })));
});

async function start(config: Parameters<typeof defineConfig>[0]): Promise<TokenPakProxy> {
  const proxy = await startProxy({ config: defineConfig(config), port: 0, host: '127.0.0.1' });
  proxies.push(proxy);
  return proxy;
}

const openai = (proxy: TokenPakProxy, key = KEY_A) => new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: key, maxRetries: 0 });
const anthropic = (proxy: TokenPakProxy, key = KEY_A) => new Anthropic({ baseURL: proxy.url, apiKey: key, maxRetries: 0 });
const chat = (client: OpenAI, stream = false) =>
  stream
    ? client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: PROMPT }], stream: true }).then(async (events) => {
        for await (const _ of events);
      })
    : client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: PROMPT }] });
const settled = async (promises: Array<Promise<unknown>>) => {
  const results = await Promise.allSettled(promises);
  return {
    ok: results.filter((r) => r.status === 'fulfilled').length,
    refused: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as InstanceType<typeof OpenAI.APIError>] : [])),
  };
};
/** The call log, once the last call's record is written (a stream's is written when it ends). */
async function calls(proxy: TokenPakProxy, count: number) {
  for (let i = 0; i < 100; i++) {
    const rows = await proxy.log.query({});
    if (rows.length >= count) return rows;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return proxy.log.query({});
}

const mockOnly = { mock: { type: 'mock' as const, responses: { 'gpt-4': { default: 'Mock GPT-4 response: [mock output for testing]' } } } };

describe('requests per minute', () => {
  it('a key gets exactly its limit of 30 requests at once; the others get OpenAI\'s 429 with retry-after, and are logged; another key is not affected', async () => {
    const proxy = await start({
      providers: mockOnly,
      models: { 'gpt-4': { provider: 'mock' } },
      server: { auth: { keys: [{ key: KEY_A, name: 'team-a', limits: { requests_per_minute: 10 } }, KEY_B] } },
    });
    const { ok, refused } = await settled(Array.from({ length: 30 }, () => chat(openai(proxy))));
    expect(ok).toBe(10);
    expect(refused).toHaveLength(20);
    const error = refused[0]!;
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect({ status: error.status, code: error.code, type: error.type }).toEqual({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
    expect(error.message).toMatch(/Client key "team-a" has reached its limit of 10 requests per minute \(server\.auth\.keys\[0\]\.limits\.requests_per_minute\)\. Retry in \d+ s\./);
    expect(error.message).not.toContain(KEY_A);
    const retryAfter = Number(error.headers?.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await settled(Array.from({ length: 12 }, () => chat(openai(proxy, KEY_B))))).toMatchObject({ ok: 12 });
    const log = await calls(proxy, 42);
    expect(log.filter((c) => c.status === 429)).toHaveLength(20);
    expect(log.find((c) => c.status === 429)).toMatchObject({ outcome: 'error', errorCode: 'rate_limited', model: 'gpt-4', attempts: [] });
  });

  it('Anthropic clients get rate_limit_error, Responses clients rate_limit_exceeded, both with retry-after', async () => {
    const proxy = await start({
      providers: mockOnly,
      models: { 'gpt-4': { provider: 'mock', limits: { requests_per_minute: 1 } } },
      server: { auth: { keys: [KEY_A] } },
    });
    await anthropic(proxy).messages.create({ model: 'gpt-4', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] });
    const refusedMessages = await anthropic(proxy).messages.create({ model: 'gpt-4', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }).catch((e: unknown) => e);
    expect(refusedMessages).toBeInstanceOf(Anthropic.RateLimitError);
    const anthropicError = refusedMessages as InstanceType<typeof Anthropic.RateLimitError>;
    expect(anthropicError.status).toBe(429);
    expect((anthropicError.error as { error: { type: string; message: string } }).error).toMatchObject({
      type: 'rate_limit_error',
      message: expect.stringContaining('Model "gpt-4" (all clients together) has reached its limit of 1 requests per minute (models.gpt-4.limits.requests_per_minute)'),
    });
    expect(Number(anthropicError.headers?.get('retry-after'))).toBeGreaterThan(0);
    const refusedResponses = await openai(proxy).responses.create({ model: 'gpt-4', input: PROMPT }).catch((e: unknown) => e);
    expect(refusedResponses).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refusedResponses as InstanceType<typeof OpenAI.APIError>).code).toBe('rate_limit_exceeded');
    expect(Number((refusedResponses as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after'))).toBeGreaterThan(0);
  });

  it('embeddings are limited too, with OpenAI\'s 429', async () => {
    const proxy = await start({ providers: mockOnly, models: { 'text-embedding-3-small': { provider: 'mock', limits: { requests_per_minute: 1 } } } });
    await openai(proxy).embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    const refused = (await openai(proxy).embeddings.create({ model: 'text-embedding-3-small', input: 'hello' }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect({ code: refused.code, retryAfter: Number(refused.headers?.get('retry-after')) > 0 }).toEqual({ code: 'rate_limit_exceeded', retryAfter: true });
  });

  it('a request for an unknown model is a 404 and spends no request of the limit', async () => {
    const proxy = await start({
      providers: mockOnly,
      models: { 'gpt-4': { provider: 'mock' } },
      server: { auth: { keys: [{ key: KEY_A, limits: { requests_per_minute: 1 } }] } },
    });
    const typo = await openai(proxy).chat.completions.create({ model: 'gpt-44', messages: [{ role: 'user', content: PROMPT }] }).catch((e: unknown) => e);
    expect((typo as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
    await chat(openai(proxy));
    const refused = (await chat(openai(proxy)).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(refused.status).toBe(429);
    // A key without a name is named by its place in the config, never by its value.
    expect(refused.message).toContain('The client key server.auth.keys[0] has reached its limit of 1 requests per minute');
  });
});

describe('a config reload', () => {
  it('keeps the counters: a raised limit applies to the requests already counted; a changed state: needs a restart', async () => {
    const config = (rpm: number, state?: { redis: string }) => ({
      providers: mockOnly,
      models: { 'gpt-4': { provider: 'mock' as const, limits: { requests_per_minute: rpm } } },
      ...(state ? { state } : {}),
    });
    const proxy = await start(config(2));
    await chat(openai(proxy));
    await chat(openai(proxy));
    expect(((await chat(openai(proxy)).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect(proxy.reload(defineConfig(config(3))).needsRestart).toEqual([]);
    await chat(openai(proxy));
    const refused = (await chat(openai(proxy)).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(refused.status).toBe(429);
    expect(refused.message).toContain('has reached its limit of 3 requests per minute');
    expect(proxy.reload(defineConfig(config(3, { redis: 'redis://127.0.0.1:6379' }))).needsRestart).toEqual(['state']);
  });
});

describe('tokens per minute', () => {
  /** The tokens one call of PROMPT to the mock's gpt-4 uses. */
  async function tokensOfOneCall(): Promise<number> {
    const probe = await start({ providers: mockOnly, models: { 'gpt-4': { provider: 'mock' } } });
    const answer = await openai(probe).chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: PROMPT }] });
    return answer.usage!.total_tokens;
  }

  it('a streamed call counts the tokens of its final usage, exactly as a non-streamed one', async () => {
    const perCall = await tokensOfOneCall();
    expect(perCall).toBeGreaterThan(10);
    const proxy = await start({ providers: mockOnly, models: { 'gpt-4': { provider: 'mock', limits: { tokens_per_minute: 2 * perCall } } } });
    await chat(openai(proxy), false);
    await chat(openai(proxy), true);
    await calls(proxy, 2);
    const refused = (await chat(openai(proxy)).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused.message).toContain(`has reached its limit of ${2 * perCall} tokens per minute (models.gpt-4.limits.tokens_per_minute): its calls of the last minute used ${2 * perCall}.`);
  });

  it('below the limit, requests pass: one token under it admits the next call', async () => {
    const perCall = await tokensOfOneCall();
    const proxy = await start({ providers: mockOnly, models: { 'gpt-4': { provider: 'mock', limits: { tokens_per_minute: 2 * perCall + 1 } } } });
    await chat(openai(proxy), true);
    await chat(openai(proxy), false);
    await calls(proxy, 2);
    await expect(chat(openai(proxy))).resolves.toMatchObject({ choices: [{ message: { content: mockOnly.mock.responses['gpt-4'].default } }] });
  });
});

describe('budgets (a priced provider)', () => {
  let fake: FakeUpstream;
  afterAll(() => fake?.close());

  /**
   * The fake OpenAI answers every call with 26 input and 15 output tokens; at
   * these prices a call costs 26 + 30 = 56 cents.
   */
  async function priced(limits: Record<string, number>) {
    fake ??= await createFakeOpenAI();
    return start({
      providers: { openai: { type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: fake.baseUrl, max_retries: 0 } },
      models: { 'gpt-4': { provider: 'openai' } },
      pricing: { 'gpt-4': { input: 1_000_000, output: 2_000_000 } },
      server: { auth: { keys: [{ key: KEY_A, name: 'team-a', limits }, KEY_B] } },
    });
  }

  it('a key is refused once its day\'s spend reaches cents_per_day, with insufficient_quota and a retry-after at midnight UTC; streams are priced as non-streams', async () => {
    const proxy = await priced({ cents_per_day: 100 });
    // The fake is shared by this describe's tests: count this test's upstream calls from here.
    const upstreamCalls = () => fake.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
    const upstreamBefore = upstreamCalls();
    await chat(openai(proxy), false);
    await chat(openai(proxy), true);
    const log = await calls(proxy, 2);
    expect(log.map((c) => c.costCents)).toEqual([56, 56]);
    const before = Date.now();
    const refused = (await chat(openai(proxy)).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    const after = Date.now();
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect({ code: refused.code, type: refused.type }).toEqual({ code: 'insufficient_quota', type: 'insufficient_quota' });
    expect(refused.message).toMatch(/Client key "team-a" has spent 112 of its 100 cents for today \(UTC\) \(server\.auth\.keys\[0\]\.limits\.cents_per_day\)\. Its requests are refused until 00:00 UTC/);
    const midnight = (at: number) => Math.ceil((Date.UTC(new Date(at).getUTCFullYear(), new Date(at).getUTCMonth(), new Date(at).getUTCDate() + 1) - at) / 1000);
    const retryAfter = Number(refused.headers?.get('retry-after'));
    expect(retryAfter).toBeLessThanOrEqual(midnight(before));
    expect(retryAfter).toBeGreaterThanOrEqual(midnight(after));
    // The other key has no budget; the refused request reached no provider.
    await expect(chat(openai(proxy, KEY_B))).resolves.toMatchObject({ object: 'chat.completion' });
    // Two calls of team-a and one of the other key: the refused one is not among them.
    expect(upstreamCalls() - upstreamBefore).toBe(3);
    expect((await calls(proxy, 4)).find((c) => c.status === 429)).toMatchObject({ errorCode: 'budget_exceeded', provider: null, attempts: [] });
  });

  it('a stream cut short costs what it produced, and that counts against the budget', async () => {
    const proxy = await priced({ cents_per_month: 60 });
    fake.reply(replies.cut('openai-chat-text.sse.txt', 6));
    const cut = await chat(openai(proxy), true).catch((e: unknown) => e);
    expect(cut).toBeInstanceOf(Error);
    const [record] = await calls(proxy, 1);
    expect(record).toMatchObject({ outcome: 'error', stream: true });
    // Input counted from the request; output from the text that came before the cut (less than the whole answer's 15).
    expect(record!.inputTokens).toBeGreaterThan(0);
    expect(record!.outputTokens).toBeGreaterThan(0);
    expect(record!.outputTokens).toBeLessThan(15);
    const cost = record!.inputTokens + 2 * record!.outputTokens;
    expect(record!.costCents).toBe(cost);
    expect(cost).toBeLessThan(60);
    // Under the limit: the next call passes, and brings the month to cost + 56 ≥ 60.
    await chat(openai(proxy));
    await calls(proxy, 2);
    const refused = (await chat(openai(proxy)).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(refused.code).toBe('insufficient_quota');
    expect(refused.message).toContain(`has spent ${cost + 56} of its 60 cents for this month (UTC)`);
  });
});
