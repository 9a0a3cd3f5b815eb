/**
 * The load generator, run as its own process so that it never shares a CPU
 * queue with the server it measures: `node bench/lib/load-worker.ts '<json>'`.
 * Drives autocannon and prints one JSON line (a LoadResult). Latencies are
 * taken from autocannon's per-response times (sub-millisecond), since its
 * own histogram keeps whole milliseconds only.
 */
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { percentile } from './stats.ts';
import type { LoadOptions, LoadResult } from './load.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
let latencies = new Float64Array(1 << 16);
let count = 0;
let non200 = 0;

const started = performance.now();
const instance = autocannon(
  {
    url: options.url,
    method: 'POST',
    body: options.body,
    headers: options.headers,
    connections: options.connections,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationS }),
    timeout: 10,
  },
  (error, result) => {
    const elapsedS = (performance.now() - started) / 1000;
    if (error) {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    }
    const sorted = latencies.subarray(0, count).sort();
    const out: LoadResult = {
      connections: options.connections,
      requests: count,
      non200,
      errors: result.errors,
      timeouts: result.timeouts,
      durationS: elapsedS,
      rps: count / elapsedS,
      p50Ms: count > 0 ? percentile(sorted, 50) : NaN,
      p99Ms: count > 0 ? percentile(sorted, 99) : NaN,
      maxMs: count > 0 ? sorted[count - 1]! : NaN,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
);
instance.on('response', (_client, statusCode, _bytes, responseTime) => {
  if (statusCode !== 200) non200++;
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[count++] = responseTime;
});
