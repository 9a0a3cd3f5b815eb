/** Starting the two servers under test: the real proxy (its CLI) and the bare node:http ceiling. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, httpCall, poll, readCpuSeconds, spawnNode, type NodeChild } from './processes.ts';
import type { BenchContext } from './types.ts';

/** The recipe's request (step 3). */
export const BENCH_REQUEST = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'Debug my code' }] });
export const BENCH_HEADERS = { 'content-type': 'application/json' };
const EXPECTED_CONTENT = 'Mock response: Debugged your code successfully';

/** The recipe's dev config for gpt-4, with the mock at `latency_ms: 0` so the proxy's own cost is what is measured. */
export function writeBenchConfig(dir: string): string {
  const file = join(dir, 'bench.config.yaml');
  writeFileSync(
    file,
    `providers:
  mock:
    type: mock
    latency_ms: 0
    responses:
      gpt-4:
        default: "Mock GPT-4 response: [mock output for testing]"
        patterns:
          debug: "Mock response: Debugged your code successfully"
          refactor: "Mock response: Code refactored for clarity"
models:
  gpt-4:
    provider: mock
    fallback_provider: mock
`,
  );
  return file;
}

/** A section's own providers and models; `mock` adds settings and answers to the mock provider. */
export interface SectionConfig {
  mock?: { responses?: Record<string, unknown>; [setting: string]: unknown };
  providers?: Record<string, unknown>;
  models?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Writes a section's config beside the mock's gpt-4 `debug` pattern and route, which
 * {@link startProxyProcess} sends to check that the proxy answers. JSON is YAML.
 */
export function writeSectionConfig(dir: string, section: string, config: SectionConfig): string {
  const { mock = {}, providers = {}, models = {}, ...rest } = config;
  const { responses = {}, ...mockSettings } = mock;
  const full = {
    providers: {
      mock: { type: 'mock', ...mockSettings, responses: { 'gpt-4': { patterns: { debug: EXPECTED_CONTENT } }, ...responses } },
      ...providers,
    },
    models: { 'gpt-4': { provider: 'mock' }, ...models },
    ...rest,
  };
  const file = join(dir, `${section}.config.yaml`);
  writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
  return file;
}

export interface RunningServer {
  readonly url: string;
  readonly child: NodeChild;
  stop(): Promise<number | null>;
}

/**
 * A fresh working directory for one proxy process: `tokenpak proxy` keeps its
 * call log (SQLite, by default) under the working directory, and the bench
 * must neither write into the repository nor reuse an earlier run's log.
 */
export function proxyWorkDir(context: BenchContext): string {
  return mkdtempSync(join(context.tmpDir, 'proxy-'));
}

/** The node flags in bin/tokenpak.js's shebang: what `npx tokenpak` runs with. */
export function shebangFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  return /\bnode\s+(.+)$/.exec(first)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
}

/** The proxy's command line (node flags first), as the bin's shebang would run it. */
export function proxyArgs(context: BenchContext, configFile: string, port: number, nodeArgs: readonly string[] = []): string[] {
  const bin = join(context.packageDir, 'bin/tokenpak.js');
  return [...shebangFlags(bin), ...nodeArgs, bin, 'proxy', '--config', configFile, '--port', String(port)];
}

/** `node [nodeArgs] bin/tokenpak.js proxy --config FILE --port N`, once it answers the recipe's request. */
export async function startProxyProcess(context: BenchContext, configFile: string, nodeArgs: readonly string[] = []): Promise<RunningServer & { sampleBody: string }> {
  const port = await freePort();
  const child = spawnNode(proxyArgs(context, configFile, port, nodeArgs), { cwd: proxyWorkDir(context) });
  await child.waitForLine(/listening on/, 10_000);
  const url = `http://127.0.0.1:${port}`;
  const first = await httpCall(`${url}/v1/messages`, { method: 'POST', body: BENCH_REQUEST, headers: BENCH_HEADERS });
  if (first.status !== 200 || JSON.parse(first.body).content !== EXPECTED_CONTENT) {
    await child.stop();
    throw new Error(`The proxy answered the bench request with ${first.status} ${first.body}; expected 200 with content "${EXPECTED_CONTENT}".`);
  }
  return { url, child, sampleBody: first.body, stop: () => child.stop() };
}

/**
 * The ceiling: a bare node:http server that reads the request body (as the
 * proxy must) and answers a fixed JSON body (BENCH_BARE_BODY) on any path.
 * Plain JavaScript run with `node -e`, so that its start-up, like the built
 * proxy's, pays nothing for TypeScript. Prints {"port":N} once listening.
 */
const BARE_SERVER_SOURCE = `
import { createServer } from 'node:http';
const body = Buffer.from(process.env.BENCH_BARE_BODY ?? '{"ok":true}', 'utf8');
const headers = { 'content-type': 'application/json', 'content-length': String(body.byteLength) };
const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, headers); res.end(body); });
});
server.listen(Number(process.env.BENCH_BARE_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n');
});
process.once('SIGTERM', () => { server.close(); server.closeAllConnections(); });
`;

/** The bare server's command line. */
export const bareArgs = ['--input-type=module', '-e', BARE_SERVER_SOURCE];

/** The bare node:http server answering `body`, once it is listening. */
export async function startBareServer(context: BenchContext, body: string, nodeArgs: readonly string[] = []): Promise<RunningServer> {
  const child = spawnNode([...nodeArgs, ...bareArgs], { cwd: context.tmpDir, env: { ...process.env, BENCH_BARE_BODY: body } });
  const line = await child.waitForLine(/^\{"port":\d+\}$/, 10_000);
  const url = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
  return { url, child, stop: () => child.stop() };
}

/**
 * Milliseconds from spawning `args` to the first 200 answer to
 * `POST <url>/v1/messages` (polled on fresh connections, every 2 ms, for at most 30 s),
 * and the CPU time the process had used by then.
 */
export async function timeToFirst200(args: readonly string[], port: number, options: { cwd: string; env?: NodeJS.ProcessEnv; command?: string }): Promise<{ ms: number; cpuMs: number; exitCode: number | null }> {
  const started = performance.now();
  const child = spawnNode(args, options);
  try {
    const ms = await poll(
      async () => {
        const res = await httpCall(`http://127.0.0.1:${port}/v1/messages`, { method: 'POST', body: BENCH_REQUEST, headers: BENCH_HEADERS, timeoutMs: 2_000 });
        return res.status === 200 ? performance.now() - started : undefined;
      },
      {
        maxAttempts: 15_000,
        intervalMs: 2,
        what: `a 200 from ${args.join(' ')}`,
        abortIf: () => (child.process.exitCode !== null ? `it exited with code ${child.process.exitCode}: ${child.output()}` : undefined),
      },
    );
    // CPU time to the first answer: far less sensitive than wall time to other load on the machine.
    const cpuMs = readCpuSeconds(child.pid) * 1000;
    return { ms, cpuMs, exitCode: await child.stop() };
  } catch (error) {
    await child.stop(1_000);
    throw error;
  }
}
