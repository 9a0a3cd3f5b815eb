/**
 * The router's stream(): fallback before the first event, a mid-stream failure
 * as an `error` event, and the call record of every stream.
 */
import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../src/canonical/types.ts';
import { RoutingError, TokenPakError } from '../../src/errors.ts';
import { ask, context, routerFor } from './helpers.ts';

const CONFIG = `providers:
  primary: {type: mock, responses: {"*": {default: "alpha beta gamma delta epsilon"}}}
  second: {type: mock, responses: {"*": {default: "from second"}}}
models:
  gpt-4: {provider: primary, fallback_provider: second}
`;

async function drain(events: AsyncIterable<StreamEvent>) {
  const out: StreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

const text = (events: StreamEvent[]) => events.map((e) => (e.type === 'text-delta' ? e.text : '')).join('');

describe('router: stream()', () => {
  it('streams from the primary and records one ok attempt with its time to first event', async () => {
    const { router, log, mock } = routerFor(CONFIG);
    mock('primary').configure({ latency_ms: 30 });
    const stream = await router.stream(ask('gpt-4'), { ...context, requestId: 's-1' });
    expect(stream.provider).toBe('primary');
    const events = await drain(stream.events);
    expect(events[0]!.type).toBe('start');
    expect(events.at(-1)!.type).toBe('finish');
    expect(text(events)).toBe('alpha beta gamma delta epsilon');
    const record = await stream.done;
    expect(record).toMatchObject({ id: 's-1', outcome: 'ok', status: 200, stream: true, provider: 'primary', costCents: 0 });
    expect(record.attempts).toEqual([expect.objectContaining({ provider: 'primary', outcome: 'ok', status: 200 })]);
    // The first event waits for the mock's latency (a lower bound: timers never fire early); the
    // whole stream takes at least as long as its first event.
    expect(record.attempts[0]!.ttftMs).toBeGreaterThanOrEqual(25);
    expect(record.attempts[0]!.latencyMs).toBeGreaterThanOrEqual(record.attempts[0]!.ttftMs!);
    expect(record.outputTokens).toBeGreaterThan(0);
    expect(log.records).toEqual([record]);
  });

  it('falls back before the first event: the failed attempt is recorded and the fallback streams', async () => {
    const { router, mock } = routerFor(CONFIG);
    mock('primary').failNext(1, 503);
    const stream = await router.stream(ask('gpt-4'), context);
    expect(stream.provider).toBe('second');
    expect(stream.attempts.map((a) => `${a.provider}:${a.outcome}:${a.status}`)).toEqual(['primary:error:503']);
    expect(text(await drain(stream.events))).toBe('from second');
    expect((await stream.done).attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual(['primary:error', 'second:ok']);
  });

  it('a 400 before the first event rejects at once, without trying the fallback', async () => {
    const { router, mock, log } = routerFor(CONFIG);
    mock('primary').failNext(1, { status: 400 });
    const error = await router.stream(ask('gpt-4'), context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoutingError);
    expect((error as RoutingError).status).toBe(400);
    expect(mock('second').calls).toHaveLength(0);
    expect(log.records[0]).toMatchObject({ outcome: 'error', status: 400, stream: true });
  });

  it('every provider failing before the first event rejects with all attempts', async () => {
    const { router, mock } = routerFor(CONFIG);
    mock('primary').failNext(1, 503);
    mock('second').failNext(1, 529);
    const error = (await router.stream(ask('gpt-4'), context).catch((e: unknown) => e)) as RoutingError;
    expect(error).toBeInstanceOf(RoutingError);
    expect(error.status).toBe(529);
    expect(error.attempts.map((a) => a.provider)).toEqual(['primary', 'second']);
  });

  it('a failure after the first event becomes an error event, is not retried, and is recorded', async () => {
    const { router, mock, log } = routerFor(CONFIG);
    mock('primary').configure({ disconnect_after_chunks: 2, latency_ms: 30 });
    mock('primary').failNext(1, 'disconnect');
    const stream = await router.stream(ask('gpt-4'), context);
    expect(stream.provider).toBe('primary');
    const events = await drain(stream.events);
    expect(events.map((e) => e.type)).toEqual(['start', 'text-delta', 'text-delta', 'error']);
    const error = (events.at(-1) as Extract<StreamEvent, { type: 'error' }>).error as TokenPakError;
    expect(error).toBeInstanceOf(TokenPakError);
    expect({ code: error.code, provider: error.provider }).toEqual({ code: 'provider_connection_error', provider: 'primary' });
    expect(mock('second').calls).toHaveLength(0);
    const record = await stream.done;
    expect(record).toMatchObject({ outcome: 'error', status: 502, errorCode: 'provider_connection_error', provider: null, stream: true });
    expect(record.attempts).toEqual([expect.objectContaining({ provider: 'primary', outcome: 'error', status: 502 })]);
    expect(record.attempts[0]!.ttftMs).toBeGreaterThanOrEqual(25);
    expect(record.attempts[0]!.latencyMs).toBeGreaterThanOrEqual(record.attempts[0]!.ttftMs!);
    expect(log.records).toEqual([record]);
  });

  it('a consumer that stops early is recorded as a client disconnect and the provider stream is closed', async () => {
    const { router, mock } = routerFor(CONFIG);
    const primary = mock('primary');
    const original = primary.stream.bind(primary);
    let closed = false;
    let ranToTheEnd = false;
    primary.stream = async function* (request, options) {
      try {
        yield* original(request, options);
        ranToTheEnd = true;
      } finally {
        closed = true;
      }
    };
    const stream = await router.stream(ask('gpt-4'), context);
    let deltas = 0;
    for await (const event of stream.events) {
      if (event.type === 'text-delta') {
        deltas++;
        break;
      }
    }
    expect(deltas).toBe(1);
    const record = await stream.done;
    // Closed by the router's return(), not drained to its end: the answer had more chunks to come.
    expect({ closed, ranToTheEnd }).toEqual({ closed: true, ranToTheEnd: false });
    expect(record).toMatchObject({ outcome: 'error', status: 499, errorCode: 'provider_connection_error' });
    expect(record.errorMessage).toContain('client closed the connection');
  });

  it('an unknown model rejects with a 404 before streaming', async () => {
    const { router } = routerFor(CONFIG);
    const error = (await router.stream(ask('gpt-5'), context).catch((e: unknown) => e)) as TokenPakError;
    expect({ status: error.status, code: error.code }).toEqual({ status: 404, code: 'model_not_found' });
    expect(error.detail).toContain('Configured models: gpt-4.');
  });
});
