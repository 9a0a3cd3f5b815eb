/**
 * Prometheus metrics, kept by a {@link CallObserver} (src/router/observer.ts)
 * and rendered with prom-client. Loaded only when the config has `metrics:`
 * (prom-client takes tens of milliseconds to import).
 *
 * Labels are bounded: `model` is a configured route name or `(unknown)`,
 * `provider` a configured provider name or `(none)`, `outcome` `ok` or
 * `error`. No request ids, prompts or client keys.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptRecord, CallRecord } from '../logs/types.ts';
import type { CallObserver, CallTimings, CallWatch, ObservedCall } from '../router/observer.ts';
import type { Provider } from '../providers/types.ts';

/** The `model` label of a call whose model is not configured (or not given). */
export const UNKNOWN_MODEL = '(unknown)';
/** The `provider` label of a call that no provider answered. */
export const NO_PROVIDER = '(none)';

export interface MetricsOptions {
  /** The providers now serving (read at each scrape, so a reload's new ones show). */
  providers: () => Iterable<Provider>;
}

export interface Metrics {
  /** Register with the proxy (`startProxy({ observers })`). */
  readonly observer: CallObserver;
  /** The metrics; read them with {@link Metrics.render}, which first adds the calls not yet counted. */
  readonly registry: Registry;
  /** The text exposition and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

// Seconds. Calls: from a cached mock answer to a long generation.
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
// TokenPak's own time is meant to be well under a millisecond.
const OVERHEAD_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/** What a call leaves for the metrics until they are next brought up to date. */
interface CallSummary {
  model: string;
  provider: string;
  outcome: 'ok' | 'error';
  stream: 'true' | 'false';
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  ttftMs: number | undefined;
  overheadMs: number | undefined;
  tries: readonly AttemptRecord[];
}

/** Calls summarised before they are added to the metrics without waiting for a scrape. */
const FLUSH_AT = 1_024;

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'tokenpak_requests_total',
    help: 'Client requests that went to the call log, by requested model, answering provider and outcome.',
    labelNames: ['model', 'provider', 'outcome'] as const,
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'tokenpak_attempts_total',
    help: 'Tries at providers (each retry counts), by requested model, provider and outcome.',
    labelNames: ['model', 'provider', 'outcome'] as const,
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: 'tokenpak_fallbacks_total',
    help: 'Moves to the next provider of a route after a failure, by requested model and the provider moved to.',
    labelNames: ['model', 'provider'] as const,
    registers: [registry],
  });
  const inputTokens = new Counter({
    name: 'tokenpak_input_tokens_total',
    help: 'Input tokens of answered calls, by requested model and answering provider.',
    labelNames: ['model', 'provider'] as const,
    registers: [registry],
  });
  const outputTokens = new Counter({
    name: 'tokenpak_output_tokens_total',
    help: 'Output tokens of answered calls, by requested model and answering provider.',
    labelNames: ['model', 'provider'] as const,
    registers: [registry],
  });
  const cost = new Counter({
    name: 'tokenpak_cost_cents_total',
    help: 'Cost in US cents of tries with a known price, by requested model and provider.',
    labelNames: ['model', 'provider'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tokenpak_request_duration_seconds',
    help: 'Whole calls, from routing to the last byte from the provider, by requested model and whether streamed.',
    labelNames: ['model', 'stream'] as const,
    buckets: CALL_BUCKETS,
    registers: [registry],
  });
  const ttft = new Histogram({
    name: 'tokenpak_time_to_first_token_seconds',
    help: 'Streams: time to the first event, by requested model.',
    labelNames: ['model'] as const,
    buckets: CALL_BUCKETS,
    registers: [registry],
  });
  const overhead = new Histogram({
    name: 'tokenpak_overhead_seconds',
    help: "TokenPak's own time in a call: the whole call less the time spent waiting on providers (for streams it includes the client's reading).",
    labelNames: ['stream'] as const,
    buckets: OVERHEAD_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'tokenpak_upstream_connections',
    help: 'Connections of each HTTP provider to its upstream, open and in use.',
    labelNames: ['provider', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const provider of options.providers()) {
        const now = provider.connections?.();
        if (!now) continue;
        this.set({ provider: provider.name, state: 'open' }, now.open);
        this.set({ provider: provider.name, state: 'in_use' }, now.inUse);
      }
    },
  });
  new Gauge({
    name: 'tokenpak_upstream_queued_requests',
    help: 'Requests of each HTTP provider waiting for an upstream connection.',
    labelNames: ['provider'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const provider of options.providers()) {
        const now = provider.connections?.();
        if (now) this.set({ provider: provider.name }, now.queued);
      }
    },
  });

  // prom-client hashes a label set on every inc() and observe(), a few hundred nanoseconds each, and
  // a call touches seven series. So a call only leaves a small summary here; the summaries go into
  // prom-client at the next scrape, or off the request path once enough have piled up.
  const pending: CallSummary[] = [];
  let flushing = false;
  const children = new Map<string, unknown>();
  const childOf = <C>(metric: { labels(...values: string[]): C }, name: string, values: string[]): C => {
    const key = `${name}\u0000${values.join('\u0000')}`;
    let found = children.get(key) as C | undefined;
    if (found === undefined) children.set(key, (found = metric.labels(...values)));
    return found;
  };
  const count = (metric: Counter<string>, ...values: string[]) => childOf(metric, (metric as unknown as { name: string }).name, values);
  const time = (metric: Histogram<string>, ...values: string[]) => childOf(metric, (metric as unknown as { name: string }).name, values);

  const record = ({ model, provider, outcome, stream, inputTokens: input, outputTokens: output, latencyMs, ttftMs, overheadMs, tries }: CallSummary) => {
    let last: string | undefined;
    tries.forEach((attempt, index) => {
      count(attempts, model, attempt.provider, attempt.outcome).inc();
      if (attempt.costCents) count(cost, model, attempt.provider).inc(attempt.costCents);
      // The first try at a provider other than the one before: the route fell back.
      if (index > 0 && last !== attempt.provider) count(fallbacks, model, attempt.provider).inc();
      last = attempt.provider;
    });
    count(requests, model, provider, outcome).inc();
    if (input) count(inputTokens, model, provider).inc(input);
    if (output) count(outputTokens, model, provider).inc(output);
    time(duration, model, stream).observe(latencyMs / 1000);
    if (ttftMs !== undefined) time(ttft, model).observe(ttftMs / 1000);
    if (overheadMs !== undefined) time(overhead, stream).observe(overheadMs / 1000);
  };
  const flush = () => {
    flushing = false;
    for (const summary of pending.splice(0)) record(summary);
  };

  // One watch per model label, shared by its calls: watching a call allocates nothing.
  const watches = new Map<string, CallWatch>();
  const watchOf = (model: string): CallWatch => {
    let watch = watches.get(model);
    if (watch) return watch;
    watch = {
      onCallEnd(call: CallRecord, timings: CallTimings) {
        const ok = call.outcome === 'ok';
        pending.push({
          model,
          provider: call.provider ?? NO_PROVIDER,
          outcome: call.outcome,
          stream: call.stream ? 'true' : 'false',
          inputTokens: ok ? call.inputTokens : 0,
          outputTokens: ok ? call.outputTokens : 0,
          latencyMs: timings.latencyMs,
          ttftMs: timings.ttftMs,
          // A refused call never reached a provider: its time says nothing about TokenPak's overhead on a call.
          overheadMs: call.attempts.length > 0 ? Math.max(0, timings.latencyMs - timings.upstreamMs) : undefined,
          tries: call.attempts,
        });
        if (pending.length >= FLUSH_AT && !flushing) {
          flushing = true;
          setImmediate(flush);
        }
      },
    };
    watches.set(model, watch);
    return watch;
  };

  return {
    registry,
    observer: {
      onCallStart: (call: ObservedCall) => watchOf(call.route ?? UNKNOWN_MODEL),
    },
    async render() {
      flush();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
