/**
 * `tracing`: what OpenTelemetry traces (and traces with Prometheus metrics) add
 * on the gateway path. Three built `tokenpak proxy` processes in front of the
 * same zero-latency fake OpenAI: without either, with `telemetry:` (spans to an
 * OTLP/HTTP sink, a bare node:http process answering 200), and with
 * `telemetry:` and `metrics:`. One connection (the p50 a single caller sees)
 * from a separate load-generator process; runs rotate the order, and the added
 * p50 is the median of each round's difference to the proxy without either.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GC_TRACE_FLAG, meterProcess, perRequest, type GcMeter } from './lib/gc-meter.ts';
import { runLoad, type LoadResult } from './lib/load.ts';
import { freePort, httpCall, spawnNode } from './lib/processes.ts';
import { proxyArgs, proxyWorkDir, shebangFlags, startBareServer, type RunningServer } from './lib/servers.ts';
import { rotatedRuns } from './lib/rotation.ts';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const VARIANTS = ['plain', 'traces', 'traces+metrics'] as const;
type Variant = (typeof VARIANTS)[number];
const API_KEY = 'sk-bench-0000000000000000';
const REQUEST = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
const HEADERS = { 'content-type': 'application/json' };

interface MeasuredRun extends LoadResult {
  cpuUsPerRequest: number;
}

async function run(context: BenchContext): Promise<SectionResult> {
  const plan = context.quick ? { warmupS: 1, runs: 1, durationS: 2 } : { warmupS: 2, runs: 5, durationS: 4 };
  const upstreamBody = readFileSync(join(context.root, 'test/fixtures/upstream/openai-chat-text.json'), 'utf8').replace(/\s*\n\s*/g, '');
  const nodeFlags = shebangFlags(join(context.packageDir, 'bin/tokenpak.js'));
  const proxies: Partial<Record<Variant, RunningServer>> = {};
  const meters: Partial<Record<Variant, GcMeter>> = {};
  const runs: Record<Variant, MeasuredRun[]> = { plain: [], traces: [], 'traces+metrics': [] };
  let upstream: RunningServer | undefined;
  let sink: RunningServer | undefined;
  try {
    upstream = await startBareServer(context, upstreamBody, nodeFlags);
    // The collector: accepts every export at once, as a local OpenTelemetry Collector would.
    sink = await startBareServer(context, '{}', nodeFlags);
    const extra: Record<Variant, string> = {
      plain: '',
      traces: `telemetry:\n  endpoint: ${sink.url}/v1/traces\n`,
      'traces+metrics': `telemetry:\n  endpoint: ${sink.url}/v1/traces\nmetrics: {}\n`,
    };
    for (const variant of VARIANTS) {
      const config = join(context.tmpDir, `tracing-${variant}.yaml`);
      writeFileSync(config, `providers:\n  openai:\n    type: openai\n    api_key: ${API_KEY}\n    base_url: ${upstream.url}/v1\nmodels:\n  gpt-4: { provider: openai }\n${extra[variant]}`);
      const port = await freePort();
      const child = spawnNode(proxyArgs(context, config, port, [...context.proxyNodeArgs, GC_TRACE_FLAG]), { cwd: proxyWorkDir(context) });
      proxies[variant] = { url: `http://127.0.0.1:${port}`, child, stop: () => child.stop() };
      await child.waitForLine(/listening on/, 10_000);
      const first = await httpCall(`${proxies[variant].url}/v1/chat/completions`, { method: 'POST', body: REQUEST, headers: HEADERS });
      if (first.status !== 200) throw new Error(`tokenpak (${variant}) answered ${first.status}: ${first.body.slice(0, 300)}`);
      meters[variant] = meterProcess(child);
    }
    const load = async (variant: Variant, durationS: number): Promise<MeasuredRun> => {
      const before = meters[variant]!.read();
      const result = await runLoad(context.root, { url: `${proxies[variant]!.url}/v1/chat/completions`, body: REQUEST, headers: HEADERS, connections: 1, durationS });
      return { ...result, cpuUsPerRequest: perRequest(before, meters[variant]!.read(), result.requests).cpuUsPerRequest };
    };
    context.log(`tracing: warm-up ${plan.warmupS} s each, then ${plan.runs} × ${plan.durationS} s each at c=1, rotating the order`);
    Object.assign(runs, await rotatedRuns(VARIANTS, plan, load));
  } finally {
    for (const meter of Object.values(meters)) meter.stop();
    for (const variant of VARIANTS) {
      const code = await proxies[variant]?.stop();
      if (code !== undefined && code !== 0) throw new Error(`tokenpak (${variant}) exited with code ${code} on SIGTERM. Output:\n${proxies[variant]?.child.output()}`);
    }
    await upstream?.stop();
    await sink?.stop();
  }

  const added = (variant: Variant, pick: (r: MeasuredRun) => number) => median(runs[variant].map((r, i) => pick(r) - pick(runs.plain[i]!)));
  const addedP50Us = { traces: added('traces', (r) => r.p50Ms) * 1000, both: added('traces+metrics', (r) => r.p50Ms) * 1000 };
  const addedCpuUs = { traces: added('traces', (r) => r.cpuUsPerRequest), both: added('traces+metrics', (r) => r.cpuUsPerRequest) };
  const row = (variant: Variant, p50Us: number | undefined, cpuUs: number | undefined) => [
    variant,
    Math.round(median(runs[variant].map((r) => r.rps))),
    round(median(runs[variant].map((r) => r.p50Ms)), 3),
    round(median(runs[variant].map((r) => r.p99Ms)), 3),
    Math.round(median(runs[variant].map((r) => r.cpuUsPerRequest))),
    p50Us === undefined ? '' : Math.round(p50Us),
    cpuUs === undefined ? '' : Math.round(cpuUs),
  ];
  return {
    tables: [
      {
        title: `Tracing on the gateway path: c=1, zero-latency fake OpenAI (medians of ${plan.runs} × ${plan.durationS} s after a ${plan.warmupS} s warm-up, order rotated)`,
        columns: ['proxy', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'added p50 µs', 'added CPU µs/req'],
        rows: [row('plain', undefined, undefined), row('traces', addedP50Us.traces, addedCpuUs.traces), row('traces+metrics', addedP50Us.both, addedCpuUs.both)],
        notes: [
          'added: the median over rounds of (this proxy − the plain proxy) in the same round; the three run back to back.',
          'traces: telemetry.endpoint to a bare node:http sink answering 200 (batches every 5 s); metrics: `metrics: {}` (served on the proxy port, not scraped during the runs).',
        ],
      },
    ],
    targets: [{ name: 'added p50, metrics + traces (gateway, c=1)', target: '< 50 µs', measured: `${Math.round(addedP50Us.both)} µs`, pass: addedP50Us.both < 50 }],
    data: { runs, addedP50Us, addedCpuUs },
  };
}

export const sections: BenchSection[] = [{ name: 'tracing', description: 'p50 and CPU added by traces, and by traces with metrics, on the gateway path (c=1)', run }];
