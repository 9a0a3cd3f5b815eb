/**
 * `large-answers`: the issue 11 probe "a 200 MB answer was passed through" as
 * a measurement. An upstream process answers every call with ~200 MB (JSON, or
 * an event stream); the built proxy runs at the default `max_response_bytes`
 * (32 MiB) and must cut it with a 502; a client process sends the call and
 * reads the answer to its end. This process only asks `/healthz` again and
 * again (a fresh connection each time) while the call runs, and samples the
 * proxy's RSS: nothing else shares its event loop, so a slow health answer is
 * the proxy's, not the measurer's (the test in test/hardening/large-answers
 * also serves the upstream and runs the SDK in its own process, so its
 * timings include theirs).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, httpCall, readMemory, spawnNode } from './lib/processes.ts';
import { startProxyProcess, writeSectionConfig } from './lib/servers.ts';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const HEALTH_TARGET_MS = 100;

// ~200 MB per answer in 64 KiB pieces, waiting on the reader (drain) as a real server does.
const UPSTREAM = `
import { createServer } from 'node:http';
const PIECE = 64 * 1024, TOTAL = 200 * 1024 * 1024;
const text = 'x'.repeat(PIECE);
const delta = 'data: ' + JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] }) + '\\n\\n';
const head = '{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"';
async function pour(res, piece) {
  let sent = 0;
  for (let i = 0; sent < TOTAL && !res.destroyed; i++) {
    const chunk = piece(i);
    sent += chunk.length;
    if (!res.write(chunk)) await new Promise((go) => { res.once('drain', go); res.once('close', go); });
  }
  res.end();
}
createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (JSON.parse(body).stream) { res.writeHead(200, { 'content-type': 'text/event-stream' }); pour(res, () => delta); }
    else { res.writeHead(200, { 'content-type': 'application/json' }); pour(res, (i) => (i === 0 ? head : text)); }
  });
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

// Sends one call and reads the answer to its end; prints the status, the bytes and whether an error came.
const CLIENT = `
const [url, stream] = process.argv.slice(1);
const response = await fetch(url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', stream: stream === 'stream', messages: [{ role: 'user', content: 'hi' }] }) });
let bytes = 0, tail = '';
for await (const chunk of response.body) { bytes += chunk.byteLength; tail = (tail + Buffer.from(chunk).toString('utf8')).slice(-600); }
process.stdout.write(JSON.stringify({ status: response.status, bytes, tail }) + '\\n');
`;

interface Probe {
  status: number;
  bytes: number;
  maxResponseBytes: boolean;
  healthChecks: number;
  slowestHealthMs: number;
  medianHealthMs: number;
  rssGrowthMb: number;
}

async function probe(context: BenchContext, proxy: { url: string; child: { pid: number } }, stream: boolean): Promise<Probe> {
  const before = readMemory(proxy.child.pid).rssBytes;
  const client = spawnNode(['--input-type=module', '-e', CLIENT, proxy.url, stream ? 'stream' : 'json'], { cwd: context.tmpDir });
  const answered = client.waitForLine(/^\{/, 120_000);
  let done = false;
  void answered.finally(() => (done = true)).catch(() => {});
  const health: number[] = [];
  let peak = before;
  while (!done) {
    const started = performance.now();
    const answer = await httpCall(`${proxy.url}/healthz`, { timeoutMs: 10_000 });
    health.push(performance.now() - started);
    if (answer.status !== 200) throw new Error(`/healthz answered ${answer.status} during the probe`);
    peak = Math.max(peak, readMemory(proxy.child.pid).rssBytes);
    await sleep(5);
  }
  const result = JSON.parse(await answered) as { status: number; bytes: number; tail: string };
  await client.stop();
  return {
    status: result.status,
    bytes: result.bytes,
    maxResponseBytes: result.tail.includes('max_response_bytes'),
    healthChecks: health.length,
    slowestHealthMs: Math.max(...health),
    medianHealthMs: median(health),
    rssGrowthMb: (peak - before) / 1e6,
  };
}

async function run(context: BenchContext): Promise<SectionResult> {
  const runs = context.quick ? 1 : 5;
  const port = await freePort();
  const upstream = spawnNode(['--input-type=module', '-e', UPSTREAM], { cwd: context.tmpDir, env: { ...process.env, PORT: String(port) } });
  await upstream.waitForLine(/listening/, 10_000);
  const config = writeSectionConfig(context.tmpDir, 'large-answers', {
    providers: { openai: { type: 'openai', base_url: `http://127.0.0.1:${port}/v1`, api_key: 'sk-bench-large' } },
    models: { 'gpt-4o': { provider: 'openai' } },
  });
  const results: Record<'json' | 'stream', Probe[]> = { json: [], stream: [] };
  try {
    for (let i = 0; i < runs; i++) {
      // A fresh proxy per run: RSS growth is measured from one that has served only the check call.
      const proxy = await startProxyProcess(context, config, context.proxyNodeArgs);
      try {
        for (const kind of ['json', 'stream'] as const) {
          context.log(`large-answers: ${kind}, run ${i + 1}/${runs}`);
          const measured = await probe(context, proxy, kind === 'stream');
          if (!measured.maxResponseBytes || (kind === 'json' && measured.status !== 502)) {
            throw new Error(`The ${kind} probe was not cut at max_response_bytes (status ${measured.status}, ${measured.bytes} bytes).`);
          }
          results[kind].push(measured);
        }
      } finally {
        await proxy.stop();
      }
    }
  } finally {
    await upstream.stop();
  }
  const slowest = (kind: 'json' | 'stream') => median(results[kind].map((r) => r.slowestHealthMs));
  return {
    tables: [
      {
        title: `A ~200 MB upstream answer at the default max_response_bytes (32 MiB): the proxy alone in its process (${runs} runs, fresh proxy each)`,
        columns: ['answer', 'health checks (median)', 'slowest /healthz ms, per run', 'slowest (median of runs)', 'median /healthz ms', 'RSS growth MB, per run'],
        rows: (['json', 'stream'] as const).map((kind) => [
          kind,
          median(results[kind].map((r) => r.healthChecks)),
          results[kind].map((r) => round(r.slowestHealthMs, 1)).join(', '),
          round(slowest(kind), 1),
          round(median(results[kind].map((r) => r.medianHealthMs)), 1),
          results[kind].map((r) => Math.round(r.rssGrowthMb)).join(', '),
        ]),
        notes: ['Upstream, proxy, client and this measuring process are four processes; /healthz on a fresh connection every ~5 ms while the call runs.'],
      },
    ],
    targets: (['json', 'stream'] as const).map((kind) => ({
      name: `slowest /healthz during a 200 MB ${kind} answer (median of runs)`,
      target: `< ${HEALTH_TARGET_MS} ms`,
      measured: `${round(slowest(kind), 1)} ms`,
      pass: slowest(kind) < HEALTH_TARGET_MS,
    })),
    data: results,
  };
}

export const sections: BenchSection[] = [
  {
    name: 'large-answers',
    description: 'a ~200 MB upstream answer (JSON and stream) cut at max_response_bytes: /healthz latency and proxy RSS meanwhile, measured from a separate process',
    run,
  },
];
