/**
 * The "200 MB answer was passed through (+1 GB RSS)", at its own
 * scale (issue 11, item 2): an upstream streams a ~200 MB answer to the built
 * `tokenpak proxy` running with the default `max_response_bytes` (32 MiB).
 * The client gets a 502 in its own format (an error event for a stream), the
 * upstream is cut off past the limit, the proxy's resident memory rises by
 * less than 100 MB (JSON) or 200 MB (a stream), and `/healthz` keeps answering.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, tempDir, useCliCleanup, type RunningProxy } from '../cli-logs/helpers.ts';
import { healthCheck } from './helpers.ts';

useCliCleanup();

const ANSWER_BYTES = 200 * 1024 * 1024;
const DEFAULT_LIMIT = 32 * 1024 * 1024;
const PIECE = 64 * 1024;

/** Writes `pieces()` until `total` bytes are sent or the reader goes away, waiting for it when its buffers are full. */
async function pour(res: ServerResponse, total: number, piece: (i: number) => string): Promise<number> {
  let sent = 0;
  for (let i = 0; sent < total && !res.destroyed; i++) {
    const chunk = piece(i);
    sent += Buffer.byteLength(chunk);
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const go = () => {
          res.off('drain', go).off('close', go);
          resolve();
        };
        res.on('drain', go).on('close', go);
      });
    }
  }
  res.end();
  return sent;
}

/** An OpenAI-compatible upstream whose every answer is ~200 MB of text, as JSON or as a stream. */
async function hugeUpstream(): Promise<{ url: string; server: Server; sent: number[] }> {
  const sent: number[] = [];
  const text = 'x'.repeat(PIECE);
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', async () => {
      const { stream, messages } = JSON.parse(body) as { stream?: boolean; messages: { content: string }[] };
      // The warm-up call gets a small answer.
      const total = messages[0]!.content === 'warm up' ? PIECE : ANSWER_BYTES;
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const delta = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
        sent.push(await pour(res, total, () => delta));
      } else {
        // No Content-Length: the proxy learns the size only by reading.
        res.writeHead(200, { 'content-type': 'application/json' });
        const head = '{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"';
        const tail = '"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';
        sent.push(await pour(res, total, (i) => (i === 0 ? head : i * PIECE >= total - PIECE ? `${text}${tail}` : text)));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, sent };
}

/** The resident set size of a process, in bytes (Linux). */
function rss(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line[1]) * 1024;
}

interface Watch {
  /** How far the proxy's RSS rose above where it was when the probe began, at its highest. */
  rssGrowth: number;
  healthChecks: number;
  slowestHealthMs: number;
}

/** Runs `work` while sampling the proxy's RSS and asking /healthz on new connections, until it settles. */
async function watch<T>(proxy: RunningProxy, work: () => Promise<T>): Promise<{ result: T } & Watch> {
  let done = false;
  const seen: Watch = { rssGrowth: 0, healthChecks: 0, slowestHealthMs: 0 };
  const before = rss(proxy.child.pid!);
  const sample = () => (seen.rssGrowth = Math.max(seen.rssGrowth, rss(proxy.child.pid!) - before));
  const sampler = setInterval(sample, 10);
  const running = work().finally(() => (done = true));
  do {
    seen.slowestHealthMs = Math.max(seen.slowestHealthMs, await healthCheck(proxy.url));
    seen.healthChecks++;
  } while (!done);
  clearInterval(sampler);
  sample();
  return { result: await running, ...seen };
}

let upstream: Awaited<ReturnType<typeof hugeUpstream>>;
let proxy: RunningProxy;
let client: OpenAI;

beforeAll(async () => {
  upstream = await hugeUpstream();
  const dir = tempDir('large-answers');
  const config = join(dir, 'tokenpak.config.yaml');
  writeFileSync(config, `providers:\n  openai: {type: openai, base_url: ${upstream.url}/v1, api_key: sk-test-large}\nmodels:\n  gpt-4o: {provider: openai}\n`);
  proxy = await startProxy(['--config', config, '--port', '0'], { cwd: dir });
  // A real client, as users run one; a 502 is not retried so that each probe is one call.
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  // Each probe's RSS is measured from a proxy that has served a call through its upstream client (undici loaded).
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'warm up' }] });
});

afterAll(async () => {
  proxy?.child.kill('SIGTERM');
  await proxy?.exited;
  await new Promise((resolve) => upstream?.server.close(resolve));
});

describe('a 200 MB upstream answer with the default max_response_bytes', () => {
  it('as JSON: a 502 in the OpenAI format naming the setting; RSS within 100 MB; /healthz answered throughout', async () => {
    const seen = await watch(proxy, () => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).then(() => undefined, (error: unknown) => error));
    expect(seen.result).toBeInstanceOf(OpenAI.APIError);
    const error = seen.result as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(502);
    expect(error.message).toMatch(new RegExp(`sent an answer larger than ${DEFAULT_LIMIT} bytes \\(providers\\.openai\\.max_response_bytes\\); it was dropped`));
    // The upstream stopped well short of its 200 MB: the proxy closed the connection past the limit.
    expect(upstream.sent.at(-1)).toBeLessThan(ANSWER_BYTES);
    // The answer is read up to the limit and dropped: at most 32 MiB held at once (it was +1 GB RSS for 200 MB).
    expect(seen.rssGrowth, `RSS grew by ${Math.round(seen.rssGrowth / 1e6)} MB`).toBeLessThan(100 * 1024 * 1024);
    expect(seen.healthChecks).toBeGreaterThan(1);
    expect(seen.slowestHealthMs, `a /healthz waited ${Math.round(seen.slowestHealthMs)} ms`).toBeLessThan(2_000);
  }, 60_000);

  it('as a stream: the text so far, then an error event in the OpenAI format; RSS within 200 MB; /healthz answered throughout', async () => {
    const seen = await watch(proxy, async () => {
      let received = 0;
      try {
        const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] });
        for await (const chunk of stream) received += chunk.choices[0]?.delta.content?.length ?? 0;
        return { received, error: undefined };
      } catch (error) {
        return { received, error };
      }
    });
    const { received, error } = seen.result;
    // The SDK raises the stream's error event as an APIError with the event's message.
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toMatch(new RegExp(`sent an answer larger than ${DEFAULT_LIMIT} bytes \\(providers\\.openai\\.max_response_bytes\\)`));
    // Each wait for a slow client to drain used to leave a 'close' listener behind (a warning on stderr).
    expect(proxy.output()).not.toMatch(/MaxListenersExceededWarning/);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(DEFAULT_LIMIT);
    expect(upstream.sent.at(-1)).toBeLessThan(ANSWER_BYTES);
    // A stream passes 32 MiB through, keeps the text so far for the call log, and leaves the
    // garbage of ~500 re-encoded 64 KB events to the GC: peaks measured 77-138 MB on 2026-11-30.
    expect(seen.rssGrowth, `RSS grew by ${Math.round(seen.rssGrowth / 1e6)} MB`).toBeLessThan(200 * 1024 * 1024);
    expect(seen.healthChecks).toBeGreaterThan(1);
    expect(seen.slowestHealthMs, `a /healthz waited ${Math.round(seen.slowestHealthMs)} ms`).toBeLessThan(2_000);
  }, 60_000);
});
