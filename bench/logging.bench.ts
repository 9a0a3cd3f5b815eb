/**
 * `logging`: what the call log costs the proxy. The same proxy, same config,
 * logging to SQLite (the default) and to memory, driven in the same run by
 * the separate load-generator process, alternating; PostgreSQL too when the
 * local server answers (figures only, no target).
 *
 * `logs-query`: `tokenpak logs --provider mock --limit 50` (and other
 * queries) on a SQLite log of 1,000,000 calls: the query alone, in process,
 * and the whole command, process start to exit.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { runLoad, type LoadResult } from './lib/load.ts';
import { readCpuSeconds } from './lib/processes.ts';
import { rotatedRuns } from './lib/rotation.ts';
import { BENCH_HEADERS, BENCH_REQUEST, startProxyProcess, writeBenchConfig, type RunningServer } from './lib/servers.ts';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult, Table, TargetCheck } from './lib/types.ts';

const exec = promisify(execFile);
const CONCURRENCY = [10, 50] as const;
const DATABASE_URL = process.env.TOKENPAK_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

type Store = 'memory' | 'sqlite' | 'postgres';

function configWithLogs(context: BenchContext, store: Store, schema: string): string {
  const file = join(context.tmpDir, `bench-${store}.config.yaml`);
  const logs = store === 'postgres' ? `logs:\n  store: postgres\n  url: ${DATABASE_URL}\n  schema: ${schema}\n` : `logs:\n  store: ${store}\n`;
  // The recipe's gpt-4 config (writeBenchConfig), with a logs: section.
  writeFileSync(file, `${readFileSync(writeBenchConfig(context.tmpDir), 'utf8')}${logs}`);
  return file;
}

async function postgresReachable(root: string): Promise<boolean> {
  try {
    await exec(process.execPath, ['--input-type=module', '-e', `import pg from 'pg'; const c = new pg.Client(${JSON.stringify(DATABASE_URL)}); await c.connect(); await c.end();`], { cwd: root, timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function dropSchema(root: string, schema: string) {
  await exec(process.execPath, ['--input-type=module', '-e', `import pg from 'pg'; const c = new pg.Client(${JSON.stringify(DATABASE_URL)}); await c.connect(); await c.query('DROP SCHEMA IF EXISTS "${schema}" CASCADE'); await c.end();`], { cwd: root, timeout: 30_000 }).catch(() => {});
}

async function throughput(context: BenchContext): Promise<SectionResult> {
  const plan = context.quick ? { warmupS: 1, runs: 1, durationS: 2 } : { warmupS: 2, runs: 5, durationS: 5 };
  const schema = `tp_bench_${process.pid}_${Date.now().toString(36)}`;
  const stores: Store[] = ['memory', 'sqlite'];
  if (await postgresReachable(context.root)) stores.push('postgres');
  else context.log(`logging: PostgreSQL at ${DATABASE_URL} not reachable; measuring memory and sqlite only`);

  const proxies = new Map<Store, RunningServer>();
  const raw: Record<number, Record<Store, LoadResult[]>> = {};
  // CPU time the proxy process used per answered request: far less sensitive than req/s to
  // other work on a shared machine (PostgreSQL's own work is in its server, not counted).
  const cpuUs: Record<number, Record<Store, number[]>> = {};
  try {
    for (const store of stores) proxies.set(store, await startProxyProcess(context, configWithLogs(context, store, schema)));
    for (const c of CONCURRENCY) {
      context.log(`logging: c=${c}: warm-up ${plan.warmupS} s each, then ${plan.runs} × ${plan.durationS} s each, rotating the order`);
      const runs = await rotatedRuns(stores, plan, async (store, durationS) => {
        const pid = proxies.get(store)!.child.pid;
        const before = readCpuSeconds(pid);
        const result = await runLoad(context.root, { url: `${proxies.get(store)!.url}/v1/messages`, body: BENCH_REQUEST, headers: BENCH_HEADERS, connections: c, durationS });
        return { result, cpuUs: ((readCpuSeconds(pid) - before) * 1e6) / result.requests };
      });
      raw[c] = Object.fromEntries(stores.map((s) => [s, runs[s].map((run) => run.result)])) as Record<Store, LoadResult[]>;
      cpuUs[c] = Object.fromEntries(stores.map((s) => [s, runs[s].map((run) => run.cpuUs)])) as Record<Store, number[]>;
    }
  } finally {
    for (const [store, proxy] of proxies) {
      const code = await proxy.stop();
      if (code !== 0) context.log(`logging: the ${store} proxy exited with ${code} on SIGTERM`);
    }
    if (stores.includes('postgres')) await dropSchema(context.root, schema);
  }

  const rows = CONCURRENCY.map((c) => {
    const rps = (store: Store) => median(raw[c]![store].map((r) => r.rps));
    const p99 = (store: Store) => median(raw[c]![store].map((r) => r.p99Ms));
    const cpu = (store: Store) => median(cpuUs[c]![store]);
    const per = (f: (s: Store) => number) => Object.fromEntries(stores.map((s) => [s, f(s)])) as Record<Store, number>;
    return { c, rps: per(rps), p99: per(p99), cpuUs: per(cpu) };
  });
  const others = stores.filter((s) => s !== 'memory');
  const columns = ['c', ...stores.map((s) => `${s} req/s`), ...others.map((s) => `${s}/memory`), ...stores.map((s) => `${s} p99 ms`), ...stores.map((s) => `${s} CPU µs/req`)];
  const table: Table = {
    title: `Proxy throughput by call-log store (medians of ${plan.runs} × ${plan.durationS} s after a ${plan.warmupS} s warm-up, same run)`,
    columns,
    rows: rows.map((r) => [
      r.c,
      ...stores.map((s) => Math.round(r.rps[s])),
      ...others.map((s) => round(r.rps[s] / r.rps.memory, 3)),
      ...stores.map((s) => round(r.p99[s], 2)),
      ...stores.map((s) => Math.round(r.cpuUs[s])),
    ]),
    notes: [
      'Each proxy is `tokenpak proxy` (built CLI) in its own process and working directory; the mock answers at latency_ms: 0, so logging is a large share of the work.',
      'sqlite: the default store, .tokenpak/calls.db, WAL, batched writes every 100 ms (logs.flush_ms).',
      'CPU µs/req: the proxy process\'s CPU time (user + system) per answered request; memory/sqlite of these is the throughput ratio a CPU-bound proxy would see on a quiet machine.',
      ...(stores.includes('postgres') ? [`postgres: ${DATABASE_URL.replace(/:[^:@/]+@/, ':***@')}, a fresh schema, dropped afterwards.`] : []),
    ],
  };
  const targets: TargetCheck[] = rows.map((r) => {
    const ratio = r.rps.sqlite / r.rps.memory;
    const cpuRatio = r.cpuUs.memory / r.cpuUs.sqlite;
    return {
      name: `throughput c=${r.c}, sqlite/memory`,
      target: '≥ 0.9',
      measured: `${round(ratio, 3)} (${Math.round(r.rps.sqlite)} / ${Math.round(r.rps.memory)} req/s); by CPU per request ${round(cpuRatio, 3)}`,
      pass: ratio >= 0.9,
    };
  });
  return { tables: [table], targets, data: { plan, stores, summary: rows, runs: raw, cpuUsPerRequest: cpuUs } };
}

const MILLION = 1_000_000;

async function logsQuery(context: BenchContext): Promise<SectionResult> {
  const total = context.quick ? 100_000 : MILLION;
  const repeats = context.quick ? 3 : 7;
  const { createCallLogStore } = (await import(pathToFileURL(join(context.root, 'dist/index.js')).href)) as typeof import('../src/index.ts');
  const dir = join(context.tmpDir, 'logs-query');
  const path = join(dir, '.tokenpak/calls.db');

  context.log(`logs-query: writing ${total.toLocaleString('en')} calls through the SQLite store`);
  const settings = { path, schema: 'public', capture_bodies: false, flush_ms: 100, max_rows: 10 * MILLION };
  const store = await createCallLogStore(settings, { defaultStore: 'sqlite' });
  const seedStarted = performance.now();
  const now = Date.now();
  const span = 7 * 86_400_000;
  for (let i = 0; i < total; i++) {
    // 90% answered by the mock, 5% by the mock after an openai 503, 4% by anthropic, 1% failed.
    const kind = i % 100;
    const startedAt = now - span + Math.floor((i / total) * span);
    const model = ['gpt-4', 'gpt-3.5-turbo', 'claude-3-sonnet'][i % 3]!;
    const ok = { providerType: 'mock' as const, model, outcome: 'ok' as const, status: 200, latencyMs: 200 + (i % 50), inputTokens: 12, outputTokens: 40, costCents: 0 };
    const attempts =
      kind < 90 ? [{ provider: 'mock', ...ok }]
      : kind < 95 ? [{ provider: 'openai', providerType: 'openai' as const, model, outcome: 'error' as const, status: 503, errorCode: 'provider_overloaded', errorMessage: 'OpenAI answered 503.', latencyMs: 30, costCents: 0 }, { provider: 'mock', ...ok }]
      : kind < 99 ? [{ ...ok, provider: 'anthropic', providerType: 'anthropic' as const, costCents: 0.42 }]
      : [{ provider: 'mock', providerType: 'mock' as const, model, outcome: 'error' as const, status: 500, errorCode: 'provider_error', errorMessage: 'Injected failure.', latencyMs: 5, costCents: 0 }];
    const answered = attempts.findLast((a) => a.outcome === 'ok');
    store.append({
      id: `seed-${i}`,
      startedAt,
      clientFormat: 'tokenpak',
      model,
      provider: answered?.provider ?? null,
      upstreamModel: answered ? model : null,
      outcome: answered ? 'ok' : 'error',
      status: answered ? 200 : 500,
      latencyMs: attempts.reduce((sum, a) => sum + a.latencyMs, 0),
      inputTokens: answered ? 12 : 0,
      outputTokens: answered ? 40 : 0,
      costCents: answered?.costCents ?? 0,
      stream: i % 10 === 0,
      attempts,
    });
    if (i % 10_000 === 9_999) await store.flush();
  }
  await store.close();
  const seedS = (performance.now() - seedStarted) / 1000;

  const queries: Array<{ label: string; args: string[]; query: Parameters<typeof store.query>[0] }> = [
    { label: 'logs --provider mock --limit 50', args: ['--provider', 'mock', '--limit', '50'], query: { provider: 'mock', limit: 50 } },
    { label: 'logs --provider openai --limit 50', args: ['--provider', 'openai', '--limit', '50'], query: { provider: 'openai', limit: 50 } },
    { label: 'logs --provider nobody', args: ['--provider', 'nobody'], query: { provider: 'nobody', limit: 50 } },
    { label: 'logs (newest 50)', args: [], query: { limit: 50 } },
    { label: 'logs --status error --model gpt-4', args: ['--status', 'error', '--model', 'gpt-4'], query: { outcome: 'error', model: 'gpt-4', limit: 50 } },
    { label: 'logs --provider mock --since 1h', args: ['--provider', 'mock', '--since', '1h'], query: { provider: 'mock', since: now - 3_600_000, limit: 50 } },
  ];

  const reader = await createCallLogStore(settings, { defaultStore: 'sqlite', readOnly: true });
  const bin = join(context.root, 'bin/tokenpak.js');
  const rows: Array<Array<string | number>> = [];
  const data: Record<string, { queryMs: number[]; commandMs: number[] }> = {};
  try {
    for (const q of queries) {
      const queryMs: number[] = [];
      const commandMs: number[] = [];
      await reader.query(q.query); // warm the page cache
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        await reader.query(q.query);
        queryMs.push(performance.now() - t0);
        const t1 = performance.now();
        // As a user runs it beside the proxy: no --config, the default .tokenpak/calls.db.
        await exec(process.execPath, [bin, 'logs', ...q.args], { cwd: dir, maxBuffer: 1 << 24 });
        commandMs.push(performance.now() - t1);
      }
      data[q.label] = { queryMs, commandMs };
      rows.push([q.label, round(median(queryMs), 2), round(median(commandMs), 1), round(Math.max(...commandMs), 1)]);
    }
    const statsMs: number[] = [];
    for (let i = 0; i < Math.min(repeats, 3); i++) {
      const t0 = performance.now();
      await reader.stats({ since: now - 86_400_000 });
      statsMs.push(performance.now() - t0);
    }
    data['stats --since 24h'] = { queryMs: statsMs, commandMs: [] };
    rows.push(['stats --since 24h (query only)', round(median(statsMs), 1), '-', '-']);
  } finally {
    await reader.close();
  }
  const versionMs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await exec(process.execPath, [bin, '--version'], { cwd: dir });
    versionMs.push(performance.now() - t0);
  }
  rows.push(['tokenpak --version (process floor)', '-', round(median(versionMs), 1), round(Math.max(...versionMs), 1)]);

  const headline = data[queries[0]!.label]!;
  const commandMedian = median(headline.commandMs);
  return {
    tables: [
      {
        title: `tokenpak logs on a SQLite log of ${total.toLocaleString('en')} calls (medians of ${repeats}; written in ${round(seedS, 1)} s)`,
        columns: ['command', 'query ms (in process)', 'command ms (spawn to exit)', 'command max ms'],
        rows,
        notes: [
          `Writing through the store (append, batched transactions) took ${round((seedS * 1e6) / total, 1)} µs per call in process, record building included.`,
          '90% mock, 5% openai→mock fallbacks, 4% anthropic, 1% failed; spread over 7 days. The command is run as a user runs it beside the proxy (no --config: the default .tokenpak/calls.db); it includes Node start-up.'],
      },
    ],
    targets: [
      { name: `logs --provider mock --limit 50 on ${total.toLocaleString('en')} calls`, target: '< 200 ms', measured: `${round(commandMedian, 1)} ms (query ${round(median(headline.queryMs), 2)} ms)`, pass: commandMedian < 200 },
    ],
    data: { total, seedS, repeats, queries: data, versionMs },
  };
}

export const sections: BenchSection[] = [
  { name: 'logging', description: 'proxy throughput logging to sqlite vs memory (and postgres when reachable), same run', run: throughput },
  { name: 'logs-query', description: 'tokenpak logs --provider mock --limit 50 on a 1,000,000-call SQLite log', run: logsQuery },
];
