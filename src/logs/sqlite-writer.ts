/**
 * The SQLite call log's writer: a worker thread with its own connection that
 * buffers calls and writes them in one transaction every `flush_ms` (the
 * batch window, default 100 ms), or at once when `batchSize` are waiting.
 * The main thread only turns each call into its row values and hands them
 * over every few milliseconds ({@link HANDOVER_MS}), so neither the SQLite work (about 7 µs a call, and a
 * stall at every batch) nor call records held for the window stay on the
 * request path. What a SIGKILL can lose is what was not yet committed: at
 * most one batch window of calls. A stop (`close()`) and a `process.exit()`
 * write everything first.
 */
import { Worker } from 'node:worker_threads';
import { storeError, type SqlValue } from './sql.ts';

export interface SqliteWriterOptions {
  /** The database file, already created and migrated by the store. */
  path: string;
  /** `INSERT INTO calls ...` with one `?` per call column. */
  insertCall: string;
  /** `INSERT INTO attempts ...` with one `?` per attempt column, the call's seq first. */
  insertAttempt: string;
  flushIntervalMs: number;
  batchSize: number;
  /** Calls kept while the database cannot be written; the oldest are dropped beyond this. */
  maxBuffered: number;
  /** Told about write failures and dropped calls. */
  onError(message: string): void;
}

export interface SqliteWriter {
  /** Queues one call: its row values, and its attempts' rows without the call's seq (prepended when written). */
  enqueue(call: SqlValue[], attempts: SqlValue[][]): void;
  /** Resolves once every call queued so far is committed; rejects with the database's error. */
  flush(): Promise<void>;
  /** Blocks until every call queued so far is written (for a `process.exit()`), for at most `timeoutMs`. */
  flushSync(timeoutMs: number): void;
  /** Writes what is left and stops the thread. */
  close(): Promise<void>;
}

/** One call as the thread receives it. */
type Entry = [call: SqlValue[], attempts: SqlValue[][]];

/**
 * How long row values wait on the main thread before they are handed over,
 * and how many are handed over at once. Handing them over once per event-loop
 * turn cost a postMessage (a structured clone) per call under load, 7% of a
 * gateway call's CPU in the profile; a few milliseconds is still far shorter
 * than the gap between two young-generation collections, so the rows die young.
 */
const HANDOVER_MS = 5;
const HANDOVER_MAX = 256;

type ToThread = { entries: Entry[] } | { flush: number } | { flushSync: true } | { close: true };
type FromThread = { flushed: number; error?: string } | { warn: string };

export function startSqliteWriter(options: SqliteWriterOptions): SqliteWriter {
  // Set to 1 by the thread when a flushSync is done: the main thread waits on it with Atomics.wait.
  const synced = new Int32Array(new SharedArrayBuffer(4));
  const { onError, ...settings } = options;
  let queued: Entry[] = [];
  let handover: NodeJS.Timeout | undefined;
  let nextFlush = 0;
  let failed: Error | undefined;
  const flushes = new Map<number, { resolve(): void; reject(error: Error): void }>();

  // The thread starts with the first hand-over, not with the store: a starting proxy answers its
  // first request without paying for a second V8 isolate first (about 50 ms of CPU).
  let worker: Worker | undefined;
  let exited: Promise<void> = Promise.resolve();
  const thread = (): Worker => {
    if (worker) return worker;
    const started = new Worker(`(${writerThread.toString()})()`, { eval: true, workerData: { ...settings, synced } });
    // The thread never keeps a process alive by itself; close() holds it until the last write.
    started.unref();
    started.on('message', (message: FromThread) => {
      if ('warn' in message) return onError(message.warn);
      const waiting = flushes.get(message.flushed);
      flushes.delete(message.flushed);
      if (message.error !== undefined) waiting?.reject(storeError(`Could not write the call log: ${message.error}. Check that its folder is writable and the disk has room (logs.path in the config).`));
      else waiting?.resolve();
    });
    exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    started.once('error', (error) => {
      failed = error;
      onError(`the call log's writer thread failed: ${error.message}`);
      for (const waiting of flushes.values()) waiting.reject(error);
      flushes.clear();
    });
    return (worker = started);
  };

  const post = () => {
    clearTimeout(handover);
    handover = undefined;
    if (queued.length === 0) return;
    const entries = queued;
    queued = [];
    thread().postMessage({ entries } satisfies ToThread);
  };

  return {
    enqueue(call, attempts) {
      queued.push([call, attempts]);
      // A record never waits for the batch window on this thread, only for the next handover.
      if (queued.length >= HANDOVER_MAX) post();
      else handover ??= setTimeout(post, HANDOVER_MS).unref();
    },
    flush() {
      if (failed) return Promise.reject(failed);
      post();
      const id = nextFlush++;
      if (!worker) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        flushes.set(id, { resolve, reject });
        worker!.postMessage({ flush: id } satisfies ToThread);
      });
    },
    flushSync(timeoutMs) {
      if (failed) return;
      post();
      if (!worker) return;
      Atomics.store(synced, 0, 0);
      worker.postMessage({ flushSync: true } satisfies ToThread);
      Atomics.wait(synced, 0, 0, timeoutMs);
    },
    async close() {
      if (!failed) post();
      if (!worker) return;
      worker.ref();
      if (!failed) worker.postMessage({ close: true } satisfies ToThread);
      await exited;
    },
  };
}

/**
 * The thread's code, run from its source text (so that the build needs no
 * file of its own): it may use nothing from this module, only globals.
 */
function writerThread(): void {
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  // A type only (erased from the source text the thread runs): the options as handed over, less the callback.
  const { path, insertCall, insertAttempt, flushIntervalMs, batchSize, maxBuffered, synced } = workerData as Omit<SqliteWriterOptions, 'onError'> & { synced: Int32Array };
  const port = parentPort!;
  const db = new DatabaseSync(path);
  // A second proxy on the same file waits briefly for the write lock; a failed write is retried on the next tick.
  db.exec('PRAGMA busy_timeout = 250');
  // In WAL mode, NORMAL loses nothing on a process crash (only on power loss).
  db.exec('PRAGMA synchronous = NORMAL');
  const calls = db.prepare(insertCall);
  const attempts = db.prepare(insertAttempt);
  let buffer: Array<[unknown[], unknown[][]]> = [];
  let dropped = 0;
  let lastWarning = 0;
  const warn = (message: string) => port.postMessage({ warn: message });

  /** Writes the buffer, `batchSize` calls a transaction; a failed batch stays, ahead of newer calls. */
  const write = (): string | undefined => {
    while (buffer.length > 0) {
      const batch = buffer.length <= batchSize ? buffer : buffer.slice(0, batchSize);
      try {
        db.exec('BEGIN IMMEDIATE');
        for (const [call, rows] of batch) {
          const seq = Number(calls.run(...(call as never[])).lastInsertRowid);
          for (const row of rows) attempts.run(seq, ...(row as never[]));
        }
        db.exec('COMMIT');
      } catch (error) {
        if (db.isTransaction) db.exec('ROLLBACK');
        const message = (error as Error).message;
        if (Date.now() - lastWarning > 10_000) {
          lastWarning = Date.now();
          warn(`cannot write the call log (will retry): ${message}`);
        }
        return message;
      }
      buffer = batch === buffer ? [] : buffer.slice(batch.length);
    }
    return undefined;
  };

  const timer = setInterval(write, flushIntervalMs);
  port.on('message', (message: { entries?: Array<[unknown[], unknown[][]]>; flush?: number; flushSync?: true; close?: true }) => {
    if (message.entries) {
      for (const entry of message.entries) buffer.push(entry);
      const excess = buffer.length - maxBuffered;
      if (excess > 0) {
        buffer = buffer.slice(excess);
        dropped += excess;
        warn(`the call log cannot keep up or cannot be written; ${dropped} call(s) dropped so far`);
      }
      if (buffer.length >= batchSize) write();
    } else if (message.flush !== undefined) {
      const error = write();
      port.postMessage(error === undefined ? { flushed: message.flush } : { flushed: message.flush, error });
    } else if (message.flushSync) {
      write();
      Atomics.store(synced, 0, 1);
      Atomics.notify(synced, 0);
    } else if (message.close) {
      clearInterval(timer);
      write();
      db.close();
      port.close();
    }
  });
}
