/**
 * `cold-start`: from spawning `tokenpak proxy` to its first 200 on
 * /v1/messages, median of 5; the same for a bare node:http server as the floor.
 */
import { freePort } from './lib/processes.ts';
import { bareArgs, proxyArgs, proxyWorkDir, timeToFirst200, writeBenchConfig } from './lib/servers.ts';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const RUNS = 5;

async function run(context: BenchContext): Promise<SectionResult> {
  const config = writeBenchConfig(context.tmpDir);
  const proxyMs: number[] = [];
  const bareMs: number[] = [];
  const proxyCpuMs: number[] = [];
  const bareCpuMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    context.log(`cold-start: run ${i + 1}/${RUNS}`);
    const port = await freePort();
    // A fresh working directory each time: the run includes creating the call log, as on a first start.
    const proxy = await timeToFirst200(proxyArgs(context, config, port), port, { cwd: proxyWorkDir(context) });
    if (proxy.exitCode !== 0) throw new Error(`tokenpak proxy exited with code ${proxy.exitCode} on SIGTERM (expected 0).`);
    proxyMs.push(proxy.ms);
    proxyCpuMs.push(proxy.cpuMs);
    const barePort = await freePort();
    const bare = await timeToFirst200(bareArgs, barePort, { cwd: context.tmpDir, env: { ...process.env, BENCH_BARE_PORT: String(barePort) } });
    bareMs.push(bare.ms);
    bareCpuMs.push(bare.cpuMs);
  }
  const proxyMedian = median(proxyMs);
  const bareMedian = median(bareMs);
  return {
    tables: [
      {
        title: `Cold start: process spawn to first 200 on POST /v1/messages (${RUNS} runs)`,
        columns: ['server', 'median ms', 'min ms', 'max ms', 'runs ms', 'CPU ms (median)'],
        rows: [
          ['tokenpak proxy', round(proxyMedian, 1), round(Math.min(...proxyMs), 1), round(Math.max(...proxyMs), 1), proxyMs.map((v) => Math.round(v)).join(', '), Math.round(median(proxyCpuMs))],
          ['bare node:http', round(bareMedian, 1), round(Math.min(...bareMs), 1), round(Math.max(...bareMs), 1), bareMs.map((v) => Math.round(v)).join(', '), Math.round(median(bareCpuMs))],
        ],
        notes: [
          'Polled every 2 ms on fresh connections; includes node start-up, config load, opening a new SQLite call log and the first request.',
          'CPU ms: user + system time the process had used at its first 200 (10 ms ticks); steadier than wall time on a busy machine.',
        ],
      },
    ],
    targets: [{ name: 'cold start, median of 5', target: '≤ 300 ms', measured: `${round(proxyMedian, 1)} ms`, pass: proxyMedian <= 300 }],
    data: { proxyMs, bareMs, proxyCpuMs, bareCpuMs, proxyMedianMs: proxyMedian, bareMedianMs: bareMedian },
  };
}

export const sections: BenchSection[] = [
  { name: 'cold-start', description: 'process start to first 200 on /v1/messages, median of 5 (proxy and bare node:http)', run },
];
