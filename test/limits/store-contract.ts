/**
 * The contract every limit-counter store meets (memory, Redis): one suite,
 * run against each store by its own test file. Time is given to the stores
 * (`now`), so windows and waits are checked exactly, without sleeping.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Counter, LimitCheck, LimitStore } from '../../src/limits/types.ts';

export interface LimitStoreHarness {
  /** A store with no counters (its own namespace). */
  open(): Promise<LimitStore>;
  /**
   * Another replica's view of the same counters as `store` (the same
   * instance for memory; a second connection with the same prefix for Redis).
   */
  replica(store: LimitStore): Promise<LimitStore>;
}

// Near the real time: Redis expires keys by its own clock, so the stores' windows must end in the future.
const T0 = Date.now();
const MINUTE = 60_000;
const sliding = (key: string): Counter => ({ key, window: { kind: 'sliding', ms: MINUTE } });
const rpm = (key: string, limit: number): LimitCheck => ({ ...sliding(key), limit, take: 1 });
const tpm = (key: string, limit: number): LimitCheck => ({ ...sliding(key), limit, take: 0 });
const daily = (key: string, limit: number, resetAt = T0 + 12 * 3_600_000): LimitCheck => ({ key, window: { kind: 'until', resetAt }, limit, take: 0 });

export function runLimitStoreContract(name: string, harness: LimitStoreHarness): void {
  describe(`limit store contract: ${name}`, () => {
    const opened: LimitStore[] = [];
    const fresh = async () => {
      const store = await harness.open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    it('admits requests up to the limit, then refuses with the wait until the oldest ages out', async () => {
      const store = await fresh();
      const outcomes = [];
      for (const at of [0, 1_000, 2_000, 3_000]) outcomes.push(await store.admit([rpm('rpm:a', 3)], T0 + at));
      expect(outcomes.slice(0, 3)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
      expect(outcomes[3]).toEqual({ ok: false, index: 0, used: 3, retryAfterMs: 57_000 });
      expect(await store.read(sliding('rpm:a'), T0 + 3_000)).toBe(3);
    });

    it('an amount counts for exactly the window: one millisecond before its end it still counts, at its end it is gone', async () => {
      const store = await fresh();
      await store.admit([rpm('rpm:b', 1)], T0);
      expect(await store.admit([rpm('rpm:b', 1)], T0 + MINUTE - 1)).toEqual({ ok: false, index: 0, used: 1, retryAfterMs: 1 });
      expect(await store.admit([rpm('rpm:b', 1)], T0 + MINUTE)).toEqual({ ok: true });
      expect(await store.read(sliding('rpm:b'), T0 + MINUTE)).toBe(1);
    });

    it('amounts added after a call are checked on the next admission, with the wait until enough of them age out', async () => {
      const store = await fresh();
      expect(await store.admit([tpm('tpm:a', 100)], T0)).toEqual({ ok: true });
      await store.add([{ ...sliding('tpm:a'), amount: 40 }], T0);
      await store.add([{ ...sliding('tpm:a'), amount: 30 }], T0 + 10_000);
      await store.add([{ ...sliding('tpm:a'), amount: 50 }], T0 + 20_000);
      expect(await store.read(sliding('tpm:a'), T0 + 20_000)).toBe(120);
      // 120 ≥ 100: once the 40 has aged out (at T0 + 60 s), 80 < 100 lets a request through.
      expect(await store.admit([tpm('tpm:a', 100)], T0 + 30_000)).toEqual({ ok: false, index: 0, used: 120, retryAfterMs: 30_000 });
      expect(await store.admit([tpm('tpm:a', 100)], T0 + MINUTE)).toEqual({ ok: true });
      expect(await store.read(sliding('tpm:a'), T0 + MINUTE)).toBe(80);
    });

    it('the wait counts as many aged-out amounts as it takes to get under the limit', async () => {
      const store = await fresh();
      await store.add([{ ...sliding('tpm:b'), amount: 10 }], T0);
      await store.add([{ ...sliding('tpm:b'), amount: 10 }], T0 + 5_000);
      await store.add([{ ...sliding('tpm:b'), amount: 90 }], T0 + 7_000);
      // 110 ≥ 50: dropping 10 leaves 100, dropping the second 10 leaves 90, only dropping the 90 helps.
      expect(await store.admit([tpm('tpm:b', 50)], T0 + 8_000)).toEqual({ ok: false, index: 0, used: 110, retryAfterMs: 59_000 });
    });

    it('a calendar counter refuses until its reset, then starts again from 0', async () => {
      const store = await fresh();
      const resetAt = T0 + 3_600_000;
      await store.add([{ key: 'cents:a', window: { kind: 'until', resetAt }, amount: 0.6 }], T0);
      expect(await store.admit([daily('cents:a', 1, resetAt)], T0 + 1)).toEqual({ ok: true });
      await store.add([{ key: 'cents:a', window: { kind: 'until', resetAt }, amount: 0.4 }], T0 + 2);
      expect(await store.read({ key: 'cents:a', window: { kind: 'until', resetAt } }, T0 + 2)).toBeCloseTo(1, 9);
      expect(await store.admit([daily('cents:a', 1, resetAt)], T0 + 600_000)).toEqual({ ok: false, index: 0, used: expect.closeTo(1, 9), retryAfterMs: 3_000_000 });
      expect(await store.read({ key: 'cents:a', window: { kind: 'until', resetAt } }, resetAt)).toBe(0);
    });

    it('one refusing check adds nothing to the others', async () => {
      const store = await fresh();
      await store.add([{ ...sliding('tpm:c'), amount: 500 }], T0);
      const refused = await store.admit([rpm('rpm:c', 10), daily('cents:c', 5), tpm('tpm:c', 500)], T0 + 1);
      expect(refused).toEqual({ ok: false, index: 2, used: 500, retryAfterMs: MINUTE - 1 });
      expect(await store.read(sliding('rpm:c'), T0 + 1)).toBe(0);
      expect(await store.admit([rpm('rpm:c', 10), daily('cents:c', 5)], T0 + 2)).toEqual({ ok: true });
      expect(await store.read(sliding('rpm:c'), T0 + 2)).toBe(1);
    });

    it('keys are counted apart', async () => {
      const store = await fresh();
      expect(await store.admit([rpm('rpm:d1', 1)], T0)).toEqual({ ok: true });
      expect(await store.admit([rpm('rpm:d2', 1)], T0)).toEqual({ ok: true });
      expect(await store.admit([rpm('rpm:d1', 1)], T0)).toMatchObject({ ok: false });
    });

    it('admissions at once from several replicas together let through exactly the limit', async () => {
      const store = await fresh();
      const replicas = [store, await harness.replica(store), await harness.replica(store)];
      for (const replica of replicas) if (replica !== store) opened.push(replica);
      const outcomes = await Promise.all(Array.from({ length: 45 }, (_, i) => replicas[i % 3]!.admit([rpm('rpm:e', 10)], T0 + i)));
      expect(outcomes.filter((o) => o.ok)).toHaveLength(10);
      expect(outcomes.filter((o) => !o.ok)).toHaveLength(35);
      expect(await store.read(sliding('rpm:e'), T0 + 45)).toBe(10);
    });

    it('amounts from several replicas add up, fractions of a cent included', async () => {
      const store = await fresh();
      const replicas = [store, await harness.replica(store), await harness.replica(store)];
      for (const replica of replicas) if (replica !== store) opened.push(replica);
      const counter = { key: 'cents:f', window: { kind: 'until', resetAt: T0 + MINUTE } } as const;
      await Promise.all(Array.from({ length: 30 }, (_, i) => replicas[i % 3]!.add([{ ...counter, amount: 0.1 }], T0)));
      expect(await replicas[1]!.read(counter, T0)).toBeCloseTo(3, 9);
    });
  });
}
