/**
 * The observer contract (src/router/observer.ts): what call observers see of
 * answers, fallbacks, streams and refusals, the timings they get, the headers
 * they may add upstream, and admission before routing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import type { ChatResponse, StreamEvent } from '../../src/canonical/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import { TokenPakError } from '../../src/errors.ts';
import { createMemoryCallLog } from '../../src/logs/memory-store.ts';
import { createPricer } from '../../src/pricing/pricing.ts';
import { createProviders } from '../../src/providers/registry.ts';
import type { CallOptions, Provider } from '../../src/providers/types.ts';
import type { Admission, CallObserver, CallTimings, ObservedCall } from '../../src/router/observer.ts';
import { createRouter } from '../../src/router/router.ts';
import type { CallRecord } from '../../src/logs/types.ts';
import { ask, context } from './helpers.ts';

const CONFIG = `providers:
  primary: {type: mock, responses: {"*": {default: from primary}}}
  second: {type: mock, responses: {"*": {default: from second}}}
models:
  gpt-4: {provider: primary, fallback_provider: [second]}
`;

/** An observer that writes down everything it is told, in order. */
function recording(tag = '') {
  const events: string[] = [];
  const starts: ObservedCall[] = [];
  const ends: Array<{ call: CallRecord; timings: CallTimings }> = [];
  const observer: CallObserver = {
    onCallStart(call) {
      starts.push(call);
      events.push(`${tag}call-start ${call.route ?? '(unknown)'}`);
      return {
        onAttemptStart: (attempt) => void events.push(`${tag}attempt-start ${attempt.index} ${attempt.provider}`),
        onAttemptEnd: (attempt, index) => void events.push(`${tag}attempt-end ${index} ${attempt.provider} ${attempt.outcome}`),
        onCallEnd: (call, timings) => {
          ends.push({ call, timings });
          events.push(`${tag}call-end ${call.outcome}`);
        },
      };
    },
  };
  return { observer, events, starts, ends };
}

/** A provider whose answers take `delayMs` of (fake upstream) time, per event for streams. */
function slowProvider(name: string, delayMs: number, seen: CallOptions[] = []): Provider {
  const response: ChatResponse = { id: 'r1', model: 'up', content: [{ type: 'text', text: 'slow' }], stopReason: 'stop', usage: { inputTokens: 3, outputTokens: 1 } };
  return {
    name,
    type: 'mock',
    async complete(_request, options = {}) {
      seen.push(options);
      await sleep(delayMs);
      return response;
    },
    async *stream(_request, options = {}) {
      seen.push(options);
      const events: StreamEvent[] = [
        { type: 'start', id: 'r1', model: 'up' },
        { type: 'text-delta', text: 'slow' },
        { type: 'finish', stopReason: 'stop', usage: { inputTokens: 3, outputTokens: 1 } },
      ];
      for (const event of events) {
        await sleep(delayMs);
        yield event;
      }
    },
  };
}

function routerWith(options: { observers?: CallObserver[]; admit?: Admission; replace?: Provider }) {
  const config = parseConfig(CONFIG, { env: {} });
  const providers = createProviders(config);
  if (options.replace) providers.set(options.replace.name, options.replace);
  const log = createMemoryCallLog();
  const router = createRouter({ config, providers, pricer: createPricer(config.pricing), log, ...options });
  return { router, log, providers };
}

describe('call observers', () => {
  it('see a fallback call in order: start, each try, the end with the logged record', async () => {
    const watch = recording();
    const { router, log, providers } = routerWith({ observers: [watch.observer] });
    (providers.get('primary') as unknown as { failNext(n: number, status: number): void }).failNext(1, 503);
    await router.complete(ask('gpt-4'), { ...context, headers: { get: (name) => (name === 'traceparent' ? 'tp' : null) }, client: 'key-1' });
    expect(watch.events).toEqual([
      'call-start gpt-4',
      'attempt-start 0 primary',
      'attempt-end 0 primary error',
      'attempt-start 1 second',
      'attempt-end 1 second ok',
      'call-end ok',
    ]);
    expect(watch.starts[0]).toMatchObject({ model: 'gpt-4', route: 'gpt-4', stream: false, clientFormat: 'tokenpak', client: 'key-1' });
    expect(watch.starts[0]!.headers?.get('traceparent')).toBe('tp');
    const [logged] = await log.query({});
    expect(watch.ends[0]!.call).toEqual(logged);
    expect(watch.ends[0]!.timings.latencyMs).toBe(logged!.latencyMs);
  });

  it('time the upstream: a complete that waits 30 ms upstream reports at least that, and no more than the whole call', async () => {
    const watch = recording();
    const { router } = routerWith({ observers: [watch.observer], replace: slowProvider('primary', 30) });
    await router.complete(ask('gpt-4'), context);
    const { timings } = watch.ends[0]!;
    expect(timings.upstreamMs).toBeGreaterThanOrEqual(29);
    expect(timings.upstreamMs).toBeLessThanOrEqual(timings.latencyMs);
    expect(timings.ttftMs).toBeUndefined();
  });

  it('time a stream: every wait for an event counts as upstream time, and the first one is the TTFT', async () => {
    const watch = recording();
    const { router } = routerWith({ observers: [watch.observer], replace: slowProvider('primary', 20) });
    const routed = await router.stream(ask('gpt-4'), context);
    for await (const _event of routed.events) {
      // The client reads each event as it comes.
    }
    await routed.done;
    const { timings, call } = watch.ends[0]!;
    expect(call.outcome).toBe('ok');
    // Three events, 20 ms apart: the first alone is 20 ms, all three at least 60 ms.
    expect(timings.ttftMs).toBeGreaterThanOrEqual(19);
    expect(timings.upstreamMs).toBeGreaterThanOrEqual(59);
    expect(timings.upstreamMs).toBeLessThanOrEqual(timings.latencyMs);
    expect(watch.events).toEqual(['call-start gpt-4', 'attempt-start 0 primary', 'attempt-end 0 primary ok', 'call-end ok']);
  });

  it('may add headers to the upstream request of each try', async () => {
    const seen: CallOptions[] = [];
    const observer: CallObserver = { onCallStart: () => ({ onAttemptStart: (attempt) => ({ traceparent: `tp-${attempt.index}` }) }) };
    const { router } = routerWith({ observers: [observer], replace: slowProvider('primary', 0, seen) });
    await router.complete(ask('gpt-4'), context);
    expect(seen.map((options) => options.upstreamHeaders)).toEqual([{ traceparent: 'tp-0' }]);
  });

  it('are all told, each with its own watch; one that ignores a call does not stop the others', async () => {
    const first = recording('a:');
    const second = recording('b:');
    const ignoring: CallObserver = { onCallStart: () => undefined };
    const { router } = routerWith({ observers: [first.observer, ignoring, second.observer] });
    await router.complete(ask('gpt-4'), context);
    expect([...first.events, ...second.events]).toEqual([
      'a:call-start gpt-4',
      'a:attempt-start 0 primary',
      'a:attempt-end 0 primary ok',
      'a:call-end ok',
      'b:call-start gpt-4',
      'b:attempt-start 0 primary',
      'b:attempt-end 0 primary ok',
      'b:call-end ok',
    ]);
  });

  it('see a request refused before routing, with no route for an unknown model', async () => {
    const watch = recording();
    const { router } = routerWith({ observers: [watch.observer] });
    const error = new TokenPakError('model_not_found', 'no such model', { status: 404 });
    router.refused({ ...context, requestId: 'r-1', model: 'gpt-5', stream: true, startedAt: Date.now(), started: performance.now() }, error);
    expect(watch.events).toEqual(['call-start (unknown)', 'call-end error']);
    expect(watch.starts[0]).toMatchObject({ model: 'gpt-5', route: undefined, stream: true });
    expect(watch.ends[0]!.timings.upstreamMs).toBe(0);
  });
});

describe('an observer that throws', () => {
  it('leaves the call answered and logged (complete, stream, refusal), and is reported once as a process warning', async () => {
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const broken = (where: string) => () => {
        throw new Error(`metrics exploded in ${where}`);
      };
      const throwsOnStart: CallObserver = { onCallStart: broken('onCallStart') };
      const throwsInHooks: CallObserver = {
        onCallStart: () => ({ onAttemptStart: broken('onAttemptStart'), onAttemptEnd: broken('onAttemptEnd'), onCallEnd: broken('onCallEnd') }),
      };
      for (const observer of [throwsOnStart, throwsInHooks]) {
        const { router, log } = routerWith({ observers: [observer] });
        const answered = await router.complete(ask('gpt-4'), context);
        expect(answered.response.content).toEqual([{ type: 'text', text: 'from primary' }]);
        const routed = await router.stream(ask('gpt-4'), context);
        const texts: string[] = [];
        for await (const event of routed.events) if (event.type === 'text-delta') texts.push(event.text);
        expect(texts.join('')).toBe('from primary');
        expect((await routed.done).outcome).toBe('ok');
        router.refused({ ...context, requestId: 'r-x', model: 'gpt-5', stream: false, startedAt: Date.now(), started: performance.now() }, new TokenPakError('model_not_found', 'no such model', { status: 404 }));
        expect((await log.query({})).map((call) => call.outcome).sort()).toEqual(['error', 'ok', 'ok']);
      }
      const messages = warnings.mock.calls.map(([message]) => String(message));
      // Each distinct failure once, though each hook threw on every call.
      expect(messages.map((message) => /metrics exploded in (\w+)/.exec(message)?.[1]).sort()).toEqual(['onAttemptEnd', 'onAttemptStart', 'onCallEnd', 'onCallStart']);
      expect(messages[0]).toMatch(/the call itself was answered and logged/);
    } finally {
      warnings.mockRestore();
    }
  });
});

describe('admission', () => {
  it('refuses a call before any provider is tried, with the error it throws', async () => {
    const asked: ObservedCall[] = [];
    const limit = new TokenPakError('rate_limited', 'Too many requests for key-1.', { status: 429, retryAfterSeconds: 7 });
    const admit: Admission = (call) => {
      asked.push(call);
      if (call.client === 'key-1') throw limit;
    };
    const { router, providers, log } = routerWith({ admit });
    await expect(router.complete(ask('gpt-4'), { ...context, client: 'key-1' })).rejects.toBe(limit);
    expect((providers.get('primary') as unknown as { calls: unknown[] }).calls).toHaveLength(0);
    expect(await log.query({})).toEqual([]);
    await router.complete(ask('gpt-4'), { ...context, client: 'key-2' });
    expect(asked.map((call) => [call.client, call.route])).toEqual([
      ['key-1', 'gpt-4'],
      ['key-2', 'gpt-4'],
    ]);
  });
});
