/** Runs the load generator (load-worker.ts) in a child process and reads its result. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One load run. */
export interface LoadOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Concurrent connections (keep-alive, one request in flight each). */
  connections: number;
  /** Run for this long... */
  durationS?: number;
  /** ...or until this many requests have been answered. */
  amount?: number;
}

/** What one load run measured, from the load generator's side. */
export interface LoadResult {
  connections: number;
  /** Responses received. */
  requests: number;
  /** Responses whose status was not 200. */
  non200: number;
  /** Connection errors. */
  errors: number;
  timeouts: number;
  /** Wall time of the run, connection set-up included. */
  durationS: number;
  /** Responses per second over the run. */
  rps: number;
  /** Latency percentiles, request written to response complete, in ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function runLoad(root: string, options: LoadOptions): Promise<LoadResult> {
  const { stdout } = await run(process.execPath, [join(root, 'bench/lib/load-worker.ts'), JSON.stringify(options)], {
    cwd: root,
    timeout: ((options.durationS ?? 120) + 60) * 1000,
    maxBuffer: 1 << 20,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadResult;
  if (result.non200 > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`Load run against ${options.url} (c=${options.connections}) had ${result.non200} non-200 answers, ${result.errors} errors, ${result.timeouts} timeouts: the figures would be meaningless.`);
  }
  if (result.requests === 0) throw new Error(`Load run against ${options.url} got no answers.`);
  return result;
}
