/**
 * Injected failures: failure_rate determinism, each failure kind, streams cut
 * after N chunks; and simulated latency with deterministic jitter.
 */
import { describe, expect, it } from 'vitest';
import { TokenPakError } from '../../src/errors.ts';
import { ask, events, failure, mockFromYaml } from './mock-helpers.ts';

/** Outcomes of `n` sequential calls, as a string of `.` (ok) and `x` (failed). */
async function outcomes(settings: string, n: number): Promise<string> {
  const mock = mockFromYaml(settings);
  let out = '';
  for (let i = 0; i < n; i++) out += await mock.complete(ask(`request ${i}`)).then(() => '.', () => 'x');
  return out;
}

describe('mock failure_rate', () => {
  it('the same seed and sequence give the same failures, run after run', async () => {
    const first = await outcomes('    failure_rate: 0.3\n    seed: 42\n', 200);
    expect(await outcomes('    failure_rate: 0.3\n    seed: 42\n', 200)).toBe(first);
    expect(first).toContain('x');
    expect(first).toContain('.');
  });

  it('a different seed gives a different sequence of failures', async () => {
    expect(await outcomes('    failure_rate: 0.3\n    seed: 1\n', 200)).not.toBe(await outcomes('    failure_rate: 0.3\n    seed: 2\n', 200));
  });

  it('the rule is documented: call n fails when draw(seed, n) < failure_rate, whatever the prompt', async () => {
    const { draw } = await import('../../src/providers/mock/random.ts');
    const expected = Array.from({ length: 100 }, (_, n) => (draw(7, n, 'failure') < 0.25 ? 'x' : '.')).join('');
    expect(await outcomes('    failure_rate: 0.25\n    seed: 7\n', 100)).toBe(expected);
  });

  it('fails about failure_rate of the calls', async () => {
    const failed = (await outcomes('    failure_rate: 0.2\n', 1000)).split('').filter((c) => c === 'x').length;
    expect(failed).toBeGreaterThan(150);
    expect(failed).toBeLessThan(250);
  });

  it('failure_rate 0 never fails and 1 always fails', async () => {
    expect(await outcomes('    failure_rate: 0\n', 50)).toBe('.'.repeat(50));
    expect(await outcomes('    failure_rate: 1\n', 50)).toBe('x'.repeat(50));
  });

  it('a failing call still counts, so the calls after it are unchanged by timing or streaming', async () => {
    const mock = mockFromYaml('    failure_rate: 0.5\n    seed: 3\n');
    const mixed: string[] = [];
    for (let i = 0; i < 40; i++) {
      const call = i % 2 ? mock.complete(ask('x')).then(() => '.') : events(mock.stream(ask('x'))).then((r) => (r.error ? 'x' : '.'));
      mixed.push(await call.catch(() => 'x'));
    }
    expect(mixed.join('')).toBe(await outcomes('    failure_rate: 0.5\n    seed: 3\n', 40));
  });
});

describe('mock failure kinds', () => {
  const kinds: Array<[string, { status: number; code: string }]> = [
    ['429', { status: 429, code: 'rate_limited' }],
    ['500', { status: 500, code: 'provider_error' }],
    ['503', { status: 503, code: 'provider_error' }],
    ['529', { status: 529, code: 'provider_overloaded' }],
    ['timeout', { status: 504, code: 'provider_timeout' }],
    ['disconnect', { status: 502, code: 'provider_connection_error' }],
  ];
  for (const [kind, expected] of kinds) {
    it(`failure: ${kind} rejects with a retryable ${expected.code} (${expected.status}) that says how to turn it off`, async () => {
      const mock = mockFromYaml(`    failure_rate: 1\n    failure: ${kind === 'timeout' || kind === 'disconnect' ? kind : Number(kind)}\n    timeout_ms: 20\n`);
      const error = (await failure(mock.complete(ask('x')))) as TokenPakError;
      expect(error).toBeInstanceOf(TokenPakError);
      expect({ status: error.status, code: error.code, retryable: error.retryable, provider: error.provider }).toEqual({
        status: expected.status,
        code: expected.code,
        retryable: true,
        provider: 'mock',
      });
      // retry_after: immediate (the default): the client may retry at once.
      expect({ ms: error.retryAfterMs, seconds: error.retryAfterSeconds }).toEqual({ ms: 1, seconds: 0 });
      expect(error.message).toContain('Set failure_rate: 0 to turn injected failures off.');
      expect(mock.calls[0]).toMatchObject({ outcome: 'error', injected: kind === 'timeout' || kind === 'disconnect' ? kind : Number(kind) });
      // Streams fail before their first event, so the router can still fall back.
      const streamed = await events(mock.stream(ask('x')));
      expect(streamed.events).toEqual([]);
      expect((streamed.error as TokenPakError).code).toBe(expected.code);
    });
  }

  it('a timeout waits the provider timeout_ms, not the usual latency, before failing', async () => {
    const mock = mockFromYaml('    failure_rate: 1\n    failure: timeout\n    timeout_ms: 150\n');
    const started = performance.now();
    const error = (await failure(mock.complete(ask('x')))) as TokenPakError;
    expect(performance.now() - started).toBeGreaterThanOrEqual(135);
    expect(error.message).toContain('simulated a timeout after 150 ms');
  });

  it('disconnect_after_chunks: a stream is cut after N content chunks, with the failure thrown from the iterator', async () => {
    const mock = mockFromYaml(
      `    failure_rate: 1\n    failure: disconnect\n    disconnect_after_chunks: 3\n    responses:\n      m:\n        default: "one two three four five six"\n`,
    );
    const streamed = await events(mock.stream(ask('x')));
    expect(streamed.events.map((e) => e.type)).toEqual(['start', 'text-delta', 'text-delta', 'text-delta']);
    expect(streamed.events.slice(1).map((e) => (e.type === 'text-delta' ? e.text : '')).join('')).toBe('one two three');
    expect((streamed.error as TokenPakError).code).toBe('provider_connection_error');
  });

  it('a disconnect never lets a stream finish, even when the answer is shorter than N chunks', async () => {
    const mock = mockFromYaml(`    failure_rate: 1\n    failure: disconnect\n    disconnect_after_chunks: 50\n    responses:\n      m:\n        default: "short answer"\n`);
    const streamed = await events(mock.stream(ask('x')));
    expect(streamed.events.map((e) => e.type)).not.toContain('finish');
    expect((streamed.error as TokenPakError).code).toBe('provider_connection_error');
    expect(mock.calls[0]!.outcome).toBe('error');
  });
});

// Lower bounds only, with a margin: Node may fire a timer a little early against
// performance.now() when the event loop's cached clock is stale.
describe('mock latency', () => {
  it('a fixed latency_ms delays the answer by at least that long', async () => {
    const mock = mockFromYaml('    latency_ms: 120\n');
    const started = performance.now();
    await mock.complete(ask('x'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(105);
    expect(mock.calls[0]!.latencyMs).toBe(120);
  });

  it('a {min, max} range draws a deterministic latency per call, within the range', async () => {
    const settings = '    latency_ms: {min: 0, max: 40}\n    seed: 11\n';
    const draws = async (yaml: string) => {
      const mock = mockFromYaml(yaml);
      for (let i = 0; i < 30; i++) await mock.complete(ask(`q${i}`));
      return mock.calls.map((c) => c.latencyMs);
    };
    const first = await draws(settings);
    expect(first.every((ms) => Number.isInteger(ms) && ms >= 0 && ms <= 40)).toBe(true);
    expect(new Set(first).size).toBeGreaterThan(10);
    expect(await draws(settings)).toEqual(first);
    expect(await draws('    latency_ms: {min: 0, max: 40}\n    seed: 12\n')).not.toEqual(first);
  });

  it('a per-answer latency_ms overrides the provider latency', async () => {
    const mock = mockFromYaml(`    latency_ms: 0\n    responses:\n      m:\n        patterns:\n          slow: {text: late, latency_ms: 80}\n`);
    const started = performance.now();
    await mock.complete(ask('slow please'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(65);
    await mock.complete(ask('fast'));
    expect(mock.calls.map((c) => c.latencyMs)).toEqual([80, 0]);
  });

  it('a stream waits the latency before its first event', async () => {
    const mock = mockFromYaml('    latency_ms: 100\n');
    const started = performance.now();
    const iterator = mock.stream(ask('x'))[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ type: 'start' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(85);
    await iterator.return?.();
  });
});
