/** The shared deadline of upstream calls (src/providers/http/call-scope.ts), on fake timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CallScope } from '../../src/providers/http/call-scope.ts';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function watch(scope: CallScope): string[] {
  const seen: string[] = [];
  scope.addEventListener('abort', () => seen.push(String((scope.reason as Error).name ?? scope.reason)));
  return seen;
}

describe('CallScope', () => {
  it('ends each call at its own deadline, on one timer, and never a call that was disposed', () => {
    const long = new CallScope(300, undefined);
    const short = new CallScope(100, undefined);
    const done = new CallScope(50, undefined);
    const [longSeen, shortSeen, doneSeen] = [watch(long), watch(short), watch(done)];
    done.dispose();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(100);
    expect({ short: short.cancelled, timedOut: short.timedOut, seen: shortSeen }).toEqual({ short: true, timedOut: true, seen: ['TimeoutError'] });
    expect(long.cancelled).toBe(false);
    vi.advanceTimersByTime(200);
    expect({ long: long.cancelled, seen: longSeen }).toEqual({ long: true, seen: ['TimeoutError'] });
    expect({ done: done.cancelled, seen: doneSeen }).toEqual({ done: false, seen: [] });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("ends with the caller's reason when the caller's signal aborts, and lets go of it when disposed", () => {
    const caller = new AbortController();
    const scope = new CallScope(1_000, caller.signal);
    const seen = watch(scope);
    caller.abort('client gone');
    expect({ cancelled: scope.cancelled, timedOut: scope.timedOut, reason: scope.reason, seen }).toEqual({ cancelled: true, timedOut: false, reason: 'client gone', seen: ['client gone'] });

    const other = new AbortController();
    const kept = new CallScope(1_000, other.signal);
    kept.dispose();
    other.abort('late');
    expect(kept.cancelled).toBe(false);
  });

  it('a pause ends early when the call does', async () => {
    const scope = new CallScope(100, undefined);
    let resumed = false;
    void scope.pause(10_000).then(() => (resumed = true));
    await vi.advanceTimersByTimeAsync(100);
    expect({ resumed, cancelled: scope.cancelled }).toEqual({ resumed: true, cancelled: true });
  });
});
