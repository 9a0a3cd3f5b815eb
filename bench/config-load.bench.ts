/**
 * `config-load`: `tokenpak validate-config` on configs of 2,000 and 20,000
 * models (issue 11: "20,000 models take 10 s to load (quadratic)"). Each run
 * is a fresh process; its CPU time (user + system) is read by a small parent
 * process from its own children's totals in /proc/self/stat once the CLI has
 * exited, so that a busy machine stretches the wall time but not the figure.
 * A third size with no models beyond one gives the start-up floor; the ratio
 * of the two sizes' costs above that floor shows whether loading is linear
 * (10x the models, about 10x the cost; quadratic would be about 100x).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const SIZES = [1, 2_000, 20_000] as const;

/** A config routing `models` model names to one mock provider. */
function configWithModels(models: number): string {
  let yaml = 'providers:\n  mock: {type: mock, latency_ms: 300}\nmodels:\n';
  for (let i = 0; i < models; i++) yaml += `  model-${i}: {provider: mock}\n`;
  return yaml;
}

// Runs the CLI to completion and prints the CPU seconds it used: the parent's
// cutime + cstime (fields 16 and 17 of /proc/self/stat, in clock ticks of 10 ms).
const MEASURE = `
const { spawnSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const children = () => { const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' '); return (Number(fields[13]) + Number(fields[14])) / 100; };
const before = children();
const started = performance.now();
const result = spawnSync(process.execPath, process.argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
const wallMs = performance.now() - started;
if (result.status !== 0) { process.stderr.write(String(result.stdout) + String(result.stderr)); process.exit(1); }
process.stdout.write(JSON.stringify({ cpuMs: (children() - before) * 1000, wallMs }));
`;

async function run(context: BenchContext): Promise<SectionResult> {
  const runs = context.quick ? 1 : 5;
  const bin = join(context.packageDir, 'bin/tokenpak.js');
  const files = new Map(SIZES.map((size) => [size, join(context.tmpDir, `models-${size}.yaml`)]));
  for (const [size, file] of files) writeFileSync(file, configWithModels(size));
  const cpu = new Map<number, number[]>(SIZES.map((size) => [size, []]));
  const wall = new Map<number, number[]>(SIZES.map((size) => [size, []]));
  for (let i = 0; i < runs; i++) {
    // Alternating sizes, so that a change in the machine's load touches each alike.
    for (const size of SIZES) {
      context.log(`config-load: ${size} models, run ${i + 1}/${runs}`);
      const measured = spawnSync(process.execPath, ['-e', MEASURE, bin, 'validate-config', files.get(size)!], { encoding: 'utf8' });
      if (measured.status !== 0) throw new Error(`tokenpak validate-config failed on ${size} models:\n${measured.stderr}`);
      const { cpuMs, wallMs } = JSON.parse(measured.stdout) as { cpuMs: number; wallMs: number };
      cpu.get(size)!.push(cpuMs);
      wall.get(size)!.push(wallMs);
    }
  }
  const cpuMedian = (size: number) => median(cpu.get(size)!);
  const floor = cpuMedian(1);
  const above = (size: number) => Math.max(cpuMedian(size) - floor, 1);
  const ratio = above(20_000) / above(2_000);
  return {
    tables: [
      {
        title: `tokenpak validate-config, one process per run (${runs} runs per size, alternating)`,
        columns: ['models', 'CPU ms (median)', 'CPU ms above start-up', 'runs CPU ms', 'wall ms (median)'],
        rows: SIZES.map((size) => [
          size,
          Math.round(cpuMedian(size)),
          size === 1 ? '—' : Math.round(above(size)),
          cpu.get(size)!.map((v) => Math.round(v)).join(', '),
          Math.round(median(wall.get(size)!)),
        ]),
        notes: [
          'CPU: user + system time of the CLI process (10 ms ticks), read after it exited; 1 model is the start-up floor.',
          `20,000 vs 2,000 models, CPU above the floor: ${round(ratio, 1)}x (linear: about 10x; quadratic: about 100x).`,
        ],
      },
    ],
    targets: [
      { name: 'config load, 20k vs 2k models above start-up', target: '≤ 15x (linear)', measured: `${round(ratio, 1)}x`, pass: ratio <= 15 },
    ],
    data: { cpuMs: Object.fromEntries(cpu), wallMs: Object.fromEntries(wall), floorMs: floor, ratio },
  };
}

export const sections: BenchSection[] = [
  { name: 'config-load', description: 'tokenpak validate-config on 2,000 and 20,000 models: CPU per size and the ratio (linear loading)', run },
];
