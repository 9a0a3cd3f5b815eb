/**
 * `npm run bench [-- <section>...] [--quick] [--list] [--cpu-prof] [--package DIR]`
 *
 * Runs the named sections (all when none is named) and prints one report.
 * A section is any `bench/<name>.bench.ts` exporting `sections: BenchSection[]`,
 * so new benches are added beside this file without editing it. Results are
 * also written as JSON to bench/results/.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBuilt, snapshotPackage } from './lib/build.ts';
import { formatReport } from './lib/table.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const help = `Usage: npm run bench [-- <section>...] [--quick] [--list] [--cpu-prof] [--package DIR]

Runs the named bench sections (all of them when none is named), prints a table
with PASS/MISS per target, and writes the figures to bench/results/*.json.
  --list       list the sections and exit
  --quick      short runs to check the harness (figures not representative)
  --cpu-prof   run the proxy under load with node --cpu-prof (profiles in bench/results/profiles/)
  --package DIR  measure another build (a directory with bin/, dist/ and package.json,
               e.g. an older commit built with tsup) instead of building this checkout`;

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);

async function loadSections(): Promise<BenchSection[]> {
  const files = readdirSync(benchDir).filter((f) => f.endsWith('.bench.ts')).sort();
  const all: BenchSection[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(benchDir, file)).href)) as { sections?: BenchSection[] };
    if (!Array.isArray(module.sections)) throw new Error(`bench/${file} must export sections: BenchSection[].`);
    all.push(...module.sections);
  }
  return all;
}

function machine() {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        quick: { type: 'boolean' },
        list: { type: 'boolean' },
        'cpu-prof': { type: 'boolean' },
        package: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${help}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const available = await loadSections();
  if (values.list) {
    for (const s of available) process.stdout.write(`${s.name.padEnd(14)} ${s.description}\n`);
    return 0;
  }
  const unknown = positionals.filter((name) => !available.some((s) => s.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown bench section(s): ${unknown.join(', ')}. Sections: ${available.map((s) => s.name).join(', ')}.\n`);
    return 2;
  }
  const selected = positionals.length > 0 ? available.filter((s) => positionals.includes(s.name)) : available;

  const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const profileDir = join(resultsDir, 'profiles');
  if (values['cpu-prof']) mkdirSync(profileDir, { recursive: true });
  const tmpDir = mkdtempSync(join(tmpdir(), 'tokenpak-bench-'));
  const context: BenchContext = {
    root,
    packageDir: values.package !== undefined ? resolve(values.package) : join(tmpDir, 'package'),
    quick: values.quick === true,
    proxyNodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    tmpDir,
    log,
  };

  const startedAt = new Date();
  const loadBefore = loadavg();
  const results: Array<{ name: string; result: SectionResult; seconds: number }> = [];
  const failures: Array<{ name: string; error: string }> = [];
  try {
    if (values.package === undefined) {
      ensureBuilt(root, log);
      await snapshotPackage(root, tmpDir, log);
    } else if (!existsSync(join(context.packageDir, 'bin/tokenpak.js')) || !existsSync(join(context.packageDir, 'dist/cli/main.js'))) {
      throw new Error(`--package ${values.package}: expected bin/tokenpak.js and dist/cli/main.js there (build it with npx tsup).`);
    }
  } catch (error) {
    rmSync(tmpDir, { recursive: true, force: true });
    process.stderr.write(`[bench] cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  try {
    for (const section of selected) {
      log(`section ${section.name}: ${section.description}`);
      const t0 = performance.now();
      try {
        const result = await section.run(context);
        const seconds = Math.round((performance.now() - t0) / 1000);
        results.push({ name: section.name, result, seconds });
        log(`section ${section.name} done in ${seconds} s`);
      } catch (error) {
        failures.push({ name: section.name, error: error instanceof Error ? error.message : String(error) });
        log(`section ${section.name} FAILED: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }

  const info = machine();
  const loadAfter = loadavg();
  const header = [
    `TokenPak bench, ${startedAt.toISOString()}${context.quick ? ' (QUICK: not representative)' : ''}${values.package !== undefined ? ` (package: ${context.packageDir})` : ''}`,
    `Machine: ${info.nproc} CPUs, ${info.cpu}, Node ${info.node}; load average ${loadBefore[0]!.toFixed(2)} before, ${loadAfter[0]!.toFixed(2)} after`,
    `Took ${Math.round((Date.now() - startedAt.getTime()) / 1000)} s: ${results.map((r) => `${r.name} ${r.seconds} s`).join(', ')}`,
  ].join('\n');
  process.stdout.write(`\n${header}\n\n${formatReport(results)}\n`);
  for (const f of failures) process.stdout.write(`\nSection ${f.name} FAILED: ${f.error}\n`);

  const file = join(resultsDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ startedAt: startedAt.toISOString(), quick: context.quick, package: values.package !== undefined ? context.packageDir : 'this checkout', machine: info, loadavg: { before: loadBefore, after: loadAfter }, sections: Object.fromEntries(results.map((r) => [r.name, { seconds: r.seconds, ...r.result }])), failures }, null, 2)}\n`,
  );
  process.stdout.write(`\nResults written to ${file}\n`);
  // A missed target is a finding, reported in the table; only a failed section is an error.
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
