/**
 * `ops-overhead`: what Prometheus metrics and OpenTelemetry traces add to a
 * call on the gateway path. Three built `tokenpak proxy` processes with the
 * same config (openai provider in front of a zero-latency fake OpenAI, SQLite
 * call log): plain, with `metrics: {}`, and with metrics plus `telemetry:`
 * (spans exported to a bare OTLP sink). Driven in the same run, order rotated,
 * by the separate load generator; the added p50 is the median of each run's
 * difference to the plain proxy measured right beside it. Also each proxy's
 * CPU time and heap allocation per request, and, in this process, the cost of
 * the observers' hooks alone per call (no HTTP, no scheduling noise).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GC_TRACE_FLAG, meterProcess, perRequest, type GcMeter } from './lib/gc-meter.ts';
import { runLoad, type LoadResult } from './lib/load.ts';
import { freePort, httpCall, poll, spawnNode } from './lib/processes.ts';
import { proxyArgs, proxyWorkDir, startBareServer, type RunningServer } from './lib/servers.ts';
import { rotatedRuns } from './lib/rotation.ts';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const VARIANTS = ['plain', 'metrics', 'metrics+traces'] as const;
type Variant = (typeof VARIANTS)[number];
const CONCURRENCY = [1, 10] as const;
const API_KEY = 'sk-bench-0000000000000000';
const REQUEST = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
const HEADERS = { 'content-type': 'application/json' };
/** The target for the added p50 of metrics plus tracing. */
const TARGET_US = 50;

interface MeasuredRun extends LoadResult {
  cpuUsPerRequest: number;
  allocatedBytesPerRequest: number;
  promotedBytesPerRequest: number;
  collections: number;
}

/** Nanoseconds per call of an observer's hooks (start, one attempt, end), median of `rounds`. */
async function hookCost(context: BenchContext, rounds: number, calls: number, sinkUrl: string): Promise<Record<'metrics' | 'traces', number>> {
  const src = (path: string) => import(pathToFileURL(join(context.root, 'src', path)).href);
  const { createMetrics } = (await src('metrics/metrics.ts')) as typeof import('../src/metrics/metrics.ts');
  const { createTraceObserver } = (await src('telemetry/tracer.ts')) as typeof import('../src/telemetry/tracer.ts');
  const metrics = createMetrics({ providers: () => [] });
  const config = { providers: { openai: { type: 'openai', base_url: 'http://127.0.0.1:9/v1' } } } as never;
  const traces = await createTraceObserver({ settings: { endpoint: `${sinkUrl}/v1/traces`, headers: undefined, serviceName: 'bench' }, config: () => config });
  const usage = { inputTokens: 26, outputTokens: 15 };
  const attempt = { provider: 'openai', providerType: 'openai', model: 'gpt-4', outcome: 'ok' as const, status: 200, latencyMs: 0.4, ...usage, costCents: 0.0168 };
  const time = (observer: typeof metrics.observer): number => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) {
      const call = { requestId: `r${i}`, startedAt: Date.now(), started: performance.now(), clientFormat: 'openai-chat' as const, model: 'gpt-4', route: 'gpt-4', stream: false, headers: undefined, client: undefined };
      const watch = observer.onCallStart(call)!;
      watch.onAttemptStart?.({ provider: 'openai', providerType: 'openai', model: 'gpt-4', index: 0, started: call.started });
      watch.onAttemptEnd?.(attempt, 0);
      const record = { id: call.requestId, startedAt: call.startedAt, clientFormat: call.clientFormat, model: 'gpt-4', provider: 'openai', upstreamModel: 'gpt-4', outcome: 'ok' as const, status: 200, latencyMs: 0.5, ...usage, costCents: 0.0168, stream: false, attempts: [attempt] };
      watch.onCallEnd?.(record, { latencyMs: 0.5, ttftMs: undefined, upstreamMs: 0.4 }, { model: 'gpt-4-0613', stopReason: 'stop' });
    }
    return Number(process.hrtime.bigint() - started) / calls;
  };
  const results = { metrics: [] as number[], traces: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    results.metrics.push(time(metrics.observer));
    results.traces.push(time(traces));
  }
  await traces.shutdown().catch(() => {});
  return { metrics: median(results.metrics), traces: median(results.traces) };
}

async function run(context: BenchContext): Promise<SectionResult> {
  const plan = context.quick ? { warmupS: 1, runs: 1, durationS: 1 } : { warmupS: 2, runs: 5, durationS: 3 };
  const upstreamBody = readFileSync(join(context.root, 'test/fixtures/upstream/openai-chat-text.json'), 'utf8').replace(/\s*\n\s*/g, '');
  const servers: Partial<Record<Variant | 'upstream' | 'sink', RunningServer>> = {};
  const meters: Partial<Record<Variant, GcMeter>> = {};
  const raw: Record<number, Record<Variant, MeasuredRun[]>> = {};
  let hooks: Record<'metrics' | 'traces', number>;
  try {
    servers.upstream = await startBareServer(context, upstreamBody);
    // The OTLP receiver: answers every export with 200 {} at once.
    servers.sink = await startBareServer(context, '{}');
    const base = `providers:\n  openai:\n    type: openai\n    api_key: ${API_KEY}\n    base_url: ${servers.upstream.url}/v1\nmodels:\n  gpt-4: { provider: openai }\n`;
    const extra: Record<Variant, string> = {
      plain: '',
      metrics: 'metrics: {}\n',
      'metrics+traces': `metrics: {}\ntelemetry:\n  endpoint: ${servers.sink.url}/v1/traces\n`,
    };
    for (const variant of VARIANTS) {
      const file = join(context.tmpDir, `ops-${variant.replace('+', '-')}.config.yaml`);
      writeFileSync(file, base + extra[variant]);
      const port = await freePort();
      const child = spawnNode(proxyArgs(context, file, port, [...context.proxyNodeArgs, GC_TRACE_FLAG]), { cwd: proxyWorkDir(context), env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' } });
      servers[variant] = { url: `http://127.0.0.1:${port}`, child, stop: () => child.stop() };
      await child.waitForLine(/listening on/, 15_000);
      if (variant !== 'plain' && !child.output().includes('metrics:')) throw new Error(`${variant}: the proxy did not say it serves metrics:\n${child.output()}`);
      if (variant === 'metrics+traces' && !child.output().includes('traces:')) throw new Error(`${variant}: the proxy did not say it sends traces:\n${child.output()}`);
      await poll(
        async () => {
          const res = await httpCall(`${servers[variant]!.url}/v1/chat/completions`, { method: 'POST', body: REQUEST, headers: HEADERS, timeoutMs: 2_000 });
          if (res.status !== 200) throw new Error(`${variant} answered ${res.status}: ${res.body.slice(0, 300)}`);
          return true;
        },
        { maxAttempts: 100, intervalMs: 50, what: `${variant} answering` },
      );
      meters[variant] = meterProcess(child);
    }
    const load = async (variant: Variant, connections: number, durationS: number): Promise<MeasuredRun> => {
      const before = meters[variant]!.read();
      const result = await runLoad(context.root, { url: `${servers[variant]!.url}/v1/chat/completions`, body: REQUEST, headers: HEADERS, connections, durationS });
      return { ...result, ...perRequest(before, meters[variant]!.read(), result.requests) };
    };
    for (const c of CONCURRENCY) {
      context.log(`ops-overhead: c=${c}: warm-up ${plan.warmupS} s each, then ${plan.runs} × ${plan.durationS} s each, rotating the order`);
      raw[c] = await rotatedRuns(VARIANTS, plan, (variant, durationS) => load(variant, c, durationS));
    }
    // The scrape must show the traffic: the metrics proxy really counted it.
    const scrape = await httpCall(`${servers.metrics!.url}/metrics`);
    const counted = Number(/tokenpak_requests_total\{model="gpt-4",provider="openai",outcome="ok"\} (\d+)/.exec(scrape.body)?.[1] ?? NaN);
    if (!(counted > 0)) throw new Error(`The metrics proxy's /metrics shows no requests:\n${scrape.body.slice(0, 500)}`);
    context.log('ops-overhead: the observers\' hooks alone, in this process');
    hooks = await hookCost(context, context.quick ? 3 : 7, context.quick ? 20_000 : 100_000, servers.sink.url);
  } finally {
    for (const meter of Object.values(meters)) meter.stop();
    for (const server of Object.values(servers)) await server.stop();
  }

  const rows = CONCURRENCY.flatMap((c) =>
    VARIANTS.map((variant) => {
      const runs = raw[c]![variant];
      const plain = raw[c]!.plain;
      return {
        c,
        variant,
        rps: median(runs.map((r) => r.rps)),
        p50Ms: median(runs.map((r) => r.p50Ms)),
        addedP50Us: median(runs.map((r, i) => (r.p50Ms - plain[i]!.p50Ms) * 1000)),
        cpuUs: median(runs.map((r) => r.cpuUsPerRequest)),
        addedCpuUs: median(runs.map((r, i) => r.cpuUsPerRequest - plain[i]!.cpuUsPerRequest)),
        allocKb: median(runs.map((r) => r.allocatedBytesPerRequest)) / 1024,
      };
    }),
  );
  const at = (c: number, variant: Variant) => rows.find((r) => r.c === c && r.variant === variant)!;
  return {
    tables: [
      {
        title: `Ops overhead: plain vs metrics vs metrics + traces on the gateway path (medians of ${plan.runs} × ${plan.durationS} s after a ${plan.warmupS} s warm-up, order rotated)`,
        columns: ['c', 'proxy', 'req/s', 'p50 ms', 'added p50 µs', 'CPU µs/req', 'added CPU µs/req', 'heap KB/req'],
        rows: rows.map((r) => [r.c, r.variant, Math.round(r.rps), round(r.p50Ms, 3), r.variant === 'plain' ? '' : Math.round(r.addedP50Us), Math.round(r.cpuUs), r.variant === 'plain' ? '' : Math.round(r.addedCpuUs), round(r.allocKb, 1)]),
        notes: [
          `Request: POST /v1/chat/completions ${REQUEST}, openai provider, fake OpenAI answering a recorded ${upstreamBody.length} B chat.completion at once; SQLite call log.`,
          'added: the median over runs of (this proxy − the plain proxy measured in the same rotation).',
          `The hooks alone, in the bench process (${context.quick ? 20_000 : 100_000} calls × ${context.quick ? 3 : 7} rounds, median): metrics ${Math.round(hooks.metrics)} ns per call, traces ${Math.round(hooks.traces)} ns per call (start, one attempt, end; span export runs in batches off the request path).`,
        ],
      },
    ],
    targets: CONCURRENCY.map((c) => {
      const added = at(c, 'metrics+traces').addedP50Us;
      return { name: `added p50 of metrics + traces at c=${c}`, target: `< ${TARGET_US} µs`, measured: `${Math.round(added)} µs (metrics alone ${Math.round(at(c, 'metrics').addedP50Us)} µs)`, pass: added < TARGET_US };
    }),
    data: { plan, rows, hooksNsPerCall: hooks, runs: raw },
  };
}

export const sections: BenchSection[] = [
  { name: 'ops-overhead', description: 'What metrics and traces add per call on the gateway path: plain vs metrics vs metrics + traces proxies, added p50 and CPU per request', run },
];
