/**
 * `streaming`: time to first byte and SSE events per second for a 500-token
 * mock answer at `latency_ms: 0`, in each wire format (TokenPak's own, OpenAI
 * Chat Completions, OpenAI Responses, Anthropic Messages), from a separate
 * load-generator process at concurrency 1 and 10.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startProxyProcess, writeSectionConfig } from './lib/servers.ts';
import { median, round } from './lib/stats.ts';
import type { StreamLoadOptions, StreamLoadResult } from './lib/stream-worker.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const execFileAsync = promisify(execFile);

const WORDS = ['the', 'and', 'for', 'you', 'are', 'not', 'but', 'can', 'all', 'one', 'two', 'new', 'now', 'way', 'use', 'day'];
/** 500 three-letter words: the mock streams one word per chunk, and estimates 4 characters per token, so 500 chunks and 500 tokens. */
const ANSWER = Array.from({ length: 500 }, (_, i) => WORDS[i % WORDS.length]).join(' ');
const MODEL = 'stream-500';
const CONCURRENCY = [1, 10] as const;

function writeConfig(dir: string): string {
  return writeSectionConfig(dir, 'streaming', {
    mock: { latency_ms: 0, chunk_delay_ms: 0, responses: { [MODEL]: { default: ANSWER } } },
    models: { [MODEL]: { provider: 'mock' } },
  });
}

const user = [{ role: 'user', content: 'Stream me five hundred tokens' }];
const FORMATS = [
  { name: 'tokenpak', path: '/v1/messages', headers: {}, body: { model: MODEL, messages: user, stream: true } },
  { name: 'openai chat', path: '/v1/chat/completions', headers: {}, body: { model: MODEL, messages: user, stream: true, stream_options: { include_usage: true } } },
  { name: 'openai responses', path: '/v1/responses', headers: {}, body: { model: MODEL, input: user[0]!.content, stream: true } },
  { name: 'anthropic', path: '/v1/messages', headers: { 'anthropic-version': '2023-06-01' }, body: { model: MODEL, max_tokens: 1024, messages: user, stream: true } },
] as const;

async function streamLoad(root: string, options: StreamLoadOptions): Promise<StreamLoadResult> {
  const { stdout } = await execFileAsync(process.execPath, [join(root, 'bench/lib/stream-worker.ts'), JSON.stringify(options)], {
    cwd: root,
    timeout: 300_000,
    maxBuffer: 1 << 20,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as StreamLoadResult;
  if (result.failed > 0) throw new Error(`${result.failed} of ${result.streams} streams from ${options.url} failed: the figures would be meaningless.`);
  return result;
}

async function run(context: BenchContext): Promise<SectionResult> {
  const plan = context.quick ? { runs: 1, streams: { 1: 10, 10: 20 }, warmup: 5 } : { runs: 3, streams: { 1: 100, 10: 300 }, warmup: 30 };
  const proxy = await startProxyProcess(context, writeConfig(context.tmpDir), context.proxyNodeArgs);
  const raw: Record<string, StreamLoadResult[]> = {};
  let exitCode: number | null = null;
  try {
    for (const format of FORMATS) {
      const base = { url: `${proxy.url}${format.path}`, body: JSON.stringify(format.body), headers: { 'content-type': 'application/json', ...format.headers } };
      await streamLoad(context.root, { ...base, requests: plan.warmup, concurrency: 1 });
      for (const c of CONCURRENCY) {
        context.log(`streaming: ${format.name}, c=${c}: ${plan.runs} × ${plan.streams[c]} streams`);
        const runs: StreamLoadResult[] = [];
        for (let i = 0; i < plan.runs; i++) runs.push(await streamLoad(context.root, { ...base, requests: plan.streams[c], concurrency: c }));
        raw[`${format.name} c=${c}`] = runs;
      }
    }
  } finally {
    exitCode = await proxy.stop();
  }
  if (exitCode !== 0) throw new Error(`The proxy exited with code ${exitCode} on SIGTERM (expected 0). Output:\n${proxy.child.output()}`);

  const rows = Object.entries(raw).map(([key, runs]) => {
    const [name, c] = key.split(' c=');
    return [
      name!,
      Number(c),
      runs[0]!.eventsPerStream,
      round(median(runs.map((r) => r.ttfbP50Ms)), 2),
      round(median(runs.map((r) => r.ttfbP99Ms)), 2),
      Math.round(median(runs.map((r) => r.streamEventsPerSecond))),
      Math.round(median(runs.map((r) => r.totalEventsPerSecond))),
    ];
  });
  return {
    tables: [
      {
        title: `Streaming a 500-token mock answer (latency_ms: 0, chunk_delay_ms: 0), median of ${plan.runs} runs`,
        columns: ['format', 'c', 'events/stream', 'TTFB p50 ms', 'TTFB p99 ms', 'events/s per stream', 'events/s total'],
        rows,
        notes: [
          'One SSE event per 1-token chunk, plus each format\'s framing events (start, stop, usage).',
          'TTFB: request sent to first body byte. Per stream: events / (last byte - first byte). Total: all events / wall time.',
          'The load generator is a separate process on keep-alive connections.',
        ],
      },
    ],
    // The issue asks for these figures to be reported; it sets no target for them.
    targets: [],
    data: raw,
  };
}

export const sections: BenchSection[] = [
  { name: 'streaming', description: 'time to first byte and events/s for a 500-token mock stream, per wire format, c=1 and c=10', run },
];
