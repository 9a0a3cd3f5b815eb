/**
 * Builds the call-log store a config's `logs:` section names. The SQL stores
 * are imported on demand, so that code paths which only need the memory store
 * (the Vitest plugin) never load `node:sqlite` or `pg`.
 */
import type { ParsedConfig } from '../config/schema.ts';
import { createMemoryCallLog } from './memory-store.ts';
import { parseDuration } from '../util/time.ts';
import type { CallLogStore } from './types.ts';

export type LogsSettings = ParsedConfig['logs'];
export type StoreKind = NonNullable<LogsSettings['store']>;

/**
 * `logs:` when the config says nothing (equal to the schema's defaults; a
 * test holds them together). Kept here so that `tokenpak logs` without a
 * config file loads neither zod nor the YAML parser.
 */
export const DEFAULT_LOGS_SETTINGS: LogsSettings = { path: '.tokenpak/calls.db', schema: 'public', capture_bodies: false, flush_ms: 100 };

/** Calls a persistent store keeps unless `logs.max_rows` says otherwise. */
export const DEFAULT_PERSISTENT_MAX_ROWS = 1_000_000;

export interface CreateStoreOptions {
  /** The store when `logs.store` is not set: `sqlite` for the proxy, `memory` for tests. */
  defaultStore: StoreKind;
  /** Open an existing log for reading only (`tokenpak logs`, `tokenpak stats`). */
  readOnly?: boolean;
  /** Receives the stores' warnings (default: stderr). */
  warn?: (message: string) => void;
}

/** Which store the settings select, and where it is (for messages; never includes a password). */
export function describeStore(settings: LogsSettings, defaultStore: StoreKind): string {
  const kind = settings.store ?? defaultStore;
  if (kind === 'sqlite') return `sqlite ${settings.path}`;
  if (kind === 'postgres') {
    try {
      const url = new URL(settings.url ?? '');
      return `postgres ${url.host}${url.pathname}${settings.schema === 'public' ? '' : ` (schema ${settings.schema})`}`;
    } catch {
      return 'postgres';
    }
  }
  return 'memory';
}

/** Opens the store that `logs:` names. */
export async function createCallLogStore(settings: LogsSettings, options: CreateStoreOptions): Promise<CallLogStore> {
  const kind = settings.store ?? options.defaultStore;
  const maxAgeMs = settings.max_age !== undefined ? parseDuration(settings.max_age) : undefined;
  const common = {
    maxRows: settings.max_rows ?? DEFAULT_PERSISTENT_MAX_ROWS,
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
    flushIntervalMs: settings.flush_ms,
    ...(options.readOnly ? { readOnly: true } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
  };
  switch (kind) {
    case 'memory':
      return createMemoryCallLog({
        ...(settings.max_rows !== undefined ? { maxRows: settings.max_rows } : {}),
        ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
      });
    case 'sqlite': {
      const { openSqliteCallLog } = await import('./sqlite-store.ts');
      return openSqliteCallLog({ path: settings.path, ...common });
    }
    case 'postgres': {
      const { openPostgresCallLog } = await import('./postgres-store.ts');
      // The schema refinement guarantees a URL for store: postgres.
      return openPostgresCallLog({ url: settings.url!, schema: settings.schema, ...common });
    }
  }
}
