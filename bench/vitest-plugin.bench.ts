/**
 * `vitest-plugin`: what the Vitest plugin costs a test suite, with the run's
 * TokenPak (the `tokenpak()` plugin: one TokenPak per run, a small client per
 * test file), for `pool: 'forks'` and `pool: 'threads'`.
 *
 * 1. Per-file overhead with Vitest's default isolation: N one-test files,
 *    each making one call through the OpenAI SDK, run through TokenPak (and
 *    through TokenPak with msw loaded, `interceptHosts: true`) against the
 *    same files with the SDK's fetch stubbed in-process and no plugin:
 *    (wall with − wall stubbed) / N.
 * 2. A 200-test suite, 5 mock calls per test at latency_ms 0, through
 *    TokenPak against the same suite stubbed: wall-clock ratio.
 *
 * Vitest runs as a separate process; the variants alternate within each
 * round (the machine may be shared), and every figure is a median. Beside
 * wall time, each run's CPU time (user + system of Vitest and every process
 * it waited for, from this process's `cutime`/`cstime`): on a shared machine
 * wall time swings by seconds between identical runs, CPU time much less.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const CONFIG = `providers:
  mock:
    type: mock
    latency_ms: 0
    responses:
      gpt-4:
        default: "Mock GPT-4 response"
models:
  gpt-4: { provider: mock }
`;

/** A project in the scratch directory, with node_modules linked to the repository's and `tokenpak` to the measured package. */
function project(context: BenchContext, name: string, files: Record<string, string>): string {
  const dir = join(context.tmpDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  for (const entry of readdirSync(join(context.root, 'node_modules'))) {
    if (entry !== '.bin' && entry !== 'tokenpak') symlinkSync(join(context.root, 'node_modules', entry), join(dir, 'node_modules', entry));
  }
  symlinkSync(context.packageDir, join(dir, 'node_modules/tokenpak'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

/** CPU time (ms) of this process's children that have been waited for, Vitest's own children included (10 ms ticks). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after "(comm) ": state is field 3, cutime 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Runs `vitest run`: its wall time in ms (from spawn to exit) and the CPU time it and its workers used. */
function vitest(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ wall: number; cpu: number }> {
  return new Promise((resolve, reject) => {
    const cpuBefore = childrenCpuMs();
    const started = performance.now();
    const child = spawn(process.execPath, [join(dir, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=dot', ...args], {
      cwd: dir,
      env: { ...process.env, CI: '1', NO_COLOR: '1', TOKENPAK_CONFIG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ wall: performance.now() - started, cpu: childrenCpuMs() - cpuBefore });
      else reject(new Error(`vitest ${args.join(' ')} failed in ${dir} (exit ${code}):\n${output.slice(-3000)}`));
    });
  });
}

const CLIENT = `import OpenAI from 'openai';

const completion = JSON.stringify({
  id: 'chatcmpl-stub', object: 'chat.completion', created: 0, model: 'gpt-4',
  choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content: 'Mock GPT-4 response', refusal: null } }],
  usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
});

// The same SDK either way: through TokenPak (OPENAI_BASE_URL set by the setup), or with its fetch stubbed in-process.
export const openai = process.env.BENCH_MODE === 'stub'
  ? new OpenAI({ apiKey: 'stub', baseURL: 'http://stub.invalid/v1', maxRetries: 0, fetch: async () => new Response(completion, { headers: { 'content-type': 'application/json' } }) })
  : new OpenAI({ maxRetries: 0 });
`;

const CONFIGS = {
  'stub.config.ts': "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { include: ['test/*.test.ts'], testTimeout: 60_000 } });\n",
  'tokenpak.config.ts':
    "import { defineConfig } from 'vitest/config';\nimport { tokenpak } from 'tokenpak/vitest';\nexport default defineConfig({ plugins: [tokenpak()], test: { include: ['test/*.test.ts'], testTimeout: 60_000 } });\n",
  'msw.config.ts':
    "import { defineConfig } from 'vitest/config';\nimport { tokenpak } from 'tokenpak/vitest';\nexport default defineConfig({ plugins: [tokenpak({ interceptHosts: true })], test: { include: ['test/*.test.ts'], testTimeout: 60_000 } });\n",
};

const POOLS = ['forks', 'threads'] as const;
type Pool = (typeof POOLS)[number];

async function perFile(context: BenchContext) {
  const files = context.quick ? 4 : Number(process.env.BENCH_VITEST_FILES ?? 12);
  const runs = context.quick ? 1 : Number(process.env.BENCH_VITEST_ROUNDS ?? 3);
  const tests: Record<string, string> = { 'test/client.ts': CLIENT, 'tokenpak.config.yaml': CONFIG, ...CONFIGS };
  for (let i = 0; i < files; i++) {
    tests[`test/f${i}.test.ts`] = `import { expect, test } from 'vitest';
import { openai } from './client.ts';
test('one call', async () => {
  const r = await openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'file ${i}' }] });
  expect(r.choices[0].message.content).toBe('Mock GPT-4 response');
});
`;
  }
  const dir = project(context, 'per-file', tests);
  const variants = () => ({ stub: [] as number[], tokenpak: [] as number[], msw: [] as number[] });
  const wall: Record<Pool, ReturnType<typeof variants>> = { forks: variants(), threads: variants() };
  const cpu: Record<Pool, ReturnType<typeof variants>> = { forks: variants(), threads: variants() };
  const measure = async (pool: Pool, variant: 'stub' | 'tokenpak' | 'msw', args: string[], env: NodeJS.ProcessEnv) => {
    const result = await vitest(dir, args, env);
    wall[pool][variant].push(result.wall);
    cpu[pool][variant].push(result.cpu);
  };
  for (let i = 0; i < runs; i++) {
    for (const pool of POOLS) {
      context.log(`vitest-plugin: per-file run ${i + 1}/${runs}, ${pool}`);
      const poolArg = `--pool=${pool}`;
      await measure(pool, 'stub', ['--config', 'stub.config.ts', poolArg], { BENCH_MODE: 'stub' });
      await measure(pool, 'tokenpak', ['--config', 'tokenpak.config.ts', poolArg], { BENCH_MODE: 'tokenpak' });
      await measure(pool, 'msw', ['--config', 'msw.config.ts', poolArg], { BENCH_MODE: 'tokenpak' });
      // Each round as it ends, so that a run cut short still tells something.
      const line = (variant: 'stub' | 'tokenpak' | 'msw') => `${Math.round(wall[pool][variant][i]!)} ms (CPU ${cpu[pool][variant][i]} ms)`;
      context.log(`vitest-plugin: per-file ${pool} round ${i + 1}: stub ${line('stub')}, TokenPak ${line('tokenpak')}, with msw ${line('msw')}`);
    }
  }
  const summary = (pool: Pool) => {
    const w = wall[pool];
    const c = cpu[pool];
    // Per round, so that a slow moment of the machine affects both sides of a difference.
    const perRound = (of: ReturnType<typeof variants>, variant: 'tokenpak' | 'msw') => of[variant].map((ms, i) => (ms - of.stub[i]!) / files);
    return {
      stubMs: median(w.stub),
      tokenpakMs: median(w.tokenpak),
      mswMs: median(w.msw),
      overheadPerFileMs: median(perRound(w, 'tokenpak')),
      overheadPerFileMswMs: median(perRound(w, 'msw')),
      stubCpuMs: median(c.stub),
      tokenpakCpuMs: median(c.tokenpak),
      overheadPerFileCpuMs: median(perRound(c, 'tokenpak')),
      overheadPerFileMswCpuMs: median(perRound(c, 'msw')),
      raw: { wall: w, cpu: c },
    };
  };
  return { files, runs, forks: summary('forks'), threads: summary('threads') };
}

async function suite(context: BenchContext) {
  const files = 4;
  const testsPerFile = context.quick ? 10 : 50;
  const runs = context.quick ? 1 : Number(process.env.BENCH_VITEST_ROUNDS ?? 3);
  const tests: Record<string, string> = { 'test/client.ts': CLIENT, 'tokenpak.config.yaml': CONFIG, ...CONFIGS };
  for (let f = 0; f < files; f++) {
    tests[`test/s${f}.test.ts`] = `import { expect, test } from 'vitest';
import { openai } from './client.ts';
for (let t = 0; t < ${testsPerFile}; t++) {
  test('test ' + t, async () => {
    for (let c = 0; c < 5; c++) {
      const r = await openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'question ' + t + '.' + c }] });
      expect(r.choices[0].message.content).toBe('Mock GPT-4 response');
    }
  });
}
`;
  }
  const dir = project(context, 'suite', tests);
  const variants = () => ({ stub: [] as number[], tokenpak: [] as number[] });
  const wall: Record<Pool, ReturnType<typeof variants>> = { forks: variants(), threads: variants() };
  const cpu: Record<Pool, ReturnType<typeof variants>> = { forks: variants(), threads: variants() };
  for (let i = 0; i < runs; i++) {
    for (const pool of POOLS) {
      context.log(`vitest-plugin: 200-test suite run ${i + 1}/${runs}, ${pool}`);
      for (const variant of ['stub', 'tokenpak'] as const) {
        const result = await vitest(dir, ['--config', `${variant}.config.ts`, `--pool=${pool}`], { BENCH_MODE: variant });
        wall[pool][variant].push(result.wall);
        cpu[pool][variant].push(result.cpu);
      }
      context.log(`vitest-plugin: suite ${pool} round ${i + 1}: stub ${Math.round(wall[pool].stub[i]!)} ms (CPU ${cpu[pool].stub[i]} ms), TokenPak ${Math.round(wall[pool].tokenpak[i]!)} ms (CPU ${cpu[pool].tokenpak[i]} ms)`);
    }
  }
  // Per round, then the median: each ratio compares two runs made one after the other.
  const ratioOf = (of: ReturnType<typeof variants>) => median(of.tokenpak.map((ms, i) => ms / of.stub[i]!));
  const summary = (pool: Pool) => ({
    stubMs: median(wall[pool].stub),
    tokenpakMs: median(wall[pool].tokenpak),
    ratio: ratioOf(wall[pool]),
    stubCpuMs: median(cpu[pool].stub),
    tokenpakCpuMs: median(cpu[pool].tokenpak),
    cpuRatio: ratioOf(cpu[pool]),
    raw: { wall: wall[pool], cpu: cpu[pool] },
  });
  return { tests: files * testsPerFile, runs, forks: summary('forks'), threads: summary('threads') };
}

async function run(context: BenchContext): Promise<SectionResult> {
  const f = await perFile(context);
  const t = await suite(context);
  return {
    tables: [
      {
        title: `Per-file overhead, default isolation (${f.files} one-test files, one call each, ${f.runs} alternating rounds)`,
        columns: ['median', 'forks', 'threads'],
        rows: [
          ['stubbed (no plugin), wall ms', Math.round(f.forks.stubMs), Math.round(f.threads.stubMs)],
          ['through TokenPak (tokenpak()), wall ms', Math.round(f.forks.tokenpakMs), Math.round(f.threads.tokenpakMs)],
          ['through TokenPak, interceptHosts: true (msw), wall ms', Math.round(f.forks.mswMs), Math.round(f.threads.mswMs)],
          ['overhead per file, ms', round(f.forks.overheadPerFileMs, 1), round(f.threads.overheadPerFileMs, 1)],
          ['overhead per file with msw, ms', round(f.forks.overheadPerFileMswMs, 1), round(f.threads.overheadPerFileMswMs, 1)],
          ['stubbed, CPU ms', f.forks.stubCpuMs, f.threads.stubCpuMs],
          ['through TokenPak, CPU ms', f.forks.tokenpakCpuMs, f.threads.tokenpakCpuMs],
          ['CPU overhead per file, ms', round(f.forks.overheadPerFileCpuMs, 1), round(f.threads.overheadPerFileCpuMs, 1)],
          ['CPU overhead per file with msw, ms', round(f.forks.overheadPerFileMswCpuMs, 1), round(f.threads.overheadPerFileMswCpuMs, 1)],
        ],
        notes: [
          'Overhead per file: (with − stubbed) / files, per round, median over rounds. Includes the run\'s TokenPak start-up, paid once per run.',
          'CPU: user + system time of Vitest and its workers (10 ms ticks), the run\'s TokenPak included (it runs in Vitest\'s main process).',
        ],
      },
      {
        title: `${t.tests} tests × 5 mock calls (OpenAI SDK, latency_ms 0, 4 files), ${t.runs} alternating rounds`,
        columns: ['median', 'forks', 'threads'],
        rows: [
          ['through TokenPak, wall ms', Math.round(t.forks.tokenpakMs), Math.round(t.threads.tokenpakMs)],
          ['SDK fetch stubbed in-process, wall ms', Math.round(t.forks.stubMs), Math.round(t.threads.stubMs)],
          ['ratio (per round, median)', round(t.forks.ratio, 3), round(t.threads.ratio, 3)],
          ['through TokenPak, CPU ms', t.forks.tokenpakCpuMs, t.threads.tokenpakCpuMs],
          ['stubbed, CPU ms', t.forks.stubCpuMs, t.threads.stubCpuMs],
          ['CPU ratio (per round, median)', round(t.forks.cpuRatio, 3), round(t.threads.cpuRatio, 3)],
        ],
      },
    ],
    targets: [
      ...POOLS.map((pool) => ({
        name: `per-file overhead, default isolation (${pool})`,
        target: '≤ 20 ms',
        measured: `${round(f[pool].overheadPerFileMs, 1)} ms`,
        pass: f[pool].overheadPerFileMs <= 20,
      })),
      ...POOLS.map((pool) => ({ name: `200 tests × 5 calls, TokenPak / stubbed (${pool})`, target: '≤ 1.3×', measured: `${round(t[pool].ratio, 3)}×`, pass: t[pool].ratio <= 1.3 })),
    ],
    data: { perFile: f, suite: t },
  };
}

export const sections: BenchSection[] = [
  { name: 'vitest-plugin', description: 'Vitest plugin (run-wide TokenPak): per-file overhead and a 200-test × 5-call suite vs the same stubbed, forks and threads', run },
];
