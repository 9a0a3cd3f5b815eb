import { computeStats } from './stats.ts';
import type { CallLogStore, CallQuery, CallRecord } from './types.ts';

/** Matches a record against a query's filters (shared by stores that filter in memory). */
export function matchesQuery(record: CallRecord, query: CallQuery): boolean {
  if (query.model !== undefined && record.model !== query.model) return false;
  if (query.outcome !== undefined && record.outcome !== query.outcome) return false;
  if (query.since !== undefined && record.startedAt < query.since) return false;
  if (query.afterSeq !== undefined && (record.seq ?? 0) <= query.afterSeq) return false;
  if (query.provider !== undefined && !record.attempts.some((a) => a.provider === query.provider)) return false;
  return true;
}

/** An in-memory call log that keeps the newest `maxRows` calls. */
export interface MemoryCallLog extends CallLogStore {
  /** Every kept record, in the order appended (synchronous, for tests). */
  readonly records: readonly CallRecord[];
  /** Called with each record as it is appended. Returns an unsubscribe function. */
  subscribe(listener: (record: CallRecord) => void): () => void;
  clear(): void;
}

export interface MemoryCallLogOptions {
  /** Most calls kept (default 100,000); the oldest go first. */
  maxRows?: number;
  /** Calls older than this many milliseconds are dropped by `prune()`. */
  maxAgeMs?: number;
}

export function createMemoryCallLog(options: MemoryCallLogOptions = {}): MemoryCallLog {
  const maxRows = options.maxRows ?? 100_000;
  let records: CallRecord[] = [];
  let seq = 0;
  const listeners = new Set<(record: CallRecord) => void>();
  const kept = () => (records.length > maxRows ? records.slice(records.length - maxRows) : records);
  return {
    get records() {
      return records;
    },
    append(record) {
      record.seq = ++seq;
      records.push(record);
      // Trim in batches so the common case stays O(1).
      if (records.length > maxRows + Math.max(1, maxRows >> 4)) records = records.slice(records.length - maxRows);
      for (const listener of listeners) listener(record);
    },
    async query(query = {}) {
      const matched = kept().filter((r) => matchesQuery(r, query));
      // Appends arrive in finishing order; the log reads in starting order
      // (a stable sort keeps ties in append order), except when following by seq.
      if (query.afterSeq === undefined) matched.sort((a, b) => a.startedAt - b.startedAt);
      return query.limit !== undefined ? matched.slice(Math.max(0, matched.length - query.limit)) : matched;
    },
    async stats(query = {}) {
      return computeStats(kept(), query);
    },
    async prune() {
      const before = records.length;
      records = kept();
      if (options.maxAgeMs !== undefined) {
        const cutoff = Date.now() - options.maxAgeMs;
        records = records.filter((r) => r.startedAt >= cutoff);
      }
      return before - records.length;
    },
    async flush() {},
    async close() {},
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    clear() {
      records = [];
    },
  };
}
