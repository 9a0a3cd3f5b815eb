/**
 * `fast-failures`: how long an error-path test takes with the official SDKs at
 * their default retries (2 retries: 3 requests) when every call to the mock
 * fails: the time from `create()` to its rejection, for a 503 (OpenAI SDK) and
 * a 529 (Anthropic SDK), with the mock's default `retry_after: immediate`
 * (`retry-after-ms: 1`) against `retry_after: realistic` (the SDKs' own
 * 0.5-8 s backoff), runs interleaved. The proxy is the built CLI in its own
 * process; the SDK clients run in the bench process.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startProxyProcess, writeSectionConfig } from './lib/servers.ts';
import { median, round, spread } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const TARGET_MS = 50;

function writeConfig(dir: string): string {
  const failing = (failure: number, retryAfter?: 'realistic') => ({ type: 'mock', failure_rate: 1, failure, ...(retryAfter ? { retry_after: retryAfter } : {}) });
  return writeSectionConfig(dir, 'fast-failures', {
    providers: {
      immediate: failing(503),
      realistic: failing(503, 'realistic'),
      'immediate-overloaded': failing(529),
      'realistic-overloaded': failing(529, 'realistic'),
    },
    models: {
      'fail-immediate': { provider: 'immediate' },
      'fail-realistic': { provider: 'realistic' },
      'overloaded-immediate': { provider: 'immediate-overloaded' },
      'overloaded-realistic': { provider: 'realistic-overloaded' },
    },
  });
}

/** Milliseconds until the call rejects (it must reject with the injected status). */
async function timeFailure(call: () => Promise<unknown>, status: number): Promise<number> {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - started;
  if ((error as { status?: number } | undefined)?.status !== status) throw new Error(`expected the call to fail with ${status}, got ${String(error)}`);
  return ms;
}

async function run(context: BenchContext): Promise<SectionResult> {
  const proxy = await startProxyProcess(context, writeConfig(context.tmpDir));
  try {
    // Default retries, as a test would construct them.
    const openai = new OpenAI({ apiKey: 'bench', baseURL: `${proxy.url}/v1` });
    const anthropic = new Anthropic({ apiKey: 'bench', baseURL: proxy.url });
    const cases = [
      { name: 'OpenAI SDK, 503', mode: 'immediate', call: () => openai.chat.completions.create({ model: 'fail-immediate', messages: [{ role: 'user', content: 'hi' }] }), status: 503 },
      { name: 'OpenAI SDK, 503', mode: 'realistic', call: () => openai.chat.completions.create({ model: 'fail-realistic', messages: [{ role: 'user', content: 'hi' }] }), status: 503 },
      { name: 'Anthropic SDK, 529', mode: 'immediate', call: () => anthropic.messages.create({ model: 'overloaded-immediate', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }), status: 529 },
      { name: 'Anthropic SDK, 529', mode: 'realistic', call: () => anthropic.messages.create({ model: 'overloaded-realistic', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }), status: 529 },
    ];
    // Warm-up: connections, JIT.
    for (const c of cases) if (c.mode === 'immediate') for (let i = 0; i < 5; i++) await timeFailure(c.call, c.status);
    const runs = context.quick ? 2 : 5;
    const perRun = context.quick ? 3 : 10;
    const samples = new Map<(typeof cases)[number], number[]>(cases.map((c) => [c, []]));
    for (let r = 0; r < runs; r++) {
      // Interleaved; realistic waits 1-3 s per call, so it gets one call per run.
      for (const c of cases) {
        const n = c.mode === 'immediate' ? perRun : 1;
        for (let i = 0; i < n; i++) samples.get(c)!.push(await timeFailure(c.call, c.status));
      }
      context.log(`fast-failures: run ${r + 1}/${runs}`);
    }
    const rows = cases.map((c) => {
      return [c.name, c.mode, ...spread(samples.get(c)!, 1)];
    });
    const targets = cases
      .filter((c) => c.mode === 'immediate')
      .map((c) => {
        const ms = median(samples.get(c)!);
        return { name: `injected-failure call, default retries (${c.name})`, target: `≤ ${TARGET_MS} ms`, measured: `${round(ms, 1)} ms`, pass: ms <= TARGET_MS };
      });
    return {
      tables: [
        {
          title: 'Injected failure with the SDK\'s default retries (3 requests): time to the rejection',
          columns: ['client', 'retry_after', 'calls', 'median ms', 'min ms', 'max ms'],
          rows,
          notes: ['immediate (default): retry-after-ms: 1; realistic: retry-after: 1 on 429, else the SDK backoff (0.5-8 s with jitter).'],
        },
      ],
      targets,
      data: Object.fromEntries(cases.map((c) => [`${c.name} ${c.mode}`, samples.get(c)])),
    };
  } finally {
    await proxy.stop();
  }
}

export const sections: BenchSection[] = [
  {
    name: 'fast-failures',
    description: "An injected-failure call with the official SDKs' default retries: retry_after immediate (default) vs realistic",
    run,
  },
];
