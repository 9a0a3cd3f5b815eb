/**
 * The router's complete(): model → provider chain, fallback on retryable
 * failures only, every attempt recorded, unknown models answered with a 404.
 */
import { describe, expect, it } from 'vitest';
import { RoutingError, TokenPakError } from '../../src/errors.ts';
import { createMemoryCallLog } from '../../src/logs/memory-store.ts';
import { createPricer } from '../../src/pricing/pricing.ts';
import type { MockProvider } from '../../src/providers/mock/mock-provider.ts';
import { createProvider, createProviders } from '../../src/providers/registry.ts';
import { createRouter } from '../../src/router/router.ts';
import { ask, context, routerFor } from './helpers.ts';

const CONFIG = `providers:
  primary: {type: mock, responses: {"*": {default: from primary}}}
  second: {type: mock, responses: {"*": {default: from second}}}
  third: {type: mock, responses: {"*": {default: from third}}}
  off: {type: mock, enabled: false}
models:
  gpt-4: {provider: primary, model: up-primary, fallback_provider: [second, third], fallback_model: {third: up-third}}
  solo: {provider: primary}
  chained: {provider: third, fallback_route: gpt-4}
`;

async function rejection(promise: Promise<unknown>): Promise<RoutingError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RoutingError);
  return error as RoutingError;
}

describe('router: complete()', () => {
  it('answers from the primary when it succeeds, with one ok attempt', async () => {
    const { router, mock } = routerFor(CONFIG);
    const result = await router.complete(ask('gpt-4'), context);
    expect(result.provider).toBe('primary');
    expect(result.upstreamModel).toBe('up-primary');
    expect(result.response.content).toEqual([{ type: 'text', text: 'from primary' }]);
    expect(result.attempts).toEqual([
      expect.objectContaining({ provider: 'primary', providerType: 'mock', model: 'up-primary', outcome: 'ok', status: 200, costCents: 0 }),
    ]);
    expect(result.costCents).toBe(0);
    expect(mock('primary').calls[0]!.model).toBe('up-primary');
    expect(mock('second').calls).toHaveLength(0);
  });

  it('a retryable failure moves on to the next provider in order, sending each its upstream model', async () => {
    const { router, mock } = routerFor(CONFIG);
    mock('primary').failNext(1, 503);
    mock('second').failNext(1, 429);
    const result = await router.complete(ask('gpt-4'), context);
    expect(result.provider).toBe('third');
    expect(result.response.content).toEqual([{ type: 'text', text: 'from third' }]);
    expect(result.attempts.map(({ provider, model, outcome, status, errorCode }) => ({ provider, model, outcome, status, errorCode }))).toEqual([
      { provider: 'primary', model: 'up-primary', outcome: 'error', status: 503, errorCode: 'provider_error' },
      { provider: 'second', model: 'up-primary', outcome: 'error', status: 429, errorCode: 'rate_limited' },
      { provider: 'third', model: 'up-third', outcome: 'ok', status: 200, errorCode: undefined },
    ]);
    expect(mock('third').calls[0]!.model).toBe('up-third');
  });

  it.each([500, 503, 529, 'timeout', 'disconnect'] as const)('falls back after a %s', async (failure) => {
    const { router, mock } = routerFor(CONFIG);
    mock('primary').configure({ timeout_ms: 10 });
    mock('primary').failNext(1, failure);
    expect((await router.complete(ask('gpt-4'), context)).provider).toBe('second');
  });

  it('records every failed attempt with its error message and latency', async () => {
    const { router, mock } = routerFor(CONFIG);
    // Latencies as lower bounds only (a timer never fires early; a busy machine may make it late).
    mock('primary').configure({ latency_ms: 30 });
    mock('second').configure({ latency_ms: 60 });
    mock('primary').failNext(1, 500);
    const result = await router.complete(ask('gpt-4'), context);
    const { attempts } = result;
    expect(attempts[0]!.errorMessage).toMatch(/^Mock provider "primary" simulated a server error \(HTTP 500, failNext\)/);
    expect(attempts[0]!.latencyMs).toBeGreaterThanOrEqual(25);
    expect(attempts[1]!.latencyMs).toBeGreaterThanOrEqual(55);
    // The call spans both attempts, one after the other (2-decimal rounding aside).
    expect(result.latencyMs).toBeGreaterThanOrEqual(attempts[0]!.latencyMs + attempts[1]!.latencyMs - 0.02);
  });

  it('a 400 comes back at once: no fallback is tried', async () => {
    const { router, mock } = routerFor(CONFIG);
    mock('primary').failNext(1, { status: 400, message: 'Bad prompt.' });
    const error = await rejection(router.complete(ask('gpt-4'), context));
    expect({ status: error.status, code: error.code, retryable: error.retryable, provider: error.provider }).toEqual({
      status: 400,
      code: 'invalid_request',
      retryable: false,
      provider: 'primary',
    });
    expect(error.detail).toBe('Bad prompt.');
    expect(error.attempts).toHaveLength(1);
    expect(mock('second').calls).toHaveLength(0);
    expect(mock('third').calls).toHaveLength(0);
  });

  it('when every provider fails, the last error comes back with all attempts summarised', async () => {
    const { router, mock } = routerFor(CONFIG);
    mock('primary').failNext(1, 503);
    mock('second').failNext(1, 503);
    mock('third').failNext(1, 429);
    const error = await rejection(router.complete(ask('gpt-4'), context));
    expect(error.status).toBe(429);
    expect(error.code).toBe('rate_limited');
    // The last attempt's retry hint (the mock's default: retry at once) reaches the client.
    expect({ ms: error.retryAfterMs, seconds: error.retryAfterSeconds }).toEqual({ ms: 1, seconds: 0 });
    expect(error.attempts.map((a) => a.provider)).toEqual(['primary', 'second', 'third']);
    expect(error.detail).toContain('(all 3 attempts for "gpt-4" failed: primary → 503 provider_error; second → 503 provider_error; third → 429 rate_limited)');
  });

  it('fallback_route continues with the other route\u2019s chain', async () => {
    const { router, mock } = routerFor(CONFIG);
    mock('third').failNext(1, 503);
    mock('primary').failNext(1, 503);
    const result = await router.complete(ask('chained'), context);
    expect(result.attempts.map((a) => `${a.provider}:${a.model}:${a.outcome}`)).toEqual([
      'third:chained:error',
      'primary:up-primary:error',
      'second:up-primary:ok',
    ]);
  });

  it('the recipe chain (mock, then mock again) retries the same provider once', async () => {
    const { router, mock } = routerFor('providers:\n  mock: {type: mock}\nmodels:\n  gpt-4: {provider: mock, fallback_provider: mock}\n');
    mock('mock').failNext(1, 503);
    const result = await router.complete(ask('gpt-4'), context);
    expect(result.attempts.map((a) => a.outcome)).toEqual(['error', 'ok']);
    mock('mock').failNext(2, 503);
    expect((await rejection(router.complete(ask('gpt-4'), context))).attempts).toHaveLength(2);
  });

  it('a disabled provider is never created, so never called', async () => {
    const { config } = routerFor(CONFIG);
    const created: string[] = [];
    const providers = createProviders(config, (name, settings) => {
      created.push(name);
      return createProvider(name, settings);
    });
    expect(created).toEqual(['primary', 'second', 'third']);
    const router = createRouter({ config, providers, pricer: createPricer(), log: createMemoryCallLog() });
    for (const name of created) (providers.get(name) as MockProvider).failNext(1, 503);
    const error = await rejection(router.complete(ask('gpt-4'), context));
    // Every provider there is was tried; the disabled one is not among them.
    expect(error.attempts.map((a) => a.provider)).toEqual(['primary', 'second', 'third']);
    expect(created).toEqual(['primary', 'second', 'third']);
  });

  it('a route to a provider that is not available fails clearly without crashing (hand-built routers)', async () => {
    const { config, log } = routerFor(CONFIG);
    const router = createRouter({ config, providers: new Map(), pricer: createPricer(), log });
    const error = (await router.complete(ask('solo'), context).catch((e: unknown) => e)) as TokenPakError;
    expect(error).toBeInstanceOf(TokenPakError);
    expect({ code: error.code, status: error.status, provider: error.provider }).toEqual({ code: 'provider_disabled', status: 503, provider: 'primary' });
  });

  it('an unknown model is a 404 that names the configured models', async () => {
    const { router, log } = routerFor(CONFIG);
    const error = await router.complete(ask('gpt4'), context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenPakError);
    expect({ status: (error as TokenPakError).status, code: (error as TokenPakError).code }).toEqual({ status: 404, code: 'model_not_found' });
    expect((error as TokenPakError).detail).toBe(
      'Model "gpt4" is not configured. Did you mean "gpt-4"? Configured models: gpt-4, solo, chained. Add it under models: in <inline>.',
    );
    expect(() => router.resolve('nope')).toThrow(/Configured models: gpt-4, solo, chained/);
    expect(log.records).toHaveLength(0);
  });

  it('an aborted call stops without trying the fallbacks', async () => {
    const { router, mock } = routerFor(CONFIG);
    mock('primary').configure({ latency_ms: 10_000 });
    const controller = new AbortController();
    const call = router.complete(ask('gpt-4'), { ...context, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const error = await rejection(call);
    expect(error.retryable).toBe(false);
    expect(mock('second').calls).toHaveLength(0);
  });
});

describe('router: call log', () => {
  it('logs each call with its attempts, tokens, cost and outcome', async () => {
    const { router, mock, log } = routerFor(CONFIG);
    mock('primary').failNext(1, 503);
    const ok = await router.complete(ask('gpt-4'), { ...context, requestId: 'req-1' });
    mock('primary').failNext(1, { status: 400 });
    await router.complete(ask('gpt-4'), { ...context, requestId: 'req-2' }).catch(() => {});
    expect(log.records).toHaveLength(2);
    const [first, second] = log.records;
    expect(first).toMatchObject({
      id: 'req-1',
      clientFormat: 'tokenpak',
      model: 'gpt-4',
      provider: 'second',
      upstreamModel: 'up-primary',
      outcome: 'ok',
      status: 200,
      inputTokens: ok.response.usage.inputTokens,
      outputTokens: ok.response.usage.outputTokens,
      costCents: 0,
      stream: false,
    });
    expect(first!.attempts.map((a) => a.outcome)).toEqual(['error', 'ok']);
    expect(second).toMatchObject({ id: 'req-2', outcome: 'error', status: 400, provider: null, errorCode: 'invalid_request' });
    expect(await log.query({ provider: 'second' })).toEqual([first]);
    expect(await log.query({ provider: 'third' })).toEqual([]);
  });
});
