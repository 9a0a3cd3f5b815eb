/**
 * Batching for the persistent stores: `append()` only pushes to a buffer
 * (nothing on the request path touches the database); a timer, or a full
 * batch, writes the buffer in one transaction. What a SIGKILL can lose is
 * what the buffer held: at most `flushIntervalMs` worth of calls.
 */
import type { CallRecord } from './types.ts';

export interface BatchWriterOptions {
  /** Most time a call waits in the buffer. */
  flushIntervalMs: number;
  /** A buffer this full is written at once, and a write takes at most this many calls. */
  batchSize: number;
  /** Calls kept while the database cannot be written; the oldest are dropped beyond this. */
  maxBuffered: number;
  /** Writes calls in one transaction; throws (or rejects) if nothing was written. */
  write(batch: CallRecord[]): void | Promise<void>;
  /** Told about write failures and dropped calls. */
  onError(message: string, error?: unknown): void;
}

export interface BatchWriter {
  append(record: CallRecord): void;
  /** Writes everything appended so far. Rejects if the database refuses it. */
  flush(): Promise<void>;
  /** Calls waiting to be written. */
  readonly pending: number;
  /** Empties the buffer and returns what it held (for a last synchronous write at exit). */
  takeAll(): CallRecord[];
  /** Stops the timer and writes what is left. */
  close(): Promise<void>;
}

/**
 * The writer of a persistent store, with the stores' defaults: a call waits
 * at most 100 ms, 1000 calls a transaction, 100 000 kept while the database
 * cannot be written.
 */
export function createStoreWriter(
  options: { flushIntervalMs?: number; batchSize?: number },
  write: BatchWriterOptions['write'],
  onError: BatchWriterOptions['onError'],
): BatchWriter {
  return createBatchWriter({
    flushIntervalMs: options.flushIntervalMs ?? 100,
    batchSize: options.batchSize ?? 1_000,
    maxBuffered: 100_000,
    write,
    onError,
  });
}

export function createBatchWriter(options: BatchWriterOptions): BatchWriter {
  let buffer: CallRecord[] = [];
  let dropped = 0;
  let chain: Promise<void> = Promise.resolve();
  let scheduled = false;
  let closed = false;

  // Writes what was buffered when the flush began (not what arrives meanwhile,
  // so that a flush under steady load ends).
  const drain = async () => {
    let left = buffer.length;
    while (left > 0 && buffer.length > 0) {
      const batch = buffer.length <= options.batchSize ? buffer : buffer.slice(0, options.batchSize);
      buffer = batch === buffer ? [] : buffer.slice(batch.length);
      try {
        await options.write(batch);
        left -= batch.length;
      } catch (error) {
        // Keep the calls for the next attempt, ahead of newer ones.
        buffer = batch.concat(buffer);
        trim();
        throw error;
      }
    }
  };

  const trim = () => {
    const excess = buffer.length - options.maxBuffered;
    if (excess <= 0) return;
    buffer = buffer.slice(excess);
    dropped += excess;
    options.onError(`the call log cannot keep up or cannot be written; ${dropped} call(s) dropped so far`);
  };

  const flush = (): Promise<void> => {
    chain = chain.catch(() => {}).then(drain);
    return chain;
  };

  const background = () => {
    scheduled = false;
    if (buffer.length === 0) return;
    flush().catch((error: unknown) => options.onError(`cannot write the call log (will retry): ${(error as Error)?.message ?? String(error)}`, error));
  };

  const timer = setInterval(background, options.flushIntervalMs);
  timer.unref();

  return {
    append(record) {
      buffer.push(record);
      if (buffer.length > options.maxBuffered) trim();
      if (buffer.length >= options.batchSize && !scheduled && !closed) {
        scheduled = true;
        setImmediate(background);
      }
    },
    flush,
    get pending() {
      return buffer.length;
    },
    takeAll() {
      const all = buffer;
      buffer = [];
      return all;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await flush();
    },
  };
}

/** Reports at most one message per interval (with a count of the ones held back). */
export function rateLimitedWarn(write: (message: string) => void, intervalMs = 10_000): (message: string, error?: unknown) => void {
  let last = 0;
  let held = 0;
  return (message) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      held++;
      return;
    }
    last = now;
    write(`[tokenpak] call log: ${message}${held > 0 ? ` (${held} similar message(s) held back)` : ''}`);
    held = 0;
  };
}
