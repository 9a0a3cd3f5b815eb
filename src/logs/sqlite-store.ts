/**
 * The embedded call log: one SQLite file through Node's built-in
 * `node:sqlite` (no native dependency). WAL mode, so `tokenpak logs` reads
 * while the proxy writes; writes are batched in a writer thread
 * (sqlite-writer.ts: at most `flush_ms` of calls wait there) and flushed on
 * close and at process exit. Reads and retention use this thread's connection.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { TokenPakError } from '../errors.ts';
import { createStoreWriter, rateLimitedWarn, type BatchWriter } from './batch-writer.ts';
import { startSqliteWriter, type SqliteWriter } from './sqlite-writer.ts';
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

export interface SqliteCallLogOptions {
  /** Database file (created with its directory when missing, unless `readOnly`). */
  path: string;
  /** Open an existing log for reading only (`tokenpak logs`): no writes, no timers. */
  readOnly?: boolean;
  /** Most calls kept; the oldest are pruned. */
  maxRows?: number;
  /** Calls older than this many milliseconds are pruned. */
  maxAgeMs?: number;
  /** Most time a call waits before it is written (default 100). */
  flushIntervalMs?: number;
  /** Calls per write transaction (default 1000). */
  batchSize?: number;
  /** How often retention runs (default 60 s). */
  pruneIntervalMs?: number;
  /** Receives warnings (default: stderr, at most one per 10 s). */
  warn?: (message: string) => void;
}

/** A call log in a SQLite file. */
export interface SqliteCallLog extends CallLogStore {
  /** Absolute path of the database file. */
  readonly path: string;
}

const dialect: Dialect = {
  calls: 'calls',
  attempts: 'attempts',
  param: () => '?',
  inArray: (column, param) => `${column} IN (SELECT value FROM json_each(${param}))`,
};

const DDL = `
CREATE TABLE calls (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  client_format TEXT NOT NULL,
  model TEXT NOT NULL,
  provider TEXT,
  upstream_model TEXT,
  outcome TEXT NOT NULL,
  status INTEGER NOT NULL,
  error_code TEXT,
  error_message TEXT,
  latency_ms REAL NOT NULL,
  ttft_ms REAL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_cents REAL,
  stream INTEGER NOT NULL,
  attempt_count INTEGER NOT NULL,
  request_body TEXT,
  response_body TEXT
);
CREATE INDEX calls_by_start ON calls (started_at);
CREATE INDEX calls_by_model ON calls (model, started_at);
-- Failed calls only: most calls succeed, and this costs them nothing.
CREATE INDEX calls_failed ON calls (started_at) WHERE outcome = 'error';
CREATE TABLE attempts (
  call_seq INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  call_started_at INTEGER NOT NULL,
  first_try INTEGER NOT NULL,
  provider TEXT NOT NULL,
  provider_type TEXT NOT NULL,
  model TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status INTEGER NOT NULL,
  error_code TEXT,
  error_message TEXT,
  latency_ms REAL NOT NULL,
  ttft_ms REAL,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cost_cents REAL,
  wait_ms REAL,
  PRIMARY KEY (call_seq, attempt)
) WITHOUT ROWID;
CREATE INDEX attempts_by_provider ON attempts (provider, call_started_at, call_seq) WHERE first_try = 1;
`;

/**
 * The log holds prompts (with `capture_bodies`) and error text: only its owner
 * may read it. Directories it creates are 0700; the database is created 0600
 * (an existing one is narrowed to 0600), and SQLite gives its -wal and -shm
 * files the database's mode.
 */
function makePrivate(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, 0o600);
    } catch (error) {
      // -wal and -shm exist only while (or after) a writer has the log open.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}


/** Opens (and, for writing, creates or migrates) a SQLite call log. */
export function openSqliteCallLog(options: SqliteCallLogOptions): SqliteCallLog {
  const path = options.path === ':memory:' ? ':memory:' : resolve(options.path);
  const readOnly = options.readOnly ?? false;
  let db: DatabaseSync;
  if (readOnly) {
    if (path !== ':memory:' && !existsSync(path)) {
      throw storeError(`No call log at ${path}. Start "tokenpak proxy" in this directory first, or point --config at the config whose logs.path names the log.`);
    }
    try {
      db = new DatabaseSync(path, { readOnly: true });
      db.exec('PRAGMA busy_timeout = 2000');
    } catch (error) {
      throw storeError(`Cannot open the call log ${path}: ${(error as Error).message}.`, error);
    }
    const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (version === 0) throw storeError(`${path} is not a TokenPak call log (no tables). Check logs.path.`);
    if (version > SCHEMA_VERSION) throw storeError(`The call log ${path} was written by a newer TokenPak (schema ${version}); upgrade tokenpak to read it.`);
  } else {
    try {
      if (path !== ':memory:') makePrivate(path);
      db = new DatabaseSync(path);
      // A second proxy on the same file waits briefly for the write lock;
      // a failed write is retried on the next flush.
      db.exec('PRAGMA busy_timeout = 250');
      db.exec('PRAGMA journal_mode = WAL');
      // In WAL mode, NORMAL loses nothing on a process crash (only on power loss).
      db.exec('PRAGMA synchronous = NORMAL');
      migrate(db, path);
    } catch (error) {
      if (error instanceof TokenPakError) throw error;
      throw storeError(`Cannot open the call log ${path}: ${(error as Error).message}. Check that logs.path is a writable file path.`, error);
    }
  }

  const statements = new Map<string, StatementSync>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  const all = (sql: string, params: unknown[]) => prepared(sql).all(...(params as SQLInputValue[])) as Record<string, unknown>[];

  const insertCall = `INSERT INTO calls (${CALL_COLUMNS.join(', ')}) VALUES (${CALL_COLUMNS.map(() => '?').join(', ')})`;
  const insertAttempt = `INSERT INTO attempts (${ATTEMPT_COLUMNS.join(', ')}) VALUES (${ATTEMPT_COLUMNS.map(() => '?').join(', ')})`;

  let open = true;
  const writeSync = (batch: readonly CallRecord[]) => {
    const calls = prepared(insertCall);
    const attempts = prepared(insertAttempt);
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const record of batch) {
        const seq = Number(calls.run(...callValues(record)).lastInsertRowid);
        for (const row of attemptValues(record, seq)) attempts.run(...row);
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };

  const warn = rateLimitedWarn(options.warn ?? ((message) => process.stderr.write(`${message}\n`)));
  // A file's calls are written by a thread of their own; an in-memory log (tests) has only this connection.
  let thread: SqliteWriter | undefined;
  let writer: BatchWriter | undefined;
  let onExit: (() => void) | undefined;
  if (!readOnly && path !== ':memory:') {
    thread = startSqliteWriter({
      path,
      insertCall,
      insertAttempt,
      flushIntervalMs: options.flushIntervalMs ?? 100,
      batchSize: options.batchSize ?? 1_000,
      maxBuffered: 100_000,
      onError: warn,
    });
    // A process.exit() (a second Ctrl-C, an uncaught error) still writes what the thread holds.
    onExit = () => {
      if (open) thread!.flushSync(2_000);
    };
    process.on('exit', onExit);
  } else if (!readOnly) {
    writer = createStoreWriter(options, writeSync, warn);
    onExit = () => {
      const rest = writer!.takeAll();
      if (open && rest.length > 0) writeSync(rest);
    };
    process.on('exit', onExit);
  }

  const deleteCalls = (seqs: number[]) => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const list = JSON.stringify(seqs);
      prepared(`DELETE FROM attempts WHERE ${dialect.inArray('call_seq', '?')}`).run(list);
      prepared(`DELETE FROM calls WHERE ${dialect.inArray('seq', '?')}`).run(list);
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };
  const yieldToRequests = () => new Promise<void>((done) => setImmediate(done));
  const retention = createRetention(dialect, options, {
    rows: all,
    async remove(seqs) {
      deleteCalls(seqs);
      await yieldToRequests();
    },
    active: () => !readOnly && open,
  });
  if (!readOnly) retention.start(warn);


  return {
    path,
    append(record) {
      if (thread && open) {
        let call: SqlValue[];
        let attempts: SqlValue[][];
        try {
          call = callValues(record);
          // The attempts' rows without the call's seq, which the writer thread prepends once it is known.
          attempts = attemptValues(record, 0).map((row) => row.slice(1));
        } catch (error) {
          warn(`a call could not be recorded: ${(error as Error).message}`);
          return;
        }
        return thread.enqueue(call, attempts);
      }
      if (writer && open) return writer.append(record);
      if (!readOnly) {
        // A call that ends after close() (a stream cut at the end of the grace period) is still written.
        try {
          const late = new DatabaseSync(path);
          late.exec('PRAGMA busy_timeout = 1000');
          const seq = Number(late.prepare(insertCall).run(...callValues(record)).lastInsertRowid);
          const attempt = late.prepare(insertAttempt);
          for (const row of attemptValues(record, seq)) attempt.run(...row);
          late.close();
        } catch (error) {
          warn(`a call that ended after the log closed was not recorded: ${(error as Error).message}`);
        }
      }
    },
    ...sqlReaders(dialect, all, JSON.stringify, () => open),
    prune: retention.prune,
    async flush() {
      await thread?.flush();
      await writer?.flush();
    },
    async checkWritable() {
      if (readOnly || !open) throw storeError(`The call log ${path} is ${readOnly ? 'open read-only' : 'closed'}.`);
      await writer?.flush();
      // Takes the write lock and lets it go: fails on a read-only file or a lock held by another process. The wait
      // blocks the event loop, so it is short: the writer's own transactions (a batch) take a few milliseconds.
      db.exec('PRAGMA busy_timeout = 50');
      try {
        db.exec('BEGIN IMMEDIATE');
        db.exec('ROLLBACK');
      } finally {
        db.exec('PRAGMA busy_timeout = 250');
      }
    },
    async close() {
      if (!open) return;
      retention.stop();
      try {
        await thread?.close();
        await writer?.close();
      } finally {
        open = false;
        if (onExit) process.off('exit', onExit);
        await retention.settled();
        db.close();
      }
    },
  };
}

function migrate(db: DatabaseSync, path: string) {
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (version > SCHEMA_VERSION) {
      throw storeError(`The call log ${path} was written by a newer TokenPak (schema ${version}); upgrade tokenpak, or point logs.path at another file.`);
    }
    if (version === 0) {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
      if (tables.length > 0) throw storeError(`${path} is an SQLite database but not a TokenPak call log. Point logs.path at another file.`);
      db.exec(DDL);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    } else if (version === 1) {
      // Schema 2: the wait before a retry at the same provider.
      db.exec('ALTER TABLE attempts ADD COLUMN wait_ms REAL');
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    }
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
