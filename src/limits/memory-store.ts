/**
 * Counters in this process's memory: right for one replica (a fleet needs
 * `state: {redis: url}`, see ./redis-store.ts). Node runs one request's
 * admission to its end before the next, so no lock is needed.
 */
import type { Admission, Counter, CounterAmount, LimitCheck, LimitStore } from './types.ts';

interface Sliding {
  kind: 'sliding';
  /** Amounts oldest first, with the time they were added. */
  entries: Array<{ at: number; amount: number }>;
  total: number;
}

interface Until {
  kind: 'until';
  resetAt: number;
  total: number;
}

/** An empty store; its counters live as long as it does (a proxy keeps one across config reloads). */
export function createMemoryLimitStore(): LimitStore {
  const counters = new Map<string, Sliding | Until>();

  /** The counter at `now`, aged: amounts older than the window dropped, a passed calendar window gone. */
  const current = (counter: Counter, now: number): Sliding | Until | undefined => {
    const held = counters.get(counter.key);
    if (!held) return undefined;
    if (held.kind === 'until') {
      if (now >= held.resetAt) {
        counters.delete(counter.key);
        return undefined;
      }
      return held;
    }
    const window = counter.window.kind === 'sliding' ? counter.window.ms : 0;
    let drop = 0;
    while (drop < held.entries.length && held.entries[drop]!.at <= now - window) held.total -= held.entries[drop++]!.amount;
    if (drop > 0) held.entries.splice(0, drop);
    if (held.entries.length === 0) {
      counters.delete(counter.key);
      return undefined;
    }
    return held;
  };

  const addTo = (counter: Counter, amount: number, now: number) => {
    const held = current(counter, now);
    if (counter.window.kind === 'until') {
      if (now >= counter.window.resetAt) return;
      if (held?.kind === 'until') held.total += amount;
      else counters.set(counter.key, { kind: 'until', resetAt: counter.window.resetAt, total: amount });
      return;
    }
    if (held?.kind === 'sliding') {
      held.entries.push({ at: now, amount });
      held.total += amount;
    } else {
      counters.set(counter.key, { kind: 'sliding', entries: [{ at: now, amount }], total: amount });
    }
  };

  return {
    kind: 'memory',

    async admit(checks, now): Promise<Admission> {
      for (const [index, check] of checks.entries()) {
        const held = current(check, now);
        const used = held?.total ?? 0;
        if (passes(used, check)) continue;
        return { ok: false, index, used, retryAfterMs: waitFor(check, held, now) };
      }
      for (const check of checks) if (check.take > 0) addTo(check, check.take, now);
      return { ok: true };
    },

    async add(amounts: readonly CounterAmount[], now) {
      for (const { amount, ...counter } of amounts) if (amount > 0) addTo(counter, amount, now);
    },

    async read(counter, now) {
      return current(counter, now)?.total ?? 0;
    },

    async close() {
      counters.clear();
    },
  };
}

/** The rule both stores apply: refused once the limit is reached, or when the take would pass it. */
export function passes(used: number, check: LimitCheck): boolean {
  return used < check.limit && used + check.take <= check.limit;
}

/** Milliseconds until `check` could pass: until enough of the oldest amounts age out, or the calendar reset. */
function waitFor(check: LimitCheck, held: Sliding | Until | undefined, now: number): number {
  if (check.window.kind === 'until') return Math.max(1, check.window.resetAt - now);
  const window = check.window.ms;
  if (held?.kind !== 'sliding') return window;
  let left = held.total;
  for (const entry of held.entries) {
    left -= entry.amount;
    if (passes(left, check)) return entry.at + window - now;
  }
  return window;
}
