/**
 * Fallback across real providers, end to end: a client in each wire format,
 * TokenPak on a real socket, fake OpenAI and Anthropic upstreams. Each case
 * checks what the client received (answer, headers, cost) and what the call
 * log recorded (who answered, why the earlier attempt failed, each attempt's
 * cost).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClientFormat } from '../../src/logs/types.ts';
import { costCents, findPrice } from '../../src/pricing/pricing.ts';
import { fixture, fixtureJson, replies } from '../support/fake-upstream.ts';
import { answerText, CLIENT_FORMATS, completedNormally, send, startGateway, streamErrorMessage, type Gateway } from './helpers.ts';

const OPENAI_TEXT: string = fixtureJson('openai-chat-text.json').choices[0].message.content;
const ANTHROPIC_TEXT: string = fixtureJson('anthropic-messages-text.json').content[0].text;
// The fixtures' usage: OpenAI 26 in / 15 out, Anthropic 24 in / 17 out.
const ANTHROPIC_USAGE = { inputTokens: 24, outputTokens: 17 };

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway();
});
afterAll(async () => {
  await gateway.close();
});
beforeEach(() => {
  gateway.openai.requests.length = 0;
  gateway.anthropic.requests.length = 0;
});

async function logged(requestId: string | null) {
  await gateway.proxy.log.flush();
  const calls = await gateway.proxy.log.query();
  const call = calls.find((c) => c.id === requestId);
  expect(call, `call ${requestId} in the log`).toBeDefined();
  return call!;
}

interface Direction {
  name: string;
  route: string;
  primary: 'openai' | 'anthropic';
  fallback: 'openai' | 'anthropic';
  primaryModel: string;
  fallbackModel: string;
  /** The failure the primary answers with, and how it is recorded. */
  failure: () => ReturnType<typeof replies.status>;
  failureStatus: number;
  failureCode: string;
  failureMessage: string;
  fallbackText: string;
  fallbackCostCents: number;
}

const DIRECTIONS: Direction[] = [
  {
    name: 'openai → anthropic',
    route: 'gpt-4',
    primary: 'openai',
    fallback: 'anthropic',
    primaryModel: 'gpt-4',
    fallbackModel: 'claude-3-5-sonnet-20241022',
    failure: () => replies.status(503, 'openai-error-unavailable.json'),
    failureStatus: 503,
    failureCode: 'provider_error',
    failureMessage: 'OpenAI provider "openai" answered HTTP 503: The engine is currently overloaded, please try again later. (server_error)',
    fallbackText: ANTHROPIC_TEXT,
    // claude-3-5-sonnet: 300 / 1500 cents per million tokens.
    fallbackCostCents: (24 * 300 + 17 * 1500) / 1e6,
  },
  {
    name: 'anthropic → openai',
    route: 'claude-3-sonnet',
    primary: 'anthropic',
    fallback: 'openai',
    primaryModel: 'claude-3-sonnet',
    fallbackModel: 'gpt-4o',
    failure: () => replies.status(529, 'anthropic-error-overloaded.json'),
    failureStatus: 529,
    failureCode: 'provider_overloaded',
    failureMessage: 'Anthropic provider "anthropic" answered HTTP 529: Overloaded (overloaded_error)',
    fallbackText: OPENAI_TEXT,
    // gpt-4o: 250 / 1000 cents per million tokens.
    fallbackCostCents: (26 * 250 + 15 * 1000) / 1e6,
  },
];

describe.each(DIRECTIONS)('fallback $name', (direction) => {
  describe.each(CLIENT_FORMATS.map((format) => ({ format })))('$format client', ({ format }) => {
    it.each([{ stream: false }, { stream: true }])('primary fails before the first byte (stream: $stream): the fallback answers', async ({ stream }) => {
      gateway[direction.primary].reply(direction.failure());
      const result = await send(gateway, format, direction.route, { stream });

      // What the client received.
      expect(result.status).toBe(200);
      expect(answerText(format, result)).toBe(direction.fallbackText);
      expect(result.headers.get('x-tokenpak-provider')).toBe(direction.fallback);
      expect(result.headers.get('x-tokenpak-model')).toBe(direction.fallbackModel);
      expect(result.headers.get('x-tokenpak-attempts')).toBe('2');
      if (stream) {
        expect(completedNormally(format, result)).toBe(true);
        // A stream's cost is known only at its end: not in the headers (see the README).
        expect(result.headers.get('x-tokenpak-cost-cents')).toBeNull();
      } else {
        expect(Number(result.headers.get('x-tokenpak-cost-cents'))).toBeCloseTo(direction.fallbackCostCents, 9);
      }

      // What the upstreams saw: the fallback got its own upstream model name.
      expect(gateway[direction.primary].requests).toHaveLength(1);
      expect(gateway[direction.primary].requests[0]!.body.model).toBe(direction.primary === 'anthropic' ? 'claude-3-sonnet-20240229' : direction.primaryModel);
      expect(gateway[direction.fallback].requests).toHaveLength(1);
      expect(gateway[direction.fallback].requests[0]!.body.model).toBe(direction.fallbackModel);
      expect(gateway[direction.fallback].requests[0]!.body.stream ?? false).toBe(stream);

      // What the call log recorded.
      const call = await logged(result.headers.get('x-request-id'));
      expect(call).toMatchObject({
        clientFormat: format,
        model: direction.route,
        provider: direction.fallback,
        upstreamModel: direction.fallbackModel,
        outcome: 'ok',
        status: 200,
        stream,
      });
      expect(call.costCents).toBeCloseTo(direction.fallbackCostCents, 9);
      expect(call.attempts).toHaveLength(2);
      expect(call.attempts[0]).toMatchObject({
        provider: direction.primary,
        providerType: direction.primary,
        model: direction.primaryModel,
        outcome: 'error',
        status: direction.failureStatus,
        errorCode: direction.failureCode,
        errorMessage: direction.failureMessage,
        costCents: 0,
      });
      expect(call.attempts[1]).toMatchObject({ provider: direction.fallback, model: direction.fallbackModel, outcome: 'ok', status: 200 });
      expect(call.attempts[1]!.costCents).toBeCloseTo(direction.fallbackCostCents, 9);
    });
  });
});

describe('what a TokenPak-format client sees of the attempts', () => {
  it('lists each attempt, why the first failed, and each attempt priced on its own', async () => {
    gateway.openai.reply(replies.status(503, 'openai-error-unavailable.json'));
    const result = await send(gateway, 'tokenpak', 'gpt-4');
    const expectedCost = costCents(findPrice('claude-3-5-sonnet-20241022')!, ANTHROPIC_USAGE);
    expect(result.body).toMatchObject({
      model: 'gpt-4',
      provider: 'anthropic',
      upstream_model: 'claude-3-5-sonnet-20241022',
      content: ANTHROPIC_TEXT,
      usage: { input_tokens: 24, output_tokens: 17 },
      attempts: [
        { provider: 'openai', model: 'gpt-4', outcome: 'error', status: 503, error: { type: 'provider_error', message: expect.stringContaining('The engine is currently overloaded') }, cost_cents: 0 },
        { provider: 'anthropic', model: 'claude-3-5-sonnet-20241022', outcome: 'ok', status: 200, cost_cents: expectedCost },
      ],
    });
    expect(result.body.cost_cents).toBe(expectedCost);
    expect(expectedCost).toBeGreaterThan(0);
  });

  it('reports the cost of a stream in its final event', async () => {
    const result = await send(gateway, 'tokenpak', 'gpt-4', { stream: true });
    const done = result.events!.find((e) => e.event === 'done')!.json;
    expect(done).toMatchObject({ provider: 'openai', upstream_model: 'gpt-4', usage: { input_tokens: 26, output_tokens: 15 } });
    // gpt-4: 3000 / 6000 cents per million tokens.
    expect(done.cost_cents).toBe((26 * 3000 + 15 * 6000) / 1e6);
  });
});

describe('when every provider fails', () => {
  it.each(CLIENT_FORMATS.map((format) => ({ format })))('a $format client gets the last failure in its own error shape, with retry-after', async ({ format }) => {
    gateway.openai.reply(replies.status(503, 'openai-error-unavailable.json'));
    gateway.anthropic.reply(replies.status(429, 'anthropic-error-rate-limit.json', { 'retry-after': '40' }));
    const result = await send(gateway, format, 'gpt-4');
    // OpenAI-shaped APIs have no 529, but 429 exists everywhere.
    expect(result.status).toBe(429);
    expect(result.headers.get('retry-after')).toBe('40');
    const message: string = result.body.error.message;
    expect(message).toContain('This request would exceed the rate limit for your organization');
    expect(message).toContain('all 2 attempts for "gpt-4" failed: openai → 503 provider_error; anthropic → 429 rate_limited');
    const call = await logged(result.headers.get('x-request-id'));
    expect(call).toMatchObject({ outcome: 'error', status: 429, errorCode: 'rate_limited', provider: null, costCents: 0 });
    expect(call.attempts.map((a) => [a.provider, a.status, a.errorCode])).toEqual([
      ['openai', 503, 'provider_error'],
      ['anthropic', 429, 'rate_limited'],
    ]);
  });

  it('a 400 at the primary comes back at once, without trying the fallback', async () => {
    gateway.openai.reply(replies.status(400, 'openai-error-invalid.json'));
    const result = await send(gateway, 'openai-chat', 'gpt-4');
    expect(result.status).toBe(400);
    expect(result.body.error.message).toContain("Invalid value for 'temperature'");
    expect(gateway.anthropic.requests).toHaveLength(0);
    const call = await logged(result.headers.get('x-request-id'));
    expect(call.attempts).toHaveLength(1);
  });
});

describe('failure after the first byte', () => {
  const cases: Array<{ format: ClientFormat; primary: 'openai' | 'anthropic'; route: string }> = CLIENT_FORMATS.flatMap((format) => [
    { format, primary: 'openai' as const, route: 'gpt-4' },
    { format, primary: 'anthropic' as const, route: 'claude-3-sonnet' },
  ]);

  it.each(cases)('$primary cut mid-stream: the $format client gets an error event in its format, no fallback', async ({ format, primary, route }) => {
    gateway[primary].reply(primary === 'openai' ? replies.cut('openai-chat-text.sse.txt', 5) : replies.cut('anthropic-messages-text.sse.txt', 7));
    const result = await send(gateway, format, route, { stream: true });
    expect(result.status).toBe(200);
    expect(result.headers.get('x-tokenpak-provider')).toBe(primary);
    // Some of the answer arrived, then a well-formed error event, and no normal end.
    expect(answerText(format, result).length).toBeGreaterThan(0);
    expect(streamErrorMessage(format, result)).toMatch(/closed the connection in the middle of its answer|ended the stream before it finished/);
    expect(completedNormally(format, result)).toBe(false);
    const other = primary === 'openai' ? 'anthropic' : 'openai';
    expect(gateway[other].requests).toHaveLength(0);

    const call = await logged(result.headers.get('x-request-id'));
    expect(call).toMatchObject({ outcome: 'error', provider: null, stream: true, errorCode: 'provider_connection_error' });
    expect(call.attempts).toHaveLength(1);
    expect(call.attempts[0]).toMatchObject({ provider: primary, outcome: 'error', errorCode: 'provider_connection_error' });
    expect(call.attempts[0]!.ttftMs).toBeGreaterThan(0);
  });

  it('an Anthropic overloaded error event mid-stream reaches an Anthropic client as overloaded_error', async () => {
    gateway.anthropic.reply({ kind: 'sse', text: fixture('anthropic-messages-overloaded-midstream.sse.txt') });
    const result = await send(gateway, 'anthropic-messages', 'claude-3-sonnet', { stream: true });
    const error = result.events!.find((e) => e.event === 'error')!.json;
    expect(error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: expect.stringContaining('Overloaded') } });
    const call = await logged(result.headers.get('x-request-id'));
    expect(call.attempts).toEqual([expect.objectContaining({ provider: 'anthropic', status: 529, errorCode: 'provider_overloaded' })]);
  });
});
