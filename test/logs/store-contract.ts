/**
 * The contract every call-log store meets (memory, SQLite, PostgreSQL): one
 * suite, run against each store by its own test file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallLogStore, CallRecord } from '../../src/logs/types.ts';
import { attempt, call, failedAttempt } from './fixtures.ts';

export interface StoreRetention {
  maxRows?: number;
  maxAgeMs?: number;
}

/** One empty store; `reopen` closes nothing and opens the same data again (persistent stores). */
export interface OpenedStore {
  store: CallLogStore;
  reopen?: () => Promise<CallLogStore>;
}

export interface StoreHarness {
  /** Opens a new, empty store. */
  open(retention?: StoreRetention): Promise<OpenedStore>;
  /** Whether records survive close() (false for memory: the persistence cases are skipped, for that reason). */
  persistent: boolean;
}

const withSeq = (record: CallRecord) => ({ ...record, seq: expect.any(Number) });

export function runStoreContract(name: string, harness: StoreHarness): void {
  describe(`call-log store contract: ${name}`, () => {
    const open: CallLogStore[] = [];
    const fresh = async (retention?: StoreRetention) => {
      const opened = await harness.open(retention);
      open.push(opened.store);
      return opened;
    };
    const reopen = async (opened: OpenedStore) => {
      const again = await opened.reopen!();
      open.push(again);
      return again;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close()));
    });

    it('gives every field back as appended', async () => {
      const { store } = await fresh();
      const full = call({
        id: 'req-full',
        clientFormat: 'anthropic-messages',
        model: 'claude-3-sonnet',
        provider: 'mock',
        upstreamModel: 'claude-3-5-sonnet-latest',
        latencyMs: 212.37,
        ttftMs: 41.5,
        inputTokens: 1234,
        outputTokens: 98,
        costCents: 0.123456,
        stream: true,
        attempts: [
          // A try retried at the same provider, with the wait before the next try.
          failedAttempt('anthropic', { providerType: 'anthropic', status: 529, errorCode: 'provider_overloaded', errorMessage: 'Anthropic answered HTTP 529. Retrying in 412 ms.', latencyMs: 9.5, waitMs: 412 }),
          failedAttempt('anthropic', { providerType: 'anthropic', status: 529, errorCode: 'provider_overloaded', errorMessage: 'Anthropic is overloaded (529). ünïcödé ✓', latencyMs: 12.25, ttftMs: 3 }),
          attempt({ provider: 'mock', model: 'claude-3-5-sonnet-latest', latencyMs: 200.12, ttftMs: 40, inputTokens: 1234, outputTokens: 98, costCents: 0.123456 }),
        ],
        requestBody: { model: 'claude-3-sonnet', messages: [{ role: 'user', content: 'héllo "quoted" \n newline' }], stream: true },
        responseBody: { content: 'answer', nested: { list: [1, 2.5, null, true] } },
      });
      const failed = call({
        id: 'req-failed',
        outcome: 'error',
        status: 503,
        provider: null,
        upstreamModel: null,
        errorCode: 'provider_overloaded',
        errorMessage: 'All attempts failed.',
        costCents: null,
        inputTokens: 0,
        outputTokens: 0,
        attempts: [failedAttempt('openai', { costCents: null })],
      });
      const minimal = call({ id: 'req-minimal' });
      store.append(full);
      store.append(failed);
      store.append(minimal);
      await store.flush();
      const records = await store.query();
      expect(records).toStrictEqual([withSeq(full), withSeq(failed), withSeq(minimal)]);
    });

    it('reads oldest first by start time, and limit keeps the newest', async () => {
      const { store } = await fresh();
      const [a, b, c, d] = [call(), call(), call(), call()];
      // Appended in finishing order, which differs from starting order.
      for (const record of [b!, a!, d!, c!]) store.append(record);
      await store.flush();
      expect((await store.query()).map((r) => r.id)).toEqual([a!.id, b!.id, c!.id, d!.id]);
      expect((await store.query({ limit: 2 })).map((r) => r.id)).toEqual([c!.id, d!.id]);
      expect((await store.query({ limit: 10 })).map((r) => r.id)).toEqual([a!.id, b!.id, c!.id, d!.id]);
    });

    it('matches --provider on every provider attempted, once per call', async () => {
      const { store } = await fresh();
      const mockOnly = call({ attempts: [attempt()] });
      const openaiThenMock = call({ attempts: [failedAttempt('openai'), attempt()] });
      const anthropicOnly = call({ attempts: [attempt({ provider: 'anthropic', providerType: 'anthropic' })] });
      const mockRetried = call({ attempts: [failedAttempt('mock'), attempt()] });
      for (const record of [mockOnly, openaiThenMock, anthropicOnly, mockRetried]) store.append(record);
      await store.flush();
      expect((await store.query({ provider: 'mock' })).map((r) => r.id)).toEqual([mockOnly.id, openaiThenMock.id, mockRetried.id]);
      expect((await store.query({ provider: 'openai' })).map((r) => r.id)).toEqual([openaiThenMock.id]);
      expect((await store.query({ provider: 'anthropic' })).map((r) => r.id)).toEqual([anthropicOnly.id]);
      expect(await store.query({ provider: 'nobody' })).toEqual([]);
      expect((await store.query({ provider: 'mock', limit: 2 })).map((r) => r.id)).toEqual([openaiThenMock.id, mockRetried.id]);
      // The attempts of a matched call all come back, not just the matching one.
      expect((await store.query({ provider: 'openai' }))[0]!.attempts.map((a) => a.provider)).toEqual(['openai', 'mock']);
    });

    it('filters by model, outcome and start time, alone and together', async () => {
      const { store } = await fresh();
      const base = 1_800_000_000_000;
      const records = [
        call({ model: 'gpt-4', startedAt: base }),
        call({ model: 'claude-3-sonnet', startedAt: base + 1000 }),
        call({ model: 'gpt-4', startedAt: base + 2000, outcome: 'error', status: 429, errorCode: 'rate_limited', attempts: [failedAttempt('openai', { status: 429 })] }),
        call({ model: 'gpt-4', startedAt: base + 3000 }),
        call({ model: 'claude-3-sonnet', startedAt: base + 4000, outcome: 'error', status: 500, attempts: [failedAttempt('mock', { status: 500 })] }),
      ];
      for (const record of records) store.append(record);
      await store.flush();
      const ids = async (q: Parameters<CallLogStore['query']>[0]) => (await store.query(q)).map((r) => r.id);
      const id = (i: number) => records[i]!.id;
      expect(await ids({ model: 'gpt-4' })).toEqual([id(0), id(2), id(3)]);
      expect(await ids({ outcome: 'error' })).toEqual([id(2), id(4)]);
      expect(await ids({ outcome: 'ok' })).toEqual([id(0), id(1), id(3)]);
      expect(await ids({ since: base + 2000 })).toEqual([id(2), id(3), id(4)]);
      expect(await ids({ model: 'gpt-4', outcome: 'ok', since: base + 1 })).toEqual([id(3)]);
      expect(await ids({ provider: 'mock', since: base + 1000 })).toEqual([id(1), id(3), id(4)]);
      expect(await ids({ provider: 'mock', outcome: 'error' })).toEqual([id(4)]);
      expect(await ids({ provider: 'openai', model: 'claude-3-sonnet' })).toEqual([]);
      expect(await ids({ model: 'gpt-4', limit: 1 })).toEqual([id(3)]);
    });

    it('reads a growing log in storage order with afterSeq', async () => {
      const { store } = await fresh();
      const first = [call(), call(), call()];
      for (const record of first) store.append(record);
      await store.flush();
      const seen = await store.query();
      const seqs = seen.map((r) => r.seq!);
      expect(seqs[0]).toBeLessThan(seqs[1]!);
      expect(seqs[1]).toBeLessThan(seqs[2]!);
      const cursor = seqs[2]!;
      expect(await store.query({ afterSeq: cursor })).toEqual([]);
      // A call that started earlier but was stored later still comes after the cursor.
      const late = call({ startedAt: first[0]!.startedAt - 5000 });
      const next = [late, call(), call({ attempts: [failedAttempt('openai'), attempt()] })];
      for (const record of next) store.append(record);
      await store.flush();
      expect((await store.query({ afterSeq: cursor })).map((r) => r.id)).toEqual(next.map((r) => r.id));
      expect((await store.query({ afterSeq: cursor, limit: 2 })).map((r) => r.id)).toEqual([next[1]!.id, next[2]!.id]);
      // The newest position overall, to start following from.
      expect((await store.query({ afterSeq: 0, limit: 1 }))[0]!.id).toBe(next[2]!.id);
      expect((await store.query({ afterSeq: cursor, provider: 'openai' })).map((r) => r.id)).toEqual([next[2]!.id]);
    });

    it('computes stats per provider and per model', async () => {
      const { store } = await fresh();
      const empty = await store.stats();
      expect(empty.total).toEqual({ name: '*', calls: 0, errors: 0, fallbacks: 0, p50LatencyMs: null, p95LatencyMs: null, inputTokens: 0, outputTokens: 0, costCents: 0, unpriced: 0 });
      expect(empty.providers).toEqual([]);
      expect(empty.models).toEqual([]);

      const base = 1_900_000_000_000;
      // 20 gpt-4 calls with latencies 10..200 answered by openai, two of them after an openai failure fell back to anthropic.
      for (let i = 1; i <= 20; i++) {
        const fellBack = i === 5 || i === 6;
        const attempts = fellBack
          ? [failedAttempt('openai', { latencyMs: 1 }), attempt({ provider: 'anthropic', providerType: 'anthropic', latencyMs: i * 10 - 1, inputTokens: 10, outputTokens: 20, costCents: 0.5 })]
          : [attempt({ provider: 'openai', providerType: 'openai', latencyMs: i * 10, inputTokens: 10, outputTokens: 20, costCents: 0.25 })];
        store.append(call({ model: 'gpt-4', startedAt: base + i, latencyMs: i * 10, inputTokens: 10, outputTokens: 20, costCents: fellBack ? 0.5 : 0.25, attempts }));
      }
      // Three claude calls on the mock: one failed, one unpriced.
      store.append(call({ model: 'claude-3-sonnet', startedAt: base + 100, latencyMs: 300, inputTokens: 1, outputTokens: 2, costCents: 0, attempts: [attempt({ latencyMs: 300, inputTokens: 1, outputTokens: 2 })] }));
      store.append(call({ model: 'claude-3-sonnet', startedAt: base + 101, latencyMs: 5, outcome: 'error', status: 500, inputTokens: 0, outputTokens: 0, costCents: 0, attempts: [failedAttempt('mock', { status: 500, latencyMs: 5 })] }));
      store.append(call({ model: 'claude-3-sonnet', startedAt: base + 102, latencyMs: 50, inputTokens: 4, outputTokens: 6, costCents: null, attempts: [attempt({ latencyMs: 50, inputTokens: 4, outputTokens: 6, costCents: null })] }));
      // Outside the window below.
      store.append(call({ model: 'old-model', startedAt: base - 10_000, latencyMs: 1, attempts: [attempt({ provider: 'legacy', latencyMs: 1 })] }));
      await store.flush();

      const stats = await store.stats({ since: base });
      expect(stats.total).toEqual({ name: '*', calls: 23, errors: 1, fallbacks: 2, p50LatencyMs: 100, p95LatencyMs: 200, inputTokens: 205, outputTokens: 408, costCents: 5.5, unpriced: 1 });
      expect(stats.models).toEqual([
        { name: 'claude-3-sonnet', calls: 3, errors: 1, fallbacks: 0, p50LatencyMs: 50, p95LatencyMs: 300, inputTokens: 5, outputTokens: 8, costCents: 0, unpriced: 1 },
        { name: 'gpt-4', calls: 20, errors: 0, fallbacks: 2, p50LatencyMs: 100, p95LatencyMs: 190, inputTokens: 200, outputTokens: 400, costCents: 5.5, unpriced: 0 },
      ]);
      expect(stats.providers).toEqual([
        { name: 'anthropic', calls: 2, errors: 0, fallbacks: 2, p50LatencyMs: 49, p95LatencyMs: 59, inputTokens: 20, outputTokens: 40, costCents: 1, unpriced: 0 },
        { name: 'mock', calls: 3, errors: 1, fallbacks: 0, p50LatencyMs: 50, p95LatencyMs: 300, inputTokens: 5, outputTokens: 8, costCents: 0, unpriced: 1 },
        { name: 'openai', calls: 20, errors: 2, fallbacks: 0, p50LatencyMs: 100, p95LatencyMs: 190, inputTokens: 180, outputTokens: 360, costCents: 4.5, unpriced: 0 },
      ]);
      const all = await store.stats();
      expect(all.total.calls).toBe(24);
      expect(all.providers.map((p) => p.name)).toEqual(['anthropic', 'legacy', 'mock', 'openai']);
    });

    it('prunes to max_rows, keeping the newest calls', async () => {
      const { store } = await fresh({ maxRows: 5 });
      const records = Array.from({ length: 12 }, () => call());
      for (const record of records) store.append(record);
      await store.flush();
      // The memory store also trims as it appends, so prune() may find less to do.
      expect(await store.prune()).toBeLessThanOrEqual(7);
      expect((await store.query()).map((r) => r.id)).toEqual(records.slice(7).map((r) => r.id));
      expect((await store.stats()).providers[0]!.calls).toBe(5);
    });

    it('prunes calls older than max_age', async () => {
      const { store } = await fresh({ maxAgeMs: 60 * 60_000 });
      const now = Date.now();
      const old = [call({ startedAt: now - 3 * 3_600_000 }), call({ startedAt: now - 2 * 3_600_000, attempts: [failedAttempt('openai'), attempt()] })];
      const recent = [call({ startedAt: now - 60_000 }), call({ startedAt: now })];
      for (const record of [...old, ...recent]) store.append(record);
      await store.flush();
      expect(await store.prune()).toBe(2);
      expect((await store.query()).map((r) => r.id)).toEqual(recent.map((r) => r.id));
      expect(await store.query({ provider: 'openai' })).toEqual([]);
    });

    it('never reuses a position, even after retention removed every call', async () => {
      const { store } = await fresh({ maxAgeMs: 60_000 });
      const old = [call({ startedAt: Date.now() - 3_600_000 }), call({ startedAt: Date.now() - 3_600_000 })];
      for (const record of old) store.append(record);
      await store.flush();
      const oldSeqs = (await store.query()).map((r) => r.seq!);
      expect(await store.prune()).toBe(2);
      expect(await store.query()).toEqual([]);
      store.append(call({ id: 'after-prune', startedAt: Date.now() }));
      await store.flush();
      const [next] = await store.query({ afterSeq: Math.max(...oldSeqs) });
      expect(next?.id).toBe('after-prune');
    });

    it('never throws from append, even for a body JSON cannot hold', async () => {
      const { store } = await fresh();
      const odd = call({ requestBody: { big: 10n } });
      expect(() => store.append(odd)).not.toThrow();
      store.append(call({ id: 'after-odd' }));
      await store.flush();
      expect((await store.query()).map((r) => r.id)).toEqual([odd.id, 'after-odd']);
    });

    it('keeps every call of a burst exactly once, across batches', async () => {
      const { store } = await fresh();
      const records = Array.from({ length: 2500 }, (_, i) => call({ attempts: i % 3 === 0 ? [failedAttempt('openai'), attempt()] : [attempt()] }));
      records.forEach((record, i) => {
        store.append(record);
        if (i === 1200) void store.flush();
      });
      await store.flush();
      const stored = await store.query();
      expect(stored).toHaveLength(2500);
      expect(new Set(stored.map((r) => r.seq)).size).toBe(2500);
      expect(stored.map((r) => r.id)).toEqual(records.map((r) => r.id));
      expect(await store.query({ provider: 'openai' })).toHaveLength(834);
    });

    it.skipIf(!harness.persistent)('writes appended calls in the background, without flush()', async () => {
      const { store, reopen: _ } = await fresh();
      const record = call();
      store.append(record);
      // A reader is a separate connection: it sees only what has been written.
      const reader = await reopen({ store, reopen: _ });
      let found: CallRecord[] = [];
      for (let i = 0; i < 50 && found.length === 0; i++) {
        await new Promise((done) => setTimeout(done, 50));
        found = await reader.query();
      }
      expect(found.map((r) => r.id)).toEqual([record.id]);
    });

    it.skipIf(!harness.persistent)('close() writes what is buffered; the data survives a reopen', async () => {
      const opened = await fresh();
      const records = Array.from({ length: 30 }, () => call());
      for (const record of records) opened.store.append(record);
      await opened.store.close();
      const again = await reopen(opened);
      expect((await again.query()).map((r) => r.id)).toEqual(records.map((r) => r.id));
    });
  });
}
