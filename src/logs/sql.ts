/**
 * What the SQLite and PostgreSQL stores share: the row layout, the queries
 * and the mapping between rows and records. Only the DDL, placeholders and
 * drivers differ.
 *
 * Layout: `calls` holds one row per call (`seq` is its storage position);
 * `attempts` one row per provider attempt, keyed by (`call_seq`, `attempt`).
 * `attempts.first_try` is 1 on the first attempt of each distinct provider
 * in a call, so that the partial index on (`provider`, `call_started_at`,
 * `call_seq`) lists every call that attempted a provider exactly once: that
 * is what answers `tokenpak logs --provider X` on millions of calls.
 */
import { roundCents } from './stats.ts';
import { TokenPakError } from '../errors.ts';
import type { AttemptRecord, CallLogStore, CallQuery, CallRecord, CallStats, StatsQuery, StatsRow } from './types.ts';

/** The current layout. Bump it with a migration in both stores. */
export const SCHEMA_VERSION = 2;

/** How a SQL store spells table names and placeholders. */
export interface Dialect {
  /** Qualified, quoted table names. */
  calls: string;
  attempts: string;
  /** The placeholder of the nth parameter (1-based). */
  param(n: number): string;
  /** A condition "`column` is one of the values in this array parameter". */
  inArray(column: string, param: string): string;
}

/** Columns of `calls`, in insert order (after `seq`). */
export const CALL_COLUMNS = [
  'id', 'started_at', 'client_format', 'model', 'provider', 'upstream_model', 'outcome', 'status', 'error_code',
  'error_message', 'latency_ms', 'ttft_ms', 'input_tokens', 'output_tokens', 'cost_cents', 'stream', 'attempt_count',
  'request_body', 'response_body',
] as const;

/** Columns of `attempts`, in insert order. */
export const ATTEMPT_COLUMNS = [
  'call_seq', 'attempt', 'call_started_at', 'first_try', 'provider', 'provider_type', 'model', 'outcome', 'status',
  'error_code', 'error_message', 'latency_ms', 'ttft_ms', 'input_tokens', 'output_tokens', 'cost_cents', 'wait_ms',
] as const;

export type SqlValue = string | number | null;

/** A body as stored: JSON text; something JSON cannot hold is noted, not fatal. */
function bodyText(body: unknown): string | null {
  if (body === undefined) return null;
  try {
    return JSON.stringify(body) ?? null;
  } catch (error) {
    return JSON.stringify(`[tokenpak: body not stored: ${(error as Error).message}]`);
  }
}

/** The `calls` row of a record, in {@link CALL_COLUMNS} order. */
export function callValues(record: CallRecord): SqlValue[] {
  return [
    record.id,
    record.startedAt,
    record.clientFormat,
    record.model,
    record.provider,
    record.upstreamModel,
    record.outcome,
    record.status,
    record.errorCode ?? null,
    record.errorMessage ?? null,
    record.latencyMs,
    record.ttftMs ?? null,
    record.inputTokens,
    record.outputTokens,
    record.costCents,
    record.stream ? 1 : 0,
    record.attempts.length,
    bodyText(record.requestBody),
    bodyText(record.responseBody),
  ];
}

/** The `attempts` rows of a record stored at `seq`, in {@link ATTEMPT_COLUMNS} order. */
export function attemptValues(record: CallRecord, seq: number): SqlValue[][] {
  const seen = new Set<string>();
  return record.attempts.map((a, i) => {
    const first = !seen.has(a.provider);
    seen.add(a.provider);
    return [
      seq,
      i,
      record.startedAt,
      first ? 1 : 0,
      a.provider,
      a.providerType,
      a.model,
      a.outcome,
      a.status,
      a.errorCode ?? null,
      a.errorMessage ?? null,
      a.latencyMs,
      a.ttftMs ?? null,
      a.inputTokens ?? null,
      a.outputTokens ?? null,
      a.costCents,
      a.waitMs ?? null,
    ];
  });
}

export type Row = Record<string, unknown>;

// PostgreSQL returns BIGINT and NUMERIC as strings.
const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function parseBody(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function rowToAttempt(row: Row): AttemptRecord {
  const attempt: AttemptRecord = {
    provider: row.provider as string,
    providerType: row.provider_type as AttemptRecord['providerType'],
    model: row.model as string,
    outcome: row.outcome as AttemptRecord['outcome'],
    status: num(row.status),
    latencyMs: num(row.latency_ms),
    costCents: numOrNull(row.cost_cents),
  };
  if (row.error_code !== null) attempt.errorCode = row.error_code as string;
  if (row.error_message !== null) attempt.errorMessage = row.error_message as string;
  if (row.ttft_ms !== null) attempt.ttftMs = num(row.ttft_ms);
  if (row.input_tokens !== null) attempt.inputTokens = num(row.input_tokens);
  if (row.output_tokens !== null) attempt.outputTokens = num(row.output_tokens);
  // A log written before schema 2 has no wait_ms column.
  if (row.wait_ms !== null && row.wait_ms !== undefined) attempt.waitMs = num(row.wait_ms);
  return attempt;
}

export function rowToCall(row: Row, attempts: AttemptRecord[]): CallRecord {
  const call: CallRecord = {
    id: row.id as string,
    startedAt: num(row.started_at),
    clientFormat: row.client_format as CallRecord['clientFormat'],
    model: row.model as string,
    provider: (row.provider as string | null) ?? null,
    upstreamModel: (row.upstream_model as string | null) ?? null,
    outcome: row.outcome as CallRecord['outcome'],
    status: num(row.status),
    latencyMs: num(row.latency_ms),
    inputTokens: num(row.input_tokens),
    outputTokens: num(row.output_tokens),
    costCents: numOrNull(row.cost_cents),
    stream: Boolean(num(row.stream)),
    attempts,
    seq: num(row.seq),
  };
  if (row.error_code !== null) call.errorCode = row.error_code as string;
  if (row.error_message !== null) call.errorMessage = row.error_message as string;
  if (row.ttft_ms !== null) call.ttftMs = num(row.ttft_ms);
  if (row.request_body !== null) call.requestBody = parseBody(row.request_body);
  if (row.response_body !== null) call.responseBody = parseBody(row.response_body);
  return call;
}

export interface SqlText {
  text: string;
  params: SqlValue[];
}

/**
 * The `calls` rows a query selects, newest first (the caller reverses them):
 * by start time, or by storage position with `afterSeq`.
 */
export function selectCalls(d: Dialect, query: CallQuery): SqlText {
  const params: SqlValue[] = [];
  const p = (value: SqlValue) => {
    params.push(value);
    return d.param(params.length);
  };
  const where: string[] = [];
  const filters = () => {
    if (query.model !== undefined) where.push(`c.model = ${p(query.model)}`);
    // A literal, not a parameter: the partial index on failed calls applies only to `outcome = 'error'` as written.
    if (query.outcome !== undefined) where.push(query.outcome === 'error' ? "c.outcome = 'error'" : "c.outcome = 'ok'");
  };
  let from: string;
  let order: string;
  if (query.afterSeq !== undefined) {
    // Reading new calls: the primary key range (small) drives the scan.
    from = `${d.calls} c`;
    order = 'c.seq DESC';
    where.push(`c.seq > ${p(query.afterSeq)}`);
    if (query.since !== undefined) where.push(`c.started_at >= ${p(query.since)}`);
    if (query.provider !== undefined) where.push(`EXISTS (SELECT 1 FROM ${d.attempts} a WHERE a.call_seq = c.seq AND a.provider = ${p(query.provider)})`);
    filters();
  } else if (query.provider !== undefined) {
    // The partial index on attempts lists each call of a provider once, newest last.
    from = `${d.attempts} a JOIN ${d.calls} c ON c.seq = a.call_seq`;
    order = 'a.call_started_at DESC, a.call_seq DESC';
    where.push(`a.provider = ${p(query.provider)}`, 'a.first_try = 1');
    if (query.since !== undefined) where.push(`a.call_started_at >= ${p(query.since)}`);
    filters();
  } else {
    from = `${d.calls} c`;
    order = 'c.started_at DESC, c.seq DESC';
    if (query.since !== undefined) where.push(`c.started_at >= ${p(query.since)}`);
    filters();
  }
  // Placeholders in text order: SQLite's `?` are positional.
  const limit = query.limit !== undefined ? ` LIMIT ${p(query.limit)}` : '';
  return { text: `SELECT c.* FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order}${limit}`, params };
}

/** The attempts of a set of calls; its one parameter is the list of their seqs. */
export function selectAttempts(d: Dialect): string {
  return `SELECT * FROM ${d.attempts} WHERE ${d.inArray('call_seq', d.param(1))} ORDER BY call_seq, attempt`;
}

/** Assembles records from call rows (in the order wanted) and their attempt rows. */
export function assembleCalls(callRows: Row[], attemptRows: Row[]): CallRecord[] {
  const bySeq = new Map<number, AttemptRecord[]>();
  for (const row of attemptRows) {
    const seq = num(row.call_seq);
    const list = bySeq.get(seq);
    if (list) list.push(rowToAttempt(row));
    else bySeq.set(seq, [rowToAttempt(row)]);
  }
  return callRows.map((row) => rowToCall(row, bySeq.get(num(row.seq)) ?? []));
}

/**
 * Stats over one level: `calls` grouped by requested model (or not grouped),
 * or `attempts` grouped by provider. Percentiles are nearest-rank: the
 * smallest latency whose rank r satisfies r ≥ p × n (integer arithmetic, so
 * both databases agree without a ceil function).
 */
export function statsSql(d: Dialect, level: 'total' | 'models' | 'providers', query: StatsQuery): SqlText {
  const params: SqlValue[] = [];
  const onAttempts = level === 'providers';
  const table = onAttempts ? d.attempts : d.calls;
  const started = onAttempts ? 'call_started_at' : 'started_at';
  const key = level === 'providers' ? 'provider' : level === 'models' ? 'model' : null;
  const where = query.since !== undefined ? ` WHERE ${started} >= ${(params.push(query.since), d.param(1))}` : '';
  const partition = key ? `PARTITION BY ${key} ` : '';
  const fallback = onAttempts ? 'attempt > 0' : 'attempt_count > 1';
  const inner =
    `SELECT ${key ? `${key} AS name, ` : ''}outcome, ${onAttempts ? 'attempt' : 'attempt_count'}, latency_ms, input_tokens, output_tokens, cost_cents, ` +
    `ROW_NUMBER() OVER (${partition}ORDER BY latency_ms) AS rnk, COUNT(*) OVER (${partition.trim()}) AS cnt FROM ${table}${where}`;
  const text =
    `SELECT ${key ? 'name' : "'*' AS name"}, COUNT(*) AS calls, ` +
    `COUNT(*) FILTER (WHERE outcome = 'error') AS errors, ` +
    `COUNT(*) FILTER (WHERE ${fallback}) AS fallbacks, ` +
    `MIN(latency_ms) FILTER (WHERE 100 * rnk >= 50 * cnt) AS p50, ` +
    `MIN(latency_ms) FILTER (WHERE 100 * rnk >= 95 * cnt) AS p95, ` +
    `COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens, ` +
    `COALESCE(SUM(cost_cents), 0) AS cost_cents, COUNT(*) FILTER (WHERE cost_cents IS NULL) AS unpriced ` +
    `FROM (${inner}) t${key ? ' GROUP BY name' : ''}`;
  return { text, params };
}

function rowToStats(row: Row): StatsRow {
  return {
    name: String(row.name),
    calls: num(row.calls),
    errors: num(row.errors),
    fallbacks: num(row.fallbacks),
    p50LatencyMs: numOrNull(row.p50),
    p95LatencyMs: numOrNull(row.p95),
    inputTokens: num(row.input_tokens),
    outputTokens: num(row.output_tokens),
    costCents: roundCents(num(row.cost_cents)),
    unpriced: num(row.unpriced),
  };
}

/** Puts the three stats results together (names sorted the same way in every store). */
export function assembleStats(total: Row[], providers: Row[], models: Row[]): CallStats {
  const sorted = (rows: Row[]) => rows.map(rowToStats).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { total: rowToStats(total[0]!), providers: sorted(providers), models: sorted(models) };
}

/** How a SQL store runs a read: its driver, synchronous (SQLite) or not. */
export type RunRows = (sql: string, params: unknown[]) => Row[] | Promise<Row[]>;

/**
 * The records a query selects, oldest first. `seqList` turns the selected
 * seqs into the value of the {@link Dialect.inArray} parameter.
 */
export async function queryCalls(d: Dialect, rows: RunRows, seqList: (seqs: unknown[]) => unknown, query: CallQuery): Promise<CallRecord[]> {
  const select = selectCalls(d, query);
  const calls = (await rows(select.text, select.params)).reverse();
  if (calls.length === 0) return [];
  const attempts = await rows(selectAttempts(d), [seqList(calls.map((r) => r.seq))]);
  return assembleCalls(calls, attempts);
}

/** A failure of the call log itself (`log_store_error`). */
export function storeError(message: string, cause?: unknown): TokenPakError {
  return new TokenPakError('log_store_error', message, cause === undefined ? {} : { cause });
}

/**
 * The read side every SQL store offers, the same for SQLite and PostgreSQL: `query` and
 * `stats`, refused once the store is closed.
 */
export function sqlReaders(d: Dialect, rows: RunRows, seqList: (seqs: unknown[]) => unknown, isOpen: () => boolean): Pick<CallLogStore, 'query' | 'stats'> {
  const closed = () => storeError('The call log is closed.');
  return {
    async query(query = {}) {
      if (!isOpen()) throw closed();
      return queryCalls(d, rows, seqList, query);
    },
    async stats(query = {}) {
      if (!isOpen()) throw closed();
      return queryStats(d, rows, query);
    },
  };
}

/** The stats of a query: total, by provider and by requested model. */
export async function queryStats(d: Dialect, rows: RunRows, query: StatsQuery): Promise<CallStats> {
  const run = (level: 'total' | 'models' | 'providers') => {
    const sql = statsSql(d, level, query);
    return rows(sql.text, sql.params);
  };
  const [total, providers, models] = await Promise.all([run('total'), run('providers'), run('models')]);
  return assembleStats(total, providers, models);
}

/** Calls removed per retention step, so that pruning never holds the store (or the event loop) long. */
const PRUNE_CHUNK = 2_000;

export interface RetentionOptions {
  maxRows?: number;
  maxAgeMs?: number;
  /** How often retention runs (default 60 s). */
  pruneIntervalMs?: number;
}

export interface Retention {
  /** Runs retention now (one run at a time); resolves with the calls removed. */
  prune(): Promise<number>;
  /** Runs retention a second after this and then every interval, when a limit is set. */
  start(warn: (message: string) => void): void;
  /** Stops the timers. */
  stop(): void;
  /** Resolves when no run is in progress (a failed run included). */
  settled(): Promise<void>;
}

/**
 * Retention over `calls` by age, then by count. `remove` deletes calls and
 * their attempts by seq in one transaction; `active` is false once the store
 * is closed (or read-only), which ends a run between steps.
 */
export function createRetention(
  d: Dialect,
  options: RetentionOptions,
  store: { rows: RunRows; remove(seqs: number[]): void | Promise<void>; active(): boolean },
): Retention {
  let pruning: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let first: NodeJS.Timeout | undefined;
  const seqsOf = async (sql: string, params: unknown[]) => (await store.rows(sql, params)).map((r) => num(r.seq));
  const prune = (): Promise<number> => {
    if (!store.active()) return Promise.resolve(0);
    pruning ??= (async () => {
      let removed = 0;
      try {
        if (options.maxAgeMs !== undefined) {
          const cutoff = Date.now() - options.maxAgeMs;
          for (;;) {
            const seqs = await seqsOf(`SELECT seq FROM ${d.calls} WHERE started_at < ${d.param(1)} ORDER BY started_at LIMIT ${d.param(2)}`, [cutoff, PRUNE_CHUNK]);
            if (seqs.length === 0 || !store.active()) break;
            await store.remove(seqs);
            removed += seqs.length;
          }
        }
        if (options.maxRows !== undefined) {
          // The seq span bounds the count from above: count exactly only when it might be over.
          const span = (await store.rows(`SELECT MAX(seq) - MIN(seq) + 1 AS span FROM ${d.calls}`, []))[0]!.span;
          if (span !== null && num(span) > options.maxRows) {
            let excess = num((await store.rows(`SELECT COUNT(*) AS n FROM ${d.calls}`, []))[0]!.n) - options.maxRows;
            while (excess > 0 && store.active()) {
              const seqs = await seqsOf(`SELECT seq FROM ${d.calls} ORDER BY seq LIMIT ${d.param(1)}`, [Math.min(excess, PRUNE_CHUNK)]);
              if (seqs.length === 0) break;
              await store.remove(seqs);
              removed += seqs.length;
              excess -= seqs.length;
            }
          }
        }
      } finally {
        pruning = undefined;
      }
      return removed;
    })();
    return pruning;
  };
  return {
    prune,
    start(warn) {
      if (options.maxRows === undefined && options.maxAgeMs === undefined) return;
      const tick = () => prune().catch((error: unknown) => warn(`retention failed: ${(error as Error).message}`));
      first = setTimeout(tick, 1_000).unref();
      timer = setInterval(tick, options.pruneIntervalMs ?? 60_000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      clearTimeout(first);
    },
    async settled() {
      await pruning?.catch(() => {});
    },
  };
}
