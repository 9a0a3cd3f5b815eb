/**
 * `vitest-plugin`: what the Vitest plugin costs a test suite.
 *
 * 1. Start-up per test file: a project of one-test files, run by Vitest with
 *    a setup file that times `tokenpak/vitest` being imported and the file's
 *    TokenPak being started (with and without msw interception), against the
 *    same project without the setup (wall clock, per file).
 * 2. A 200-test suite, 5 mock calls per test through the OpenAI SDK at
 *    latency_ms 0, against the same suite with the SDK's fetch stubbed
 *    in-process (no TokenPak, no sockets): wall-clock ratio.
 *
 * Vitest runs as a separate process (the load generator); every figure is a
 * median over several alternating runs.
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

/** Runs `vitest run` and returns its wall time in ms (from spawn to exit). */
function vitest(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve, reject) => {
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
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`vitest ${args.join(' ')} failed in ${dir} (exit ${code}):\n${output.slice(-3000)}`));
    });
  });
}

async function startup(context: BenchContext) {
  const files = context.quick ? 4 : 16;
  const runs = context.quick ? 1 : 5;
  const tests: Record<string, string> = {};
  for (let i = 0; i < files; i++) tests[`test/f${i}.test.ts`] = "import { expect, test } from 'vitest';\ntest('one', () => expect(1).toBe(1));\n";
  const log = join(context.tmpDir, 'setup-times.log');
  const dir = project(context, 'startup', {
    ...tests,
    'tokenpak.config.yaml': CONFIG,
    // Times the import and the start separately, per test file.
    'timed-setup.ts': `import { appendFileSync } from 'node:fs';
const cpu = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const c0 = process.cpuUsage();
const t0 = performance.now();
const { setupTokenPak } = await import('tokenpak/vitest');
const t1 = performance.now();
const c1 = process.cpuUsage(c0);
await setupTokenPak({ interceptHosts: process.env.BENCH_INTERCEPT === '1' });
const t2 = performance.now();
const c2 = process.cpuUsage(c0);
appendFileSync(process.env.BENCH_SETUP_LOG, \`\${process.env.BENCH_INTERCEPT} \${t1 - t0} \${t2 - t1} \${cpu(c1)} \${cpu(c2) - cpu(c1)} \${process.env.BENCH_ISOLATE}\\n\`);
`,
    'with.config.ts': "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { setupFiles: ['./timed-setup.ts'] } });\n",
    'without.config.ts': "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: {} });\n",
  });
  const wallWithout: number[] = [];
  const wallWith: number[] = [];
  const wallWithMsw: number[] = [];
  const wallWithoutShared: number[] = [];
  const wallWithMswShared: number[] = [];
  rmSync(log, { force: true });
  const setupEnv = (intercept: string, isolate: string) => ({ BENCH_SETUP_LOG: log, BENCH_INTERCEPT: intercept, BENCH_ISOLATE: isolate });
  for (let i = 0; i < runs; i++) {
    context.log(`vitest-plugin: start-up run ${i + 1}/${runs}`);
    wallWithout.push(await vitest(dir, ['--config', 'without.config.ts']));
    wallWith.push(await vitest(dir, ['--config', 'with.config.ts'], setupEnv('0', 'isolated')));
    wallWithMsw.push(await vitest(dir, ['--config', 'with.config.ts'], setupEnv('1', 'isolated')));
    // Without isolation a worker runs many files: modules are imported once, TokenPak is started per file.
    wallWithoutShared.push(await vitest(dir, ['--config', 'without.config.ts', '--no-isolate']));
    wallWithMswShared.push(await vitest(dir, ['--config', 'with.config.ts', '--no-isolate'], setupEnv('1', 'shared')));
  }
  const samples = readFileSync(log, 'utf8').trim().split('\n').map((line) => line.split(' '));
  const pick = (intercept: string, isolate: string, column: 1 | 2 | 3 | 4) =>
    median(samples.filter((s) => s[0] === intercept && s[5] === isolate).map((s) => Number(s[column])));
  const variant = (intercept: string, isolate: string) => ({
    importMs: pick(intercept, isolate, 1),
    startMs: pick(intercept, isolate, 2),
    importCpuMs: pick(intercept, isolate, 3),
    startCpuMs: pick(intercept, isolate, 4),
  });
  return {
    files,
    runs,
    mswOff: variant('0', 'isolated'),
    mswOn: variant('1', 'isolated'),
    // Without isolation the import happens in the first file of each worker only: the median is the start.
    shared: variant('1', 'shared'),
    wallWithoutMs: median(wallWithout),
    wallWithMs: median(wallWith),
    wallWithMswMs: median(wallWithMsw),
    addedWallPerFileMs: (median(wallWith) - median(wallWithout)) / files,
    addedWallPerFileMswMs: (median(wallWithMsw) - median(wallWithout)) / files,
    addedWallPerFileSharedMs: (median(wallWithMswShared) - median(wallWithoutShared)) / files,
  };
}

async function suite(context: BenchContext) {
  const files = 4;
  const testsPerFile = context.quick ? 10 : 50;
  const runs = context.quick ? 1 : 5;
  const client = `import OpenAI from 'openai';

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
  const tests: Record<string, string> = { 'test/client.ts': client, 'tokenpak.config.yaml': CONFIG };
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
  const dir = project(context, 'suite', {
    ...tests,
    'tokenpak.config.ts': "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { setupFiles: ['tokenpak/vitest/setup'] } });\n",
    'stub.config.ts': "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: {} });\n",
  });
  const withTokenPak: number[] = [];
  const stubbed: number[] = [];
  const withTokenPakShared: number[] = [];
  const stubbedShared: number[] = [];
  for (let i = 0; i < runs; i++) {
    context.log(`vitest-plugin: 200-test suite run ${i + 1}/${runs}`);
    stubbed.push(await vitest(dir, ['--config', 'stub.config.ts'], { BENCH_MODE: 'stub' }));
    withTokenPak.push(await vitest(dir, ['--config', 'tokenpak.config.ts'], { BENCH_MODE: 'tokenpak' }));
    // Without isolation the import is paid once per worker: what remains is the per-call and per-file cost.
    stubbedShared.push(await vitest(dir, ['--config', 'stub.config.ts', '--no-isolate'], { BENCH_MODE: 'stub' }));
    withTokenPakShared.push(await vitest(dir, ['--config', 'tokenpak.config.ts', '--no-isolate'], { BENCH_MODE: 'tokenpak' }));
  }
  return {
    tests: files * testsPerFile,
    runs,
    withTokenPakMs: median(withTokenPak),
    stubbedMs: median(stubbed),
    ratio: median(withTokenPak) / median(stubbed),
    withTokenPakSharedMs: median(withTokenPakShared),
    stubbedSharedMs: median(stubbedShared),
    ratioShared: median(withTokenPakShared) / median(stubbedShared),
    withTokenPak,
    stubbed,
    withTokenPakShared,
    stubbedShared,
  };
}

async function run(context: BenchContext): Promise<SectionResult> {
  const s = await startup(context);
  const t = await suite(context);
  return {
    tables: [
      {
        title: `Vitest plugin start-up per test file (${s.files} one-test files, ${s.runs} runs each)`,
        columns: ['measure (median per file)', 'isolated, msw off', 'isolated, msw on', 'isolate: false, msw on'],
        rows: [
          ['import tokenpak/vitest (+ msw), wall ms', round(s.mswOff.importMs, 1), round(s.mswOn.importMs, 1), round(s.shared.importMs, 1)],
          ['import, CPU ms', round(s.mswOff.importCpuMs, 1), round(s.mswOn.importCpuMs, 1), round(s.shared.importCpuMs, 1)],
          ['start the file\'s TokenPak, wall ms', round(s.mswOff.startMs, 1), round(s.mswOn.startMs, 1), round(s.shared.startMs, 1)],
          ['start, CPU ms', round(s.mswOff.startCpuMs, 1), round(s.mswOn.startCpuMs, 1), round(s.shared.startCpuMs, 1)],
          ['import + start, wall ms', round(s.mswOff.importMs + s.mswOff.startMs, 1), round(s.mswOn.importMs + s.mswOn.startMs, 1), round(s.shared.importMs + s.shared.startMs, 1)],
          ['whole run: (with − without) / files, ms', round(s.addedWallPerFileMs, 1), round(s.addedWallPerFileMswMs, 1), round(s.addedWallPerFileSharedMs, 1)],
        ],
        notes: [
          `Whole run, median wall ms: without the plugin ${Math.round(s.wallWithoutMs)}; with it ${Math.round(s.wallWithMs)} (msw off), ${Math.round(s.wallWithMswMs)} (msw on).`,
          'With isolation (Vitest\'s default) each test file runs in a fresh worker, so the import is paid per file; with isolate: false it is paid once per worker.',
          'Preliminary: the machine is shared with other jobs.',
        ],
      },
      {
        title: `${t.tests} tests × 5 mock calls (OpenAI SDK, latency_ms 0), ${t.runs} alternating runs`,
        columns: ['suite (4 files)', 'isolated, median wall ms', 'isolate: false, median wall ms'],
        rows: [
          ['through TokenPak (tokenpak/vitest/setup)', Math.round(t.withTokenPakMs), Math.round(t.withTokenPakSharedMs)],
          ['SDK fetch stubbed in-process', Math.round(t.stubbedMs), Math.round(t.stubbedSharedMs)],
          ['ratio', round(t.ratio, 3), round(t.ratioShared, 3)],
        ],
        notes: ['Preliminary: the machine is shared with other jobs.'],
      },
    ],
    targets: [
      {
        name: 'start-up per test file, isolated (import + start, msw on)',
        target: '≤ 20 ms',
        measured: `${round(s.mswOn.importMs + s.mswOn.startMs, 1)} ms`,
        pass: s.mswOn.importMs + s.mswOn.startMs <= 20,
      },
      { name: 'start-up per test file, isolate: false (start)', target: '≤ 20 ms', measured: `${round(s.shared.startMs, 1)} ms`, pass: s.shared.startMs <= 20 },
      { name: '200 tests × 5 calls, TokenPak / stubbed (isolated)', target: '≤ 1.3×', measured: `${round(t.ratio, 3)}×`, pass: t.ratio <= 1.3 },
      { name: '200 tests × 5 calls, TokenPak / stubbed (isolate: false)', target: '≤ 1.3×', measured: `${round(t.ratioShared, 3)}×`, pass: t.ratioShared <= 1.3 },
    ],
    data: { startup: s, suite: t },
  };
}

export const sections: BenchSection[] = [
  { name: 'vitest-plugin', description: 'Vitest plugin: start-up per test file, and a 200-test suite vs the same suite stubbed in-process', run },
];
