/**
 * `proxy`: throughput and latency of the real proxy (mock at latency_ms: 0)
 * against a bare node:http server answering the same body, both driven by a
 * separate load-generator process at concurrency 1, 10 and 50.
 */
import { runLoad, type LoadResult } from './lib/load.ts';
import { readCpuSeconds, readMemory } from './lib/processes.ts';
import { BENCH_HEADERS, BENCH_REQUEST, startBareServer, startProxyProcess, writeBenchConfig, type RunningServer } from './lib/servers.ts';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const CONCURRENCY = [1, 10, 50] as const;

/** A load run, with the CPU time the server process used per answered request. */
interface MeasuredRun extends LoadResult {
  serverCpuUsPerRequest: number;
}

interface Summary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
}

function summarize(runs: readonly MeasuredRun[]): Summary {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuUsPerRequest: median(runs.map((r) => r.serverCpuUsPerRequest)),
  };
}

async function run(context: BenchContext): Promise<SectionResult> {
  const plan = context.quick ? { warmupS: 1, runs: 1, durationS: 2 } : { warmupS: 2, runs: 3, durationS: 5 };
  const config = writeBenchConfig(context.tmpDir);
  const proxy = await startProxyProcess(context, config, context.proxyNodeArgs);
  let bare: RunningServer | undefined;
  const raw: Record<number, { bare: MeasuredRun[]; proxy: MeasuredRun[] }> = {};
  let proxyRssBytes = 0;
  let proxyExitCode: number | null = null;
  try {
    bare = await startBareServer(context, proxy.sampleBody);
    const servers = { bare, proxy };
    const load = async (target: 'bare' | 'proxy', connections: number, durationS: number): Promise<MeasuredRun> => {
      const pid = servers[target].child.pid;
      const cpuBefore = readCpuSeconds(pid);
      const result = await runLoad(context.root, { url: `${servers[target].url}/v1/messages`, body: BENCH_REQUEST, headers: BENCH_HEADERS, connections, durationS });
      return { ...result, serverCpuUsPerRequest: ((readCpuSeconds(pid) - cpuBefore) / result.requests) * 1e6 };
    };
    for (const c of CONCURRENCY) {
      context.log(`proxy: c=${c}: warm-up ${plan.warmupS} s each, then ${plan.runs} × ${plan.durationS} s each, alternating`);
      await load('bare', c, plan.warmupS);
      await load('proxy', c, plan.warmupS);
      const runs: { bare: MeasuredRun[]; proxy: MeasuredRun[] } = { bare: [], proxy: [] };
      raw[c] = runs;
      for (let i = 0; i < plan.runs; i++) {
        // Alternate which goes first, so a burst of load from elsewhere on the machine is not always charged to the same side.
        const order = i % 2 === 0 ? (['bare', 'proxy'] as const) : (['proxy', 'bare'] as const);
        for (const target of order) runs[target].push(await load(target, c, plan.durationS));
      }
    }
    proxyRssBytes = readMemory(proxy.child.pid).rssBytes;
  } finally {
    proxyExitCode = await proxy.stop();
    await bare?.stop();
  }
  if (proxyExitCode !== 0) throw new Error(`The proxy exited with code ${proxyExitCode} on SIGTERM (expected 0). Output:\n${proxy.child.output()}`);

  const rows = CONCURRENCY.map((c) => {
    const b = summarize(raw[c]!.bare);
    const p = summarize(raw[c]!.proxy);
    return { c, bare: b, proxy: p, ratio: p.rps / b.rps };
  });
  const at = (c: number) => rows.find((r) => r.c === c)!;
  const ratio50 = at(50).ratio;
  const p50At1 = at(1).proxy.p50Ms;
  return {
    tables: [
      {
        title: `Throughput and latency: proxy vs bare node:http (medians of ${plan.runs} × ${plan.durationS} s after a ${plan.warmupS} s warm-up)`,
        columns: ['c', 'bare req/s', 'proxy req/s', 'proxy/bare', 'bare p50 ms', 'proxy p50 ms', 'bare p99 ms', 'proxy p99 ms', 'bare CPU µs/req', 'proxy CPU µs/req'],
        rows: rows.map((r) => [
          r.c,
          Math.round(r.bare.rps),
          Math.round(r.proxy.rps),
          round(r.ratio, 2),
          round(r.bare.p50Ms, 3),
          round(r.proxy.p50Ms, 3),
          round(r.bare.p99Ms, 3),
          round(r.proxy.p99Ms, 3),
          Math.round(r.bare.cpuUsPerRequest),
          Math.round(r.proxy.cpuUsPerRequest),
        ]),
        notes: [
          `Request: POST /v1/messages ${BENCH_REQUEST} (${BENCH_REQUEST.length} B); bare answers the proxy's own ${proxy.sampleBody.length} B response body.`,
          'CPU µs/req: user + system time of the server process (/proc/<pid>/stat) over the run, per answer; steadier than req/s on a busy machine.',
          `Proxy RSS after this section: ${round(proxyRssBytes / 1e6, 1)} MB.`,
          ...(context.proxyNodeArgs.length > 0 ? [`Proxy node flags: ${context.proxyNodeArgs.join(' ')}`] : []),
        ],
      },
    ],
    targets: [
      { name: 'throughput at c=50, proxy/bare', target: '≥ 0.5', measured: `${round(ratio50, 2)} (${Math.round(at(50).proxy.rps)} / ${Math.round(at(50).bare.rps)} req/s)`, pass: ratio50 >= 0.5 },
      { name: 'proxy p50 latency at c=1', target: '≤ 1 ms', measured: `${round(p50At1, 3)} ms`, pass: p50At1 <= 1 },
    ],
    data: { plan, summary: rows, runs: raw, proxyRssBytes, responseBodyBytes: proxy.sampleBody.length },
  };
}

export const sections: BenchSection[] = [
  { name: 'proxy', description: 'requests/s and p50/p99 latency at c=1, 10, 50: proxy vs a bare node:http server', run },
];
