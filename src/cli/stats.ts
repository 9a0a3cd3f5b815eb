import type { StatsRow } from '../logs/types.ts';
import { formatCents, formatMs, formatTime, parseSinceFlag } from './logs.ts';
import { openLogForReading } from './log-store.ts';
import { parseFlags, UsageError } from './shared.ts';
import { commandHelp } from './help.ts';
import { createTable, type Column } from './table.ts';

function columns(first: string, count: string): Column<StatsRow>[] {
  return [
    { header: first, value: (r) => (r.name === '*' ? 'all' : r.name) },
    { header: count, value: (r) => String(r.calls), right: true },
    { header: 'ERRORS', value: (r) => String(r.errors), right: true },
    { header: 'FALLBACKS', value: (r) => String(r.fallbacks), right: true },
    { header: 'P50', value: (r) => formatMs(r.p50LatencyMs), right: true },
    { header: 'P95', value: (r) => formatMs(r.p95LatencyMs), right: true },
    { header: 'TOKENS IN', value: (r) => String(r.inputTokens), right: true },
    { header: 'TOKENS OUT', value: (r) => String(r.outputTokens), right: true },
    { header: 'COST ¢', value: (r) => formatCents(r.costCents) + (r.unpriced > 0 ? ` (+${r.unpriced} unpriced)` : ''), right: true },
  ];
}

/** `tokenpak stats`. */
export async function statsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags('stats', args, {
    since: { type: 'string' },
    json: { type: 'boolean', default: false },
    config: { type: 'string', short: 'c' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${commandHelp['stats']}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`stats takes no positional arguments (got "${positionals[0]}"); choose a window with --since.`);
  const since = parseSinceFlag(values.since);

  const store = await openLogForReading(values.config);
  try {
    const stats = await store.stats(since !== undefined ? { since } : {});
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ since: since !== undefined ? new Date(since).toISOString() : null, ...stats })}\n`);
      return 0;
    }
    const window = since !== undefined ? `since ${formatTime(since)}` : 'all logged calls';
    const out = [`Calls: ${window}`, '', createTable(columns('TOTAL', 'CALLS')).lines([stats.total], { header: true }).join('\n')];
    if (stats.providers.length > 0) out.push('', createTable(columns('PROVIDER', 'ATTEMPTS')).lines(stats.providers, { header: true }).join('\n'));
    if (stats.models.length > 0) out.push('', createTable(columns('MODEL', 'CALLS')).lines(stats.models, { header: true }).join('\n'));
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
