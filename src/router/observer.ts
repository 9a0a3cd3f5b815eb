/**
 * The one hook mechanism for operations: metrics, traces and limits all watch
 * calls through {@link CallObserver}, and limits refuse them through
 * {@link Admission}. The router calls them; with none registered it skips them
 * (no timing, no allocation).
 *
 * Register observers with `startProxy({ observers: [...] })` (or
 * `createRouter({ observers })`); they outlive a config reload, the router does
 * not.
 */
import type { RequestHeaders, StopReason } from '../canonical/types.ts';
import type { AttemptRecord, CallFormat, CallRecord } from '../logs/types.ts';

/** A call as it starts (or is refused before routing). */
export interface ObservedCall {
  requestId: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /** `performance.now()` at the start; the call record's latency is measured from here. */
  started: number;
  clientFormat: CallFormat;
  /** The model the client asked for, as sent: unbounded, never use it as a metric label. */
  model: string;
  /**
   * The configured route's name (equal to `model`) when the model is configured; undefined
   * for an unknown model or a body that named none. Bounded: safe as a metric label.
   */
  route: string | undefined;
  stream: boolean;
  /** The client's request headers (credentials read as absent), for `traceparent` and the like. */
  headers: RequestHeaders | undefined;
  /** Who the client is, when the server knows (an id of its `server.auth` key, never the key). */
  client: string | undefined;
}

/** One try at one provider. */
export interface ObservedAttempt {
  /** Configured provider name. */
  provider: string;
  providerType: string;
  /** The upstream model sent to it. */
  model: string;
  /** 0 for the call's first try, then 1, 2, … (retries at one provider count too). */
  index: number;
  /** `performance.now()` when the try starts (later than now for a retry that first waits). */
  started: number;
}

/** How a call's time was spent. */
export interface CallTimings {
  /** The whole call (the call record's `latencyMs`). */
  latencyMs: number;
  /** Time to the first streamed event, for streams that produced one. */
  ttftMs: number | undefined;
  /**
   * Time spent waiting on providers: each try's wait for its answer (for a stream,
   * for each event) plus retry back-off. `latencyMs - upstreamMs` is TokenPak's own
   * overhead (for a stream it includes rendering and the client's reading).
   */
  upstreamMs: number;
}

/** What answered a call that succeeded (traces report it as the GenAI response attributes). */
export interface CallAnswer {
  /** The model as the upstream named it in its answer (often a dated version of the one asked for). */
  model: string;
  /** Why the answer ended; undefined for embeddings. */
  stopReason: StopReason | undefined;
}

/** Watches one call; every method is optional. */
export interface CallWatch {
  /**
   * A try starts. Headers returned are sent upstream with it (W3C `traceparent`);
   * for a provider that retries by itself, only those of its first try are sent.
   */
  onAttemptStart?(attempt: ObservedAttempt): Readonly<Record<string, string>> | void;
  /** A try ended; its record as the call log will hold it. */
  onAttemptEnd?(attempt: AttemptRecord, index: number): void;
  /** The call ended and was appended to the call log; `answer` is undefined when it failed. */
  onCallEnd?(call: CallRecord, timings: CallTimings, answer: CallAnswer | undefined): void;
}

/**
 * Watches calls: chat answers, streams and embeddings (everything that goes to the call
 * log, refused requests included; token counts are free and not watched). Called on the
 * hot path: keep it synchronous and cheap, and never throw (a hook that throws is caught: the call stands, and the error becomes one process warning; see {@link observerFailed}).
 */
export interface CallObserver {
  /** A call starts; returns its watcher, or undefined to ignore it. */
  onCallStart(call: ObservedCall): CallWatch | undefined;
}

/**
 * Lets a call through or refuses it, before any provider is tried (after the body was
 * parsed and the client key checked). Refuse by throwing a `TokenPakError` (for a limit:
 * status 429 with `retryAfterSeconds`); the refusal is logged, watched and rendered in
 * the client's wire format like any other error.
 */
export type Admission = (call: ObservedCall) => void | Promise<void>;

const reported = new Set<string>();

/**
 * What the router does with an observer's hook that threw: the call it watched was
 * answered and logged, so the failure must not turn it into an error. It becomes a
 * process warning (printed on stderr by the CLI), once per distinct message, so a
 * broken metrics or tracing hook is seen without flooding the output per call.
 */
export function observerFailed(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  if (reported.has(message) || reported.size >= 100) return;
  reported.add(message);
  process.emitWarning(`A call observer (metrics, traces or limits) failed; the call itself was answered and logged: ${message}`, { code: 'TOKENPAK_OBSERVER' });
}

/** Calls each observer; undefined when none watches (the router then skips all bookkeeping). */
export function watchCall(observers: readonly CallObserver[], call: ObservedCall): CallWatch | undefined {
  if (observers.length === 1) return observers[0]!.onCallStart(call);
  const watches: CallWatch[] = [];
  for (const observer of observers) {
    const watch = observer.onCallStart(call);
    if (watch) watches.push(watch);
  }
  if (watches.length === 0) return undefined;
  if (watches.length === 1) return watches[0];
  return {
    onAttemptStart(attempt) {
      let headers: Record<string, string> | undefined;
      for (const watch of watches) {
        const more = watch.onAttemptStart?.(attempt);
        if (more) headers = { ...headers, ...more };
      }
      return headers;
    },
    onAttemptEnd(attempt, index) {
      for (const watch of watches) watch.onAttemptEnd?.(attempt, index);
    },
    onCallEnd(call, timings, answer) {
      for (const watch of watches) watch.onCallEnd?.(call, timings, answer);
    },
  };
}
