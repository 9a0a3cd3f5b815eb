/**
 * `gateway`: TokenPak as a gateway to a real provider, side by side with
 * calling the upstream directly, with the minimal translating proxy
 * (bench/minimal-proxy.ts: the limit of a Node proxy doing this job) and with
 * the Portkey AI gateway (`@portkey-ai/gateway`), all in front of the same
 * zero-latency fake OpenAI upstream. Non-streaming chat completions at
 * concurrency 10 and 50, driven by a separate load-generator process. Every
 * server runs with --trace-gc-nvp, so that each run also gives the server's
 * CPU time and heap allocation per request (bench/lib/gc-meter.ts).
 *
 * Portkey is installed on first use into bench/.portkey (git-ignored), never
 * into the package's dependencies.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad, type LoadResult } from './lib/load.ts';
import { GC_TRACE_FLAG, meterProcess, perRequest, type GcMeter } from './lib/gc-meter.ts';
import { freePort, httpCall, poll, readMemory, spawnNode } from './lib/processes.ts';
import { proxyArgs, proxyWorkDir, shebangFlags, startBareServer, type RunningServer } from './lib/servers.ts';
import { rotatedRuns } from './lib/rotation.ts';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const CONCURRENCY = [10, 50] as const;
const TARGETS = ['direct', 'minimal', 'tokenpak', 'portkey'] as const;
type Target = (typeof TARGETS)[number];

const PORTKEY_VERSION = '1.15.2';
const API_KEY = 'sk-bench-0000000000000000';
const REQUEST = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'What is the capital of France?' }] });

/** Installs @portkey-ai/gateway into bench/.portkey when it is not there; returns its start script. */
function ensurePortkey(context: BenchContext): string {
  const dir = join(context.root, 'bench/.portkey');
  const script = join(dir, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  if (existsSync(script)) return script;
  context.log(`gateway: installing @portkey-ai/gateway@${PORTKEY_VERSION} into bench/.portkey (benchmark only)`);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"name": "tokenpak-bench-portkey", "private": true}\n');
  const result = spawnSync('npm', ['install', '--no-fund', '--no-audit', '--loglevel=error', `@portkey-ai/gateway@${PORTKEY_VERSION}`], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0 || !existsSync(script)) throw new Error(`npm install @portkey-ai/gateway failed (exit ${result.status ?? result.signal}) in ${dir}.`);
  return script;
}

/** Waits until `url` answers the chat request with 200 and a chat.completion. */
async function waitForAnswer(url: string, headers: Record<string, string>, what: string, exited: () => string | undefined): Promise<string> {
  return poll(
    async () => {
      const res = await httpCall(`${url}/v1/chat/completions`, { method: 'POST', body: REQUEST, headers, timeoutMs: 2_000 });
      if (res.status !== 200) throw new Error(`${what} answered ${res.status}: ${res.body.slice(0, 300)}`);
      if (JSON.parse(res.body).object !== 'chat.completion') throw new Error(`${what} answered something other than a chat.completion: ${res.body.slice(0, 300)}`);
      return res.body;
    },
    { maxAttempts: 200, intervalMs: 50, what, abortIf: exited },
  );
}

/** A load run, with what the server process spent on it. */
interface MeasuredRun extends LoadResult {
  cpuUsPerRequest: number;
  allocatedBytesPerRequest: number;
  promotedBytesPerRequest: number;
  collections: number;
}

async function run(context: BenchContext): Promise<SectionResult> {
  const plan = context.quick ? { warmupS: 1, runs: 1, durationS: 2 } : { warmupS: 2, runs: 3, durationS: 5 };
  const portkeyScript = ensurePortkey(context);
  const upstreamBody = readFileSync(join(context.root, 'test/fixtures/upstream/openai-chat-text.json'), 'utf8').replace(/\s*\n\s*/g, '');
  const servers: Partial<Record<Target, RunningServer>> = {};
  const headers: Record<Target, Record<string, string>> = {
    direct: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    minimal: { 'content-type': 'application/json' },
    tokenpak: { 'content-type': 'application/json' },
    portkey: {},
  };
  const raw: Record<number, Record<Target, MeasuredRun[]>> = {};
  const meters: Partial<Record<Target, GcMeter>> = {};
  // Every Node server runs with the flags of TokenPak's bin (its young-generation size), so that GC is configured alike.
  const nodeFlags = [...shebangFlags(join(context.packageDir, 'bin/tokenpak.js')), GC_TRACE_FLAG];
  let tokenpakRssBytes = 0;
  let tokenpakExit: number | null = null;
  try {
    // The upstream: a bare node:http process answering a recorded chat.completion at once.
    const upstream = await startBareServer(context, upstreamBody, nodeFlags);
    servers.direct = upstream;
    headers.portkey = {
      'content-type': 'application/json',
      authorization: `Bearer ${API_KEY}`,
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstream.url}/v1`,
    };

    // TokenPak, as users run it: the built CLI, the default (SQLite) call log, retries on.
    const config = join(context.tmpDir, 'gateway.config.yaml');
    writeFileSync(config, `providers:\n  openai:\n    type: openai\n    api_key: ${API_KEY}\n    base_url: ${upstream.url}/v1\nmodels:\n  gpt-4: { provider: openai }\n`);
    const tokenpakPort = await freePort();
    const tokenpak = spawnNode(proxyArgs(context, config, tokenpakPort, [...context.proxyNodeArgs, GC_TRACE_FLAG]), { cwd: proxyWorkDir(context) });
    servers.tokenpak = { url: `http://127.0.0.1:${tokenpakPort}`, child: tokenpak, stop: () => tokenpak.stop() };
    await tokenpak.waitForLine(/listening on/, 10_000);

    // The minimal translating proxy, with its SQLite log in a fresh directory.
    const minimal = spawnNode([...nodeFlags, join(context.root, 'bench/minimal-proxy.ts')], {
      cwd: context.tmpDir,
      env: { ...process.env, MINIMAL_UPSTREAM: upstream.url, MINIMAL_API_KEY: API_KEY, MINIMAL_DB: join(proxyWorkDir(context), 'calls.db') },
    });
    const minimalLine = await minimal.waitForLine(/^\{"port":\d+\}$/, 10_000);
    servers.minimal = { url: `http://127.0.0.1:${(JSON.parse(minimalLine) as { port: number }).port}`, child: minimal, stop: () => minimal.stop() };

    // Portkey, as its README runs it (headless: no log UI).
    const portkeyPort = await freePort();
    const portkey = spawnNode([...nodeFlags, portkeyScript, `--port=${portkeyPort}`, '--headless'], { cwd: context.tmpDir, env: { ...process.env, NODE_ENV: 'production' } });
    servers.portkey = { url: `http://127.0.0.1:${portkeyPort}`, child: portkey, stop: () => portkey.stop(5_000) };

    for (const target of TARGETS) {
      const server = servers[target]!;
      await waitForAnswer(server.url, headers[target], target, () => (server.child.process.exitCode !== null ? `${target} exited: ${server.child.output()}` : undefined));
    }

    for (const target of TARGETS) meters[target] = meterProcess(servers[target]!.child);
    const load = async (target: Target, connections: number, durationS: number): Promise<MeasuredRun> => {
      const before = meters[target]!.read();
      const result = await runLoad(context.root, { url: `${servers[target]!.url}/v1/chat/completions`, body: REQUEST, headers: headers[target], connections, durationS });
      return { ...result, ...perRequest(before, meters[target]!.read(), result.requests) };
    };
    for (const c of CONCURRENCY) {
      context.log(`gateway: c=${c}: warm-up ${plan.warmupS} s each, then ${plan.runs} × ${plan.durationS} s each, rotating the order`);
      raw[c] = await rotatedRuns(TARGETS, plan, (target, durationS) => load(target, c, durationS));
    }
    tokenpakRssBytes = readMemory(tokenpak.pid).rssBytes;
  } finally {
    for (const meter of Object.values(meters)) meter.stop();
    tokenpakExit = (await servers.tokenpak?.stop()) ?? null;
    await servers.minimal?.stop();
    await servers.portkey?.stop();
    await servers.direct?.stop();
  }
  if (tokenpakExit !== 0) throw new Error(`TokenPak exited with code ${tokenpakExit} on SIGTERM (expected 0). Output:\n${servers.tokenpak?.child.output()}`);

  const summary = (runs: readonly MeasuredRun[]) => ({
    rps: median(runs.map((r) => r.rps)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuUs: median(runs.map((r) => r.cpuUsPerRequest)),
    allocKb: median(runs.map((r) => r.allocatedBytesPerRequest)) / 1024,
    promotedB: median(runs.map((r) => r.promotedBytesPerRequest)),
  });
  const rows = CONCURRENCY.map((c) => {
    const s = { direct: summary(raw[c]!.direct), minimal: summary(raw[c]!.minimal), tokenpak: summary(raw[c]!.tokenpak), portkey: summary(raw[c]!.portkey) };
    // The ratios of each run (TokenPak and the minimal proxy measured back to back), then their median.
    const vsMinimal = median(raw[c]!.tokenpak.map((r, i) => r.rps / raw[c]!.minimal[i]!.rps));
    const cpuVsMinimal = median(raw[c]!.tokenpak.map((r, i) => r.cpuUsPerRequest / raw[c]!.minimal[i]!.cpuUsPerRequest));
    return { c, ...s, vsPortkey: s.tokenpak.rps / s.portkey.rps, vsDirect: s.tokenpak.rps / s.direct.rps, vsMinimal, cpuVsMinimal, addedP50Ms: s.tokenpak.p50Ms - s.direct.p50Ms };
  });
  const at = (c: number) => rows.find((r) => r.c === c)!;
  return {
    tables: [
      {
        title: `Gateway: TokenPak vs direct vs Portkey ${PORTKEY_VERSION}, zero-latency fake OpenAI upstream (medians of ${plan.runs} × ${plan.durationS} s after a ${plan.warmupS} s warm-up)`,
        columns: ['c', 'direct req/s', 'TokenPak req/s', 'Portkey req/s', 'TokenPak/Portkey', 'TokenPak/direct', 'direct p50 ms', 'TokenPak p50 ms', 'Portkey p50 ms', 'TokenPak p99 ms', 'Portkey p99 ms'],
        rows: rows.map((r) => [
          r.c,
          Math.round(r.direct.rps),
          Math.round(r.tokenpak.rps),
          Math.round(r.portkey.rps),
          round(r.vsPortkey, 2),
          round(r.vsDirect, 2),
          round(r.direct.p50Ms, 3),
          round(r.tokenpak.p50Ms, 3),
          round(r.portkey.p50Ms, 3),
          round(r.tokenpak.p99Ms, 3),
          round(r.portkey.p99Ms, 3),
        ]),
        notes: [
          `Request: POST /v1/chat/completions ${REQUEST}; the upstream answers a recorded ${upstreamBody.length} B chat.completion.`,
          `minimal: bench/minimal-proxy.ts (node:http in, undici Pool out, JSON parsed and rebuilt both ways, request id, node:sqlite log batched every 100 ms): ${rows.map((r) => `c=${r.c} ${Math.round(r.minimal.rps)} req/s, TokenPak/minimal ${round(r.vsMinimal, 2)}`).join('; ')}.`,
          'TokenPak runs its built CLI with the default SQLite call log and the openai provider (undici pool, retries on); Portkey runs headless with NODE_ENV=production.',
          `TokenPak RSS after this section: ${round(tokenpakRssBytes / 1e6, 1)} MB.`,
        ],
      },
      {
        title: 'Gateway: what each server process spends per request (medians of the same runs)',
        columns: ['c', 'server', 'req/s', 'CPU µs/req', 'heap KB allocated/req', 'promoted B/req', 'p50 ms'],
        rows: rows.flatMap((r) =>
          TARGETS.map((t) => [r.c, t === 'direct' ? 'direct (the upstream alone)' : t, Math.round(r[t].rps), Math.round(r[t].cpuUs), round(r[t].allocKb, 1), Math.round(r[t].promotedB), round(r[t].p50Ms, 3)]),
        ),
        notes: [
          'CPU µs/req: user + system time of that server process (/proc/<pid>/stat) over a run, per answer; the upstream\'s own CPU is in the direct row only.',
          'Heap allocated/req and promoted/req: the sums of `allocated=` and `promoted=` over the --trace-gc-nvp lines the process printed during a run, per answer (worker threads included; off-heap buffers not).',
          `Node flags of every server: ${nodeFlags.join(' ')}.`,
        ],
      },
    ],
    targets: CONCURRENCY.flatMap((c) => [
      { name: `throughput at c=${c}, TokenPak/Portkey`, target: '≥ 6', measured: `${round(at(c).vsPortkey, 2)} (${Math.round(at(c).tokenpak.rps)} / ${Math.round(at(c).portkey.rps)} req/s)`, pass: at(c).vsPortkey >= 6 },
      { name: `throughput at c=${c}, TokenPak/direct`, target: '≥ 0.4', measured: `${round(at(c).vsDirect, 2)} (${Math.round(at(c).tokenpak.rps)} / ${Math.round(at(c).direct.rps)} req/s)`, pass: at(c).vsDirect >= 0.4 },
    ]).concat([
      { name: 'throughput at c=50, TokenPak/minimal proxy (median of per-run ratios)', target: '≥ 0.8', measured: `${round(at(50).vsMinimal, 2)} (${Math.round(at(50).tokenpak.rps)} / ${Math.round(at(50).minimal.rps)} req/s)`, pass: at(50).vsMinimal >= 0.8 },
      { name: 'CPU per request at c=50, TokenPak/minimal proxy', target: '≤ 1.3', measured: `${round(at(50).cpuVsMinimal, 2)} (${Math.round(at(50).tokenpak.cpuUs)} / ${Math.round(at(50).minimal.cpuUs)} µs)`, pass: at(50).cpuVsMinimal <= 1.3 },
      { name: 'added p50 latency at c=10 (TokenPak − direct)', target: '< 1 ms', measured: `${round(at(10).addedP50Ms, 3)} ms`, pass: at(10).addedP50Ms < 1 },
    ]),
    data: { plan, portkeyVersion: PORTKEY_VERSION, summary: rows, runs: raw, tokenpakRssBytes },
  };
}

export const sections: BenchSection[] = [
  { name: 'gateway', description: 'TokenPak vs direct vs the minimal translating proxy vs Portkey in front of a zero-latency fake OpenAI, c=10 and 50; CPU and heap allocation per request', run },
];
