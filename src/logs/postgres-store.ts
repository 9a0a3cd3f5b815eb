/**
 * The shared call log: PostgreSQL, for several proxies behind one load
 * balancer. The `pg` driver is an optional dependency, loaded only when this
 * store is used. The schema is created or migrated at start, under an
 * advisory lock so that proxies starting together do not race.
 */
import type { Pool, PoolClient } from 'pg';
import { TokenPakError } from '../errors.ts';
import { optionalPackageFix } from '../util/binary.ts';
import { createStoreWriter, rateLimitedWarn, type BatchWriter } from './batch-writer.ts';
import {
  ATTEMPT_COLUMNS,
  attemptValues,
  CALL_COLUMNS,
  callValues,
  createRetention,
  sqlReaders,
  storeError,
  SCHEMA_VERSION,
  type Dialect,
  type SqlValue,
} from './sql.ts';
import type { CallLogStore, CallRecord } from './types.ts';

export interface PostgresCallLogOptions {
  /** Connection URL, for example `postgres://user:password@host:5432/db`. */
  url: string;
  /** Schema holding the tables (created when missing; default `public`). */
  schema?: string;
  /** Read an existing log only (`tokenpak logs`): no schema changes, no writes, no timers. */
  readOnly?: boolean;
  maxRows?: number;
  maxAgeMs?: number;
  /** Most time a call waits before it is written (default 100). */
  flushIntervalMs?: number;
  /** Calls per write transaction (default 1000). */
  batchSize?: number;
  /** How often retention runs (default 60 s). */
  pruneIntervalMs?: number;
  warn?: (message: string) => void;
}

/** A call log in PostgreSQL. */
export interface PostgresCallLog extends CallLogStore {
  /** The connection URL without its password. */
  readonly target: string;
  readonly schema: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Column types as declared; the unnest casts use the type without NOT NULL. */
const CALL_TYPES: Record<(typeof CALL_COLUMNS)[number], string> = {
  id: 'text NOT NULL', started_at: 'bigint NOT NULL', client_format: 'text NOT NULL', model: 'text NOT NULL',
  provider: 'text', upstream_model: 'text', outcome: 'text NOT NULL', status: 'integer NOT NULL', error_code: 'text',
  error_message: 'text', latency_ms: 'double precision NOT NULL', ttft_ms: 'double precision',
  input_tokens: 'bigint NOT NULL', output_tokens: 'bigint NOT NULL', cost_cents: 'double precision',
  stream: 'smallint NOT NULL', attempt_count: 'integer NOT NULL', request_body: 'text', response_body: 'text',
};

const ATTEMPT_TYPES: Record<(typeof ATTEMPT_COLUMNS)[number], string> = {
  call_seq: 'bigint NOT NULL', attempt: 'integer NOT NULL', call_started_at: 'bigint NOT NULL',
  first_try: 'smallint NOT NULL', provider: 'text NOT NULL', provider_type: 'text NOT NULL', model: 'text NOT NULL',
  outcome: 'text NOT NULL', status: 'integer NOT NULL', error_code: 'text', error_message: 'text',
  latency_ms: 'double precision NOT NULL', ttft_ms: 'double precision', input_tokens: 'bigint', output_tokens: 'bigint',
  cost_cents: 'double precision', wait_ms: 'double precision',
};

const columnsDdl = (types: Record<string, string>) => Object.entries(types).map(([name, type]) => `  ${name} ${type}`).join(',\n');
const baseType = (type: string) => type.replace(' NOT NULL', '');

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : '';
    return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
  } catch {
    return 'logs.url (not a valid URL)';
  }
}


async function loadPg(): Promise<typeof import('pg')> {
  try {
    const module = (await import('pg')) as typeof import('pg') & { default?: typeof import('pg') };
    return module.default ?? module;
  } catch (error) {
    throw storeError(optionalPackageFix('pg', 'logs.store: postgres'), error);
  }
}

/** Opens a PostgreSQL call log, creating or migrating its tables unless `readOnly`. */
export async function openPostgresCallLog(options: PostgresCallLogOptions): Promise<PostgresCallLog> {
  const schema = options.schema ?? 'public';
  if (!IDENTIFIER.test(schema)) throw storeError(`logs.schema "${schema}" is not a plain SQL name: use letters, digits and _ (for example tokenpak).`);
  const target = redactUrl(options.url);
  const readOnly = options.readOnly ?? false;
  const q = `"${schema}"`;
  const tables = { calls: `${q}.tokenpak_calls`, attempts: `${q}.tokenpak_attempts`, meta: `${q}.tokenpak_meta`, seq: `${q}.tokenpak_call_seq` };
  const lockKey = `tokenpak:${schema}`;
  const dialect: Dialect = {
    calls: tables.calls,
    attempts: tables.attempts,
    param: (n) => `$${n}`,
    inArray: (column, param) => `${column} = ANY(${param}::bigint[])`,
  };

  const pg = await loadPg();
  const warn = rateLimitedWarn(options.warn ?? ((message) => process.stderr.write(`${message}\n`)));
  const pool: Pool = new pg.Pool({
    connectionString: options.url,
    max: 4,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'tokenpak',
  });
  // An idle connection that drops must not crash the proxy.
  pool.on('error', (error) => warn(`PostgreSQL connection error: ${error.message}`));

  const fail = async (message: string, error: unknown): Promise<never> => {
    await pool.end().catch(() => {});
    throw storeError(message, error);
  };

  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await fail(`Cannot connect to PostgreSQL at ${target} (logs.url): ${(error as Error).message}. Check that the server is running and that logs.url is right.`, error);
  }

  if (readOnly) {
    let version: number | null = null;
    try {
      const found = await pool.query<{ calls: string | null; meta: string | null }>('SELECT to_regclass($1) AS calls, to_regclass($2) AS meta', [tables.calls, tables.meta]);
      if (found.rows[0]?.calls && found.rows[0].meta) {
        version = Number((await pool.query(`SELECT value FROM ${tables.meta} WHERE key = 'schema_version'`)).rows[0]?.value ?? 0);
      }
    } catch (error) {
      await fail(`Cannot read the call log in ${target} (schema ${schema}): ${(error as Error).message}.`, error);
    }
    if (version === null) await fail(`No call log in ${target} (schema ${schema}): start "tokenpak proxy" with this config first.`, undefined);
    if (version! > SCHEMA_VERSION) await fail(`The call log in ${target} (schema ${schema}) was written by a newer TokenPak (schema ${version}); upgrade tokenpak to read it.`, undefined);
  } else {
    try {
      await migrate();
    } catch (error) {
      if (error instanceof TokenPakError) await fail(error.detail, error.cause);
      await fail(`Cannot create the call log tables in ${target} (schema ${schema}): ${(error as Error).message}.`, error);
    }
  }

  async function transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async function migrate() {
    await transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${tables.meta} (key text PRIMARY KEY, value text NOT NULL)`);
      const row = (await client.query(`SELECT value FROM ${tables.meta} WHERE key = 'schema_version'`)).rows[0];
      const version = row ? Number(row.value) : 0;
      if (version > SCHEMA_VERSION) {
        throw storeError(`The call log in ${target} (schema ${schema}) was written by a newer TokenPak (schema ${version}); upgrade tokenpak, or set logs.schema to another schema.`);
      }
      if (version === 0) {
        await client.query(`CREATE SEQUENCE ${tables.seq}`);
        await client.query(`CREATE TABLE ${tables.calls} (\n  seq bigint PRIMARY KEY,\n${columnsDdl(CALL_TYPES)}\n)`);
        await client.query(`CREATE INDEX tokenpak_calls_by_start ON ${tables.calls} (started_at, seq)`);
        await client.query(`CREATE INDEX tokenpak_calls_by_model ON ${tables.calls} (model, started_at, seq)`);
        await client.query(`CREATE INDEX tokenpak_calls_failed ON ${tables.calls} (started_at, seq) WHERE outcome = 'error'`);
        await client.query(`CREATE TABLE ${tables.attempts} (\n${columnsDdl(ATTEMPT_TYPES)},\n  PRIMARY KEY (call_seq, attempt)\n)`);
        await client.query(`CREATE INDEX tokenpak_attempts_by_provider ON ${tables.attempts} (provider, call_started_at, call_seq) WHERE first_try = 1`);
        await client.query(`INSERT INTO ${tables.meta} (key, value) VALUES ('schema_version', $1)`, [String(SCHEMA_VERSION)]);
      } else if (version === 1) {
        // Schema 2: the wait before a retry at the same provider.
        await client.query(`ALTER TABLE ${tables.attempts} ADD COLUMN wait_ms double precision`);
        await client.query(`UPDATE ${tables.meta} SET value = $1 WHERE key = 'schema_version'`, [String(SCHEMA_VERSION)]);
      }
    });
  }

  const unnestInsert = (table: string, columns: readonly string[], types: Record<string, string>) =>
    `INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM unnest(${columns.map((c, i) => `$${i + 1}::${baseType(types[c]!)}[]`).join(', ')})`;
  const insertCalls = unnestInsert(tables.calls, ['seq', ...CALL_COLUMNS], { seq: 'bigint NOT NULL', ...CALL_TYPES });
  const insertAttempts = unnestInsert(tables.attempts, ATTEMPT_COLUMNS, ATTEMPT_TYPES);
  const byColumn = (rows: SqlValue[][], width: number) => Array.from({ length: width }, (_, i) => rows.map((row) => row[i]));

  const write = (batch: CallRecord[]) =>
    transaction(async (client) => {
      // One writer at a time across proxies: seqs then become visible in
      // order, so a reader following the log by seq never skips a call.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey]);
      const reserved = await client.query<{ seq: string }>(`SELECT nextval('${tables.seq}') AS seq FROM generate_series(1, $1)`, [batch.length]);
      const seqs = reserved.rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
      const calls = batch.map((record, i) => [seqs[i]!, ...callValues(record)]);
      const attempts = batch.flatMap((record, i) => attemptValues(record, seqs[i]!));
      await client.query(insertCalls, byColumn(calls, CALL_COLUMNS.length + 1));
      if (attempts.length > 0) await client.query(insertAttempts, byColumn(attempts, ATTEMPT_COLUMNS.length));
    });

  let open = true;
  let writer: BatchWriter | undefined;
  if (!readOnly) {
    writer = createStoreWriter(options, write, warn);
  }

  const rows = async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rows as Record<string, unknown>[];
  const remove = (seqs: number[]) =>
    transaction(async (client) => {
      await client.query(`DELETE FROM ${tables.attempts} WHERE ${dialect.inArray('call_seq', '$1')}`, [seqs]);
      await client.query(`DELETE FROM ${tables.calls} WHERE ${dialect.inArray('seq', '$1')}`, [seqs]);
    });

  const retention = createRetention(dialect, options, { rows, remove, active: () => !readOnly && open });
  if (!readOnly) retention.start(warn);


  return {
    target,
    schema,
    append(record) {
      if (writer && open) writer.append(record);
      else if (!readOnly) warn(`a call that ended after the log closed was not recorded (request ${record.id})`);
    },
    ...sqlReaders(dialect, rows, (seqs) => seqs, () => open),
    prune: retention.prune,
    async flush() {
      await writer?.flush();
    },
    async checkWritable() {
      if (readOnly || !open) throw storeError(`The call log at ${target} is ${readOnly ? 'open read-only' : 'closed'}.`);
      await writer?.flush();
      const { rows: [row] } = await pool.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
      if (row?.standby) throw storeError(`The PostgreSQL server at ${target} is a read-only standby; point logs.url at the primary.`);
    },
    async close() {
      if (!open) return;
      retention.stop();
      try {
        await writer?.close();
      } finally {
        open = false;
        await retention.settled();
        await pool.end();
      }
    },
  };
}
