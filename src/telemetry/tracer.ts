/**
 * OpenTelemetry traces of calls, after the GenAI semantic conventions: one
 * span per call (`chat gpt-4`, the gateway's server span), one child span per
 * attempt (`chat gpt-4o`, a client span to the provider). The client's W3C
 * `traceparent` is the call span's parent, and each attempt sends its own
 * span's `traceparent` upstream. Spans are sent over OTLP/HTTP (JSON) in
 * batches.
 *
 * The OpenTelemetry packages are imported here only, dynamically, by
 * {@link createTraceObserver}: a proxy without traces never loads them.
 */
import type { Attributes, Context, Span, TextMapGetter, Tracer } from '@opentelemetry/api';
import type { Config } from '../config/load.ts';
import type { ProviderSettings } from '../config/schema.ts';
import type { AttemptRecord, CallFormat, CallRecord } from '../logs/types.ts';
import type { CallAnswer, CallObserver, CallWatch, ObservedAttempt, ObservedCall } from '../router/observer.ts';
import type { StopReason } from '../canonical/types.ts';
import type { TracingSettings } from './settings.ts';

/** The longest model name a span keeps of what a client sent for a model no route serves. */
const MAX_MODEL_CHARS = 200;

function clip(model: string): string {
  return model.length > MAX_MODEL_CHARS ? `${model.slice(0, MAX_MODEL_CHARS)}…` : model;
}

/** How long a stopping proxy waits for its last spans to be taken by the collector. */
const SHUTDOWN_TIMEOUT_MS = 2_000;

/** A call observer that traces, and flushes what it holds when the proxy stops. */
export interface TraceObserver extends CallObserver {
  /** Sends the spans still buffered (waiting at most 2 s for the collector), then stops exporting; rejects when they were not sent. */
  shutdown(): Promise<void>;
}

export interface TraceObserverOptions {
  settings: TracingSettings;
  /** The running config (read at each attempt: it may be reloaded), for the providers' `server.address`. */
  config: () => Pick<Config, 'providers'>;
  /** Environment for the providers' default base URLs (`OPENAI_BASE_URL`, …); default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Told when an export fails, at most once a minute (spans are dropped, calls are not). */
  warn?: (message: string) => void;
}

const WARN_EVERY_MS = 60_000;

/** `gen_ai.response.finish_reasons` values for the canonical stop reasons. */
const FINISH_REASON: Record<StopReason, string> = { stop: 'stop', length: 'length', 'tool-calls': 'tool_call', 'content-filter': 'content_filter' };

const operationOf = (format: CallFormat) => (format === 'openai-embeddings' ? 'embeddings' : 'chat');

/** Loads the OpenTelemetry SDK and the OTLP/HTTP exporter, and returns the observer. */
export async function createTraceObserver(options: TraceObserverOptions): Promise<TraceObserver> {
  const [api, { W3CTraceContextPropagator }, { TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const { settings } = options;
  const env = options.env ?? process.env;
  const exporter = new OTLPTraceExporter({
    ...(settings.endpoint !== undefined ? { url: settings.endpoint } : {}),
    ...(settings.headers !== undefined ? { headers: settings.headers } : {}),
  });
  // The batch processor exports from inside the `span.end()` that fills a batch, i.e. on some
  // request's path, and the export serialises the whole batch to JSON synchronously (2 to 3 µs a
  // span under the bench's load): deferred to the next turn of the event loop, that request's answer is written first.
  const send = exporter.export.bind(exporter);
  // The SDK drops a failed batch silently; an operator should learn that the collector is unreachable.
  const { warn } = options;
  let warnedAt = -Infinity;
  exporter.export = (spans, done) => {
    setImmediate(() =>
      send(spans, (result) => {
        if (warn && result.code !== 0 && performance.now() - warnedAt >= WARN_EVERY_MS) {
          warnedAt = performance.now();
          warn(`traces: ${spans.length} span(s) could not be sent (${result.error?.message ?? 'export failed'}); check telemetry.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT. Calls are not affected.`);
        }
        done(result);
      }),
    );
  };
  // Not registered as the global provider: TokenPak's spans are its own, and an embedding application keeps its tracing.
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter, ...settings.batch })],
  });
  const tracer: Tracer = provider.getTracer('tokenpak');
  const propagator = new W3CTraceContextPropagator();
  const getter: TextMapGetter<ObservedCall['headers']> = {
    get: (headers, key) => headers?.get(key) ?? undefined,
    keys: () => ['traceparent', 'tracestate'],
  };

  // Parsed once per provider settings object (a reload brings new ones): attempts are on the hot path.
  const servers = new WeakMap<object, Attributes>();
  const serverOf = (name: string): Attributes => {
    const provider = options.config().providers[name];
    if (!provider) return {};
    let attributes = servers.get(provider);
    if (!attributes) {
      attributes = serverAttributes(baseUrlOf(provider, env));
      servers.set(provider, attributes);
    }
    return attributes;
  };

  return {
    onCallStart(call): CallWatch {
      const operation = operationOf(call.clientFormat);
      const parent: Context = propagator.extract(api.ROOT_CONTEXT, call.headers, getter);
      // The route name, not the raw model: a span name must not take any string a client sends.
      const span = tracer.startSpan(
        call.route ? `${operation} ${call.route}` : operation,
        {
          kind: api.SpanKind.SERVER,
          startTime: call.startedAt,
          attributes: {
            'gen_ai.operation.name': operation,
            // A configured route as is; any other string a client sent, cut (a refused 300 KB model name must not become a 300 KB attribute).
            'gen_ai.request.model': call.route ?? clip(call.model),
            'tokenpak.request_id': call.requestId,
            'tokenpak.client_format': call.clientFormat,
            'tokenpak.stream': call.stream,
          },
        },
        parent,
      );
      const callContext = api.trace.setSpan(api.ROOT_CONTEXT, span);
      // Performance-clock times of the call as epoch milliseconds, for the spans' start and end.
      const epoch = (performanceTime: number) => call.startedAt + (performanceTime - call.started);
      const attempts = new Map<number, { span: Span; started: number }>();
      return {
        onAttemptStart(attempt: ObservedAttempt) {
          const child = tracer.startSpan(
            `${operation} ${attempt.model}`,
            {
              kind: api.SpanKind.CLIENT,
              startTime: epoch(attempt.started),
              attributes: {
                'gen_ai.operation.name': operation,
                // The provider's type: openai and anthropic are the conventions' own names; mock and custom types say what they are.
                'gen_ai.provider.name': attempt.providerType,
                'gen_ai.request.model': attempt.model,
                'tokenpak.provider': attempt.provider,
                'tokenpak.attempt': attempt.index,
                ...serverOf(attempt.provider),
              },
            },
            callContext,
          );
          attempts.set(attempt.index, { span: child, started: attempt.started });
          return traceHeaders(child);
        },
        onAttemptEnd(record: AttemptRecord, index: number) {
          const attempt = attempts.get(index);
          if (!attempt) return;
          attempts.delete(index);
          const { span: child } = attempt;
          child.setAttributes(usageAttributes(record.inputTokens, record.outputTokens));
          if (record.outcome === 'error') fail(child, record.errorCode, record.status, record.errorMessage);
          child.end(epoch(attempt.started) + record.latencyMs);
        },
        onCallEnd(record: CallRecord, _timings, answer: CallAnswer | undefined) {
          const last = record.attempts.at(-1);
          if (last) span.setAttribute('gen_ai.provider.name', last.providerType);
          if (record.provider) span.setAttribute('tokenpak.provider', record.provider);
          if (answer) {
            span.setAttribute('gen_ai.response.model', answer.model);
            if (answer.stopReason) span.setAttribute('gen_ai.response.finish_reasons', [FINISH_REASON[answer.stopReason]]);
          }
          span.setAttributes(usageAttributes(record.inputTokens, record.outputTokens));
          if (record.costCents !== null) span.setAttribute('tokenpak.cost_cents', record.costCents);
          span.setAttribute('http.response.status_code', record.status);
          if (record.outcome === 'error') fail(span, record.errorCode, record.status, record.errorMessage);
          span.end(record.startedAt + record.latencyMs);
        },
      };
    },
    async shutdown() {
      // A stop must not wait on a collector that is down or slow: the exporter retries with
      // backoff for its whole timeout (10 s by default), and a supervisor's kill comes sooner.
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the collector did not take them within ${SHUTDOWN_TIMEOUT_MS} ms`)), SHUTDOWN_TIMEOUT_MS);
      });
      try {
        await Promise.race([provider.shutdown(), gaveUp]);
      } finally {
        clearTimeout(timer);
      }
    },
  };

  function fail(span: Span, code: string | undefined, status: number, message: string | undefined) {
    // error.type: a low-cardinality class of the error; TokenPak's stable codes are exactly that.
    span.setAttribute('error.type', code ?? String(status));
    span.setStatus({ code: api.SpanStatusCode.ERROR, ...(message !== undefined ? { message } : {}) });
  }
}

/**
 * The W3C `traceparent` (and `tracestate`) naming the attempt's span, as the propagator's inject
 * writes them, without the two contexts inject needs: this runs once per attempt.
 */
function traceHeaders(span: Span): Record<string, string> {
  const { traceId, spanId, traceFlags, traceState } = span.spanContext();
  const headers: Record<string, string> = { traceparent: `00-${traceId}-${spanId}-0${Number(traceFlags || 0).toString(16)}` };
  const state = traceState?.serialize();
  if (state) headers.tracestate = state;
  return headers;
}

function usageAttributes(input: number | undefined, output: number | undefined): Attributes {
  return {
    ...(input !== undefined ? { 'gen_ai.usage.input_tokens': input } : {}),
    ...(output !== undefined ? { 'gen_ai.usage.output_tokens': output } : {}),
  };
}

function serverAttributes(url: string | undefined): Attributes {
  if (!url) return {};
  try {
    const parsed = new URL(url);
    const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
    return { 'server.address': parsed.hostname, 'server.port': port };
  } catch {
    return {};
  }
}

/** The provider's API base URL, as its HTTP client resolves it; undefined for providers that call no server. */
function baseUrlOf(settings: ProviderSettings | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (settings?.type === 'openai') return settings.base_url ?? (env.OPENAI_BASE_URL?.trim() || 'https://api.openai.com/v1');
  if (settings?.type === 'anthropic') return settings.base_url ?? (env.ANTHROPIC_BASE_URL?.trim() || 'https://api.anthropic.com');
  return undefined;
}
