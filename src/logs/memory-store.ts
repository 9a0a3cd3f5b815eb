import type { CallLogStore, CallQuery, CallRecord } from './types.ts';

/** Matches a record against a query (shared by stores that filter in memory). */
export function matchesQuery(record: CallRecord, query: CallQuery): boolean {
  if (query.model !== undefined && record.model !== query.model) return false;
  if (query.outcome !== undefined && record.outcome !== query.outcome) return false;
  if (query.since !== undefined && record.startedAt < query.since) return false;
  if (query.provider !== undefined && !record.attempts.some((a) => a.provider === query.provider)) return false;
  return true;
}

/** An in-memory call log that keeps the newest `maxRows` calls. */
export interface MemoryCallLog extends CallLogStore {
  /** Every kept record, oldest first (synchronous, for tests). */
  readonly records: readonly CallRecord[];
  /** Called with each record as it is appended. Returns an unsubscribe function. */
  subscribe(listener: (record: CallRecord) => void): () => void;
  clear(): void;
}

export function createMemoryCallLog(options: { maxRows?: number } = {}): MemoryCallLog {
  const maxRows = options.maxRows ?? 100_000;
  let records: CallRecord[] = [];
  const listeners = new Set<(record: CallRecord) => void>();
  return {
    get records() {
      return records;
    },
    append(record) {
      records.push(record);
      // Trim in batches so the common case stays O(1).
      if (records.length > maxRows + Math.max(1, maxRows >> 4)) records = records.slice(records.length - maxRows);
      for (const listener of listeners) listener(record);
    },
    async query(query = {}) {
      const matched = records.filter((r, i) => i >= records.length - maxRows && matchesQuery(r, query));
      return query.limit !== undefined ? matched.slice(Math.max(0, matched.length - query.limit)) : matched;
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
