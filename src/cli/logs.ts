import { setTimeout as sleep } from 'node:timers/promises';
import { parseSince } from '../util/time.ts';
import type { CallQuery, CallRecord } from '../logs/types.ts';
import { openLogForReading } from './log-store.ts';
import { parseFlags, UsageError } from './shared.ts';
import { commandHelp } from './help.ts';
import { createTable, type Column } from './table.ts';

/** How often --follow looks for new calls. */
const FOLLOW_POLL_MS = 500;

/** Filters shared by `tokenpak logs` and `tokenpak stats`. */
export function parseSinceFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const since = parseSince(value);
  if (since === undefined) throw new UsageError(`--since must be a duration such as 15m, 2h or 7d, or a time such as 2025-06-01T12:00:00Z, not "${value}".`);
  return since;
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return 50;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number of at least 1, not "${value}".`);
  return limit;
}

function parseStatus(value: string | undefined): 'ok' | 'error' | undefined {
  if (value === undefined || value === 'ok' || value === 'error') return value;
  throw new UsageError(`--status must be "ok" or "error", not "${value}".`);
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Local time, to the millisecond: 2025-06-01 12:00:00.123 */
export function formatTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** Milliseconds as people read them: 0.42 ms, 12 ms, 1.25 s. */
export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** US cents, to at most four decimals. */
export function formatCents(cents: number | null): string {
  if (cents === null) return '?';
  return String(Math.round(cents * 10_000) / 10_000);
}

function attemptsText(record: CallRecord): string {
  return record.attempts.map((a) => (a.outcome === 'ok' ? a.provider : `${a.provider} ✗${a.status}`)).join(' → ') || '-';
}

const columns: Column<CallRecord>[] = [
  { header: 'TIME', value: (r) => formatTime(r.startedAt) },
  { header: 'MODEL', value: (r) => (r.upstreamModel && r.upstreamModel !== r.model ? `${r.model} (${r.upstreamModel})` : r.model) },
  { header: 'PROVIDERS', value: attemptsText },
  { header: 'STATUS', value: (r) => (r.outcome === 'ok' ? String(r.status) : `${r.status} ${r.errorCode ?? 'error'}`) },
  { header: 'LATENCY', value: (r) => formatMs(r.latencyMs), right: true },
  { header: 'TOKENS IN/OUT', value: (r) => `${r.inputTokens}/${r.outputTokens}`, right: true },
  { header: 'COST ¢', value: (r) => formatCents(r.costCents), right: true },
  { header: 'STREAM', value: (r) => (r.stream ? 'yes' : 'no') },
  { header: 'REQUEST ID', value: (r) => r.id },
];

/** A call as one JSON line: the record, with its start time also in ISO form. */
function jsonLine(record: CallRecord): string {
  return JSON.stringify({ time: new Date(record.startedAt).toISOString(), ...record });
}

/** Ends quietly when the reader of our output goes away (`tokenpak logs | head`). */
function exitOnClosedPipe() {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

/** `tokenpak logs`. */
export async function logsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags('logs', args, {
    provider: { type: 'string' },
    model: { type: 'string' },
    status: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string', short: 'n' },
    json: { type: 'boolean', default: false },
    follow: { type: 'boolean', short: 'f', default: false },
    config: { type: 'string', short: 'c' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${commandHelp['logs']}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`logs takes no positional arguments (got "${positionals[0]}"); filter with --provider, --model, --status or --since.`);
  const filters: CallQuery = {};
  if (values.provider !== undefined) filters.provider = values.provider;
  if (values.model !== undefined) filters.model = values.model;
  const status = parseStatus(values.status);
  if (status !== undefined) filters.outcome = status;
  const since = parseSinceFlag(values.since);
  if (since !== undefined) filters.since = since;
  const limit = parseLimit(values.limit);

  exitOnClosedPipe();
  const store = await openLogForReading(values.config);
  const table = createTable(columns);
  let printedHeader = false;
  const print = (records: CallRecord[]) => {
    if (records.length === 0) return;
    const lines = values.json ? records.map(jsonLine) : table.lines(records, { header: !printedHeader });
    printedHeader = true;
    process.stdout.write(`${lines.join('\n')}\n`);
  };

  // A person at a terminal is told what an empty or cut-short listing means; pipes and --json get rows only.
  const hints = !values.json && process.stdout.isTTY === true;
  try {
    // The newest position before the first read: --follow prints what is stored after it.
    const cursorStart = values.follow ? ((await store.query({ afterSeq: 0, limit: 1 }))[0]?.seq ?? 0) : 0;
    // One row more than asked for tells whether more calls match than the limit shows.
    const found = await store.query({ ...filters, limit: limit + 1 });
    const more = found.length > limit;
    const shown = more ? found.slice(found.length - limit) : found;
    print(shown);
    if (hints && shown.length === 0) {
      process.stdout.write(`No calls match${Object.keys(filters).length > 0 ? ' these filters' : ''}${values.follow ? ' yet; waiting for new ones (Ctrl-C stops)' : ''}.\n`);
    } else if (hints && more) {
      process.stdout.write(`More calls match: these are the newest ${limit}. Pass --limit N to see more, or narrow with --since.\n`);
    }
    if (!values.follow) return 0;

    let cursor = cursorStart;
    let stopped = false;
    const stop = () => (stopped = true);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      while (!stopped) {
        await sleep(FOLLOW_POLL_MS);
        // The cursor moves over every stored call, matching or not.
        const newest = (await store.query({ afterSeq: cursor, limit: 1 }))[0]?.seq;
        if (newest === undefined) continue;
        print(await store.query({ ...filters, afterSeq: cursor }).then((records) => records.filter((r) => r.seq! <= newest)));
        cursor = newest;
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return 0;
  } finally {
    await store.close();
  }
}
