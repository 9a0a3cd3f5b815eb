/**
 * `binary`: the single-file binary (`npm run build:binary`): its size, and its
 * cold start (spawn to first 200 on /v1/messages) against `node
 * bin/tokenpak.js proxy`, runs alternating, median of 5 each.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildBinary } from '../scripts/build-binary.ts';
import { freePort } from './lib/processes.ts';
import { proxyArgs, proxyWorkDir, timeToFirst200, writeBenchConfig } from './lib/servers.ts';
import { median, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const RUNS = 5;

async function run(context: BenchContext): Promise<SectionResult> {
  context.log('binary: building (npm run build:binary)');
  const buildStarted = performance.now();
  const built = await buildBinary(join(context.tmpDir, 'tokenpak-binary'));
  const buildMs = performance.now() - buildStarted;
  const config = writeBenchConfig(context.tmpDir);
  const nodeMs: number[] = [];
  const binaryMs: number[] = [];
  const nodeCpuMs: number[] = [];
  const binaryCpuMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    context.log(`binary: run ${i + 1}/${RUNS}`);
    // Alternating, each in a fresh directory (a new SQLite call log each time), so both see the same load.
    const nodePort = await freePort();
    const viaNode = await timeToFirst200(proxyArgs(context, config, nodePort), nodePort, { cwd: proxyWorkDir(context) });
    nodeMs.push(viaNode.ms);
    nodeCpuMs.push(viaNode.cpuMs);
    const binaryPort = await freePort();
    const viaBinary = await timeToFirst200(['proxy', '--config', config, '--port', String(binaryPort)], binaryPort, { cwd: proxyWorkDir(context), command: built.file });
    if (viaBinary.exitCode !== 0) throw new Error(`The binary's proxy exited with code ${viaBinary.exitCode} on SIGTERM (expected 0).`);
    binaryMs.push(viaBinary.ms);
    binaryCpuMs.push(viaBinary.cpuMs);
  }
  const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);
  const row = (name: string, ms: number[], cpu: number[]) => [name, round(median(ms), 1), round(Math.min(...ms), 1), round(Math.max(...ms), 1), ms.map((v) => Math.round(v)).join(', '), Math.round(median(cpu))];
  return {
    tables: [
      {
        title: `Single-file binary: cold start, spawn to first 200 on POST /v1/messages (${RUNS} runs each, alternating)`,
        columns: ['command', 'median ms', 'min ms', 'max ms', 'runs ms', 'CPU ms (median)'],
        rows: [row('node bin/tokenpak.js proxy', nodeMs, nodeCpuMs), row('binary: tokenpak proxy', binaryMs, binaryCpuMs)],
        notes: [
          `Binary: ${mb(built.bytes)} MB (node ${process.version} itself ${mb(statSync(process.execPath).size)} MB before stripping its symbol table; the bundled CLI ${mb(built.bundleBytes)} MB, plus its code cache). Built in ${round(buildMs / 1000, 1)} s.`,
          'Same config and polling as the cold-start section (mock at latency_ms 0, a fresh SQLite call log per start).',
        ],
      },
    ],
    targets: [],
    data: { bytes: built.bytes, bundleBytes: built.bundleBytes, buildMs, nodeMs, binaryMs, nodeCpuMs, binaryCpuMs },
  };
}

export const sections: BenchSection[] = [{ name: 'binary', description: 'the single-file binary: size, and cold start against node bin/tokenpak.js', run }];
