/**
 * The streaming load generator, run as its own process (so that it never
 * shares a CPU queue with the proxy it measures):
 * `node bench/lib/stream-worker.ts '<json StreamLoadOptions>'`.
 * Sends streaming requests over keep-alive connections, `concurrency` at a
 * time, and prints one JSON line (a StreamLoadResult): for each stream the
 * time to its first body byte and the SSE events it carried, counted by
 * their blank-line terminators as they arrive (no parsing on the clock).
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile } from './stats.ts';

/** One streaming load run. */
export interface StreamLoadOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Streams to request in all. */
  requests: number;
  /** Streams in flight at once (one keep-alive connection each). */
  concurrency: number;
}

/** What one streaming load run measured, from the client's side. */
export interface StreamLoadResult {
  concurrency: number;
  streams: number;
  /** Streams that did not answer 200 or ended with a connection error. */
  failed: number;
  /** SSE events per stream (the same for every stream of a deterministic answer). */
  eventsPerStream: number;
  /** Request sent to first body byte, ms. */
  ttfbP50Ms: number;
  ttfbP99Ms: number;
  /** Events per second within one stream (first byte to last), median over streams. */
  streamEventsPerSecond: number;
  /** Events per second over the whole run, all streams together. */
  totalEventsPerSecond: number;
  durationS: number;
}

interface StreamSample {
  ok: boolean;
  ttfbMs: number;
  spanMs: number;
  events: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as StreamLoadOptions;
const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
const NEWLINE = 10;

function one(): Promise<StreamSample> {
  return new Promise((resolve) => {
    const started = performance.now();
    let first = 0;
    let events = 0;
    // The previous chunk ended with a newline: "\n" + "\n..." across chunks is still an event end.
    let lastWasNewline = false;
    const req = request(options.url, { method: 'POST', headers: options.headers, agent }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (first === 0) first = performance.now();
        for (let i = 0; i < chunk.length; i++) {
          const isNewline = chunk[i] === NEWLINE;
          if (isNewline && lastWasNewline) events++;
          lastWasNewline = isNewline;
        }
      });
      res.on('end', () => {
        const ended = performance.now();
        resolve({ ok: res.statusCode === 200, ttfbMs: first - started, spanMs: ended - first, events });
      });
      res.on('error', () => resolve({ ok: false, ttfbMs: 0, spanMs: 0, events }));
    });
    req.on('error', () => resolve({ ok: false, ttfbMs: 0, spanMs: 0, events: 0 }));
    req.end(options.body);
  });
}

const samples: StreamSample[] = [];
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: options.concurrency }, async () => {
    while (next < options.requests) {
      next++;
      samples.push(await one());
    }
  }),
);
const durationS = (performance.now() - started) / 1000;
agent.destroy();

const good = samples.filter((s) => s.ok);
const ttfb = Float64Array.from(good.map((s) => s.ttfbMs)).sort();
const rates = Float64Array.from(good.map((s) => (s.events / Math.max(s.spanMs, 0.001)) * 1000)).sort();
const result: StreamLoadResult = {
  concurrency: options.concurrency,
  streams: samples.length,
  failed: samples.length - good.length,
  eventsPerStream: good[0]?.events ?? 0,
  ttfbP50Ms: percentile(ttfb, 50),
  ttfbP99Ms: percentile(ttfb, 99),
  streamEventsPerSecond: percentile(rates, 50),
  totalEventsPerSecond: good.reduce((sum, s) => sum + s.events, 0) / durationS,
  durationS,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
