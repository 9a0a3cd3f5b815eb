/**
 * `limits`: what rate limits cost the proxy. The same proxy and request,
 * without limits, with limits counted in memory, and with limits counted in
 * Redis (`state: {redis}`), driven in the same run by the separate
 * load-generator process, alternating. The limits (requests and tokens per
 * minute on the model) are far above the load, so that every request is
 * admitted: what is measured is the check before the call and the count
 * after it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runLoad, type LoadResult } from './lib/load.ts';
import { readCpuSeconds } from './lib/processes.ts';
import { rotatedRuns } from './lib/rotation.ts';
import { BENCH_HEADERS, BENCH_REQUEST, startProxyProcess, writeSectionConfig, type RunningServer } from './lib/servers.ts';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult, Table } from './lib/types.ts';

const exec = promisify(execFile);
const REDIS_URL = process.env.TOKENPAK_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONNECTIONS = 10;

type Variant = 'none' | 'memory' | 'redis';

async function redisReachable(root: string): Promise<boolean> {
  try {
    await exec(process.execPath, ['--input-type=module', '-e', `import { createClient } from 'redis'; const c = await createClient({ url: ${JSON.stringify(REDIS_URL)} }).connect(); await c.close();`], { cwd: root, timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function deletePrefix(root: string, prefix: string) {
  const script = `import { createClient } from 'redis'; const c = await createClient({ url: ${JSON.stringify(REDIS_URL)} }).connect();
for await (const keys of c.scanIterator({ MATCH: ${JSON.stringify(`${prefix}:*`)}, COUNT: 500 })) if (keys.length) await c.del(keys);
await c.close();`;
  await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 30_000 }).catch(() => {});
}

async function overhead(context: BenchContext): Promise<SectionResult> {
  const plan = context.quick ? { warmupS: 1, runs: 1, durationS: 2 } : { warmupS: 2, runs: 3, durationS: 4 };
  const prefix = `tokenpak-bench:${process.pid}:${Date.now().toString(36)}`;
  const variants: Variant[] = ['none', 'memory'];
  if (await redisReachable(context.root)) variants.push('redis');
  else context.log(`limits: Redis at ${REDIS_URL} not reachable; measuring without limits and in memory only`);
  const limits = { requests_per_minute: 100_000_000, tokens_per_minute: 1_000_000_000 };
  const config = (variant: Variant) =>
    writeSectionConfig(context.tmpDir, `limits-${variant}`, {
      mock: { latency_ms: 0 },
      models: { 'gpt-4': { provider: 'mock', ...(variant === 'none' ? {} : { limits }) } },
      // The SQLite call log is the same in every variant; memory keeps it off the disk.
      logs: { store: 'memory' },
      ...(variant === 'redis' ? { state: { redis: REDIS_URL, prefix } } : {}),
    });

  const proxies = new Map<Variant, RunningServer>();
  let runs: Record<Variant, Array<LoadResult & { cpuUs: number }>>;
  try {
    for (const variant of variants) proxies.set(variant, await startProxyProcess(context, config(variant), context.proxyNodeArgs));
    context.log(`limits: warm-up ${plan.warmupS} s each, then ${plan.runs} × ${plan.durationS} s each, rotating the order`);
    runs = await rotatedRuns(variants, plan, async (variant, durationS) => {
      const pid = proxies.get(variant)!.child.pid;
      const before = readCpuSeconds(pid);
      const result = await runLoad(context.root, { url: `${proxies.get(variant)!.url}/v1/messages`, body: BENCH_REQUEST, headers: BENCH_HEADERS, connections: CONNECTIONS, durationS });
      if (result.non200 > 0) throw new Error(`limits: ${result.non200} answers were not 200 with ${variant}: the limits must admit every request`);
      return { ...result, cpuUs: ((readCpuSeconds(pid) - before) * 1e6) / result.requests };
    });
  } finally {
    for (const [variant, proxy] of proxies) {
      const code = await proxy.stop();
      if (code !== 0) context.log(`limits: the ${variant} proxy exited with ${code} on SIGTERM`);
    }
    if (variants.includes('redis')) await deletePrefix(context.root, prefix);
  }

  const summary = Object.fromEntries(
    variants.map((v) => [v, { rps: median(runs[v].map((r) => r.rps)), p50Ms: median(runs[v].map((r) => r.p50Ms)), p99Ms: median(runs[v].map((r) => r.p99Ms)), cpuUs: median(runs[v].map((r) => r.cpuUs)) }]),
  ) as Record<Variant, { rps: number; p50Ms: number; p99Ms: number; cpuUs: number }>;
  const table: Table = {
    title: `Proxy with and without limits, c=${CONNECTIONS} (medians of ${plan.runs} × ${plan.durationS} s after a ${plan.warmupS} s warm-up, same run)`,
    columns: ['limits', 'req/s', 'vs none', 'p50 ms', 'p99 ms', 'CPU µs/req', 'added CPU µs/req'],
    rows: variants.map((v) => [
      v,
      Math.round(summary[v].rps),
      round(summary[v].rps / summary.none.rps, 3),
      round(summary[v].p50Ms, 2),
      round(summary[v].p99Ms, 2),
      Math.round(summary[v].cpuUs),
      Math.round(summary[v].cpuUs - summary.none.cpuUs),
    ]),
    notes: [
      'Each proxy is `tokenpak proxy` (built CLI) in its own process; the mock answers at latency_ms: 0 and the call log is in memory, so the limits are a large share of the work.',
      'memory/redis: models.gpt-4.limits {requests_per_minute, tokens_per_minute}, far above the load: one check before each call (requests counted), one count after it (tokens).',
      `redis: ${REDIS_URL}, one Lua script per check and per count; Redis's own CPU is not in the proxy's CPU µs/req.`,
    ],
  };
  return { tables: [table], targets: [], data: { plan, variants, summary, runs, cpuUsPerRequest: Object.fromEntries(variants.map((v) => [v, runs[v].map((r) => r.cpuUs)])) } };
}

export const sections: BenchSection[] = [
  { name: 'limits', description: 'rate limits in memory and in Redis against none: throughput and CPU per request', run: overhead },
];
