/**
 * Builds the call log's records: one {@link AttemptRecord} per provider tried,
 * one {@link CallRecord} per client request (appended to the log). The router
 * decides what happened; this module says how it is written down.
 */
import type { Usage } from '../canonical/types.ts';
import type { TokenPakError } from '../errors.ts';
import type { AttemptRecord, CallFormat, CallLogStore, CallRecord } from '../logs/types.ts';
import type { Pricer } from '../pricing/pricing.ts';

/** Who was tried: a provider's name and type, and the upstream model sent to it. */
export interface AttemptTarget {
  provider: string;
  providerType: string;
  model: string;
}

/** What is known of a call when it starts. */
export interface CallStart {
  requestId: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /** `performance.now()` at the start, for the latency. */
  started: number;
  clientFormat: CallFormat;
  /** The model the client asked for. */
  model: string;
  stream: boolean;
  /** The request as the client sent it (kept only with `logs.capture_bodies`). */
  rawBody?: unknown;
}

/** How a call ended. */
export type CallResult =
  | { ok: true; usage: Usage; ttftMs?: number; /** Kept only with `logs.capture_bodies`. */ responseBody?: unknown }
  | { ok: false; error: TokenPakError; /** What a stream cut short produced (counted and priced). */ usage?: Usage };

export interface RecorderOptions {
  log: CallLogStore;
  pricer: Pricer;
  /** `logs.capture_bodies`. */
  captureBodies: boolean;
}

export interface Recorder {
  /** A provider that answered. */
  ok(target: AttemptTarget, usage: Usage, started: number, extra?: { ttftMs?: number; warnings?: string[] | undefined }): AttemptRecord;
  /** A provider that failed. */
  failed(target: AttemptTarget, error: TokenPakError, started: number, extra?: { ttftMs?: number; usage?: Usage }): AttemptRecord;
  /** The call's record, appended to the log. */
  finish(call: CallStart, attempts: AttemptRecord[], result: CallResult): CallRecord;
}

export function createRecorder({ log, pricer, captureBodies }: RecorderOptions): Recorder {
  return {
    ok(target, usage, started, extra = {}) {
      return {
        ...target,
        outcome: 'ok',
        status: 200,
        latencyMs: elapsed(started),
        ...(extra.ttftMs !== undefined ? { ttftMs: extra.ttftMs } : {}),
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        costCents: pricer(target.providerType, target.model, usage),
        ...(extra.warnings?.length ? { warnings: extra.warnings } : {}),
      };
    },

    failed(target, error, started, extra = {}) {
      return {
        ...target,
        outcome: 'error',
        status: error.status,
        errorCode: error.code,
        errorMessage: error.detail,
        latencyMs: elapsed(started),
        ...(extra.ttftMs !== undefined ? { ttftMs: extra.ttftMs } : {}),
        ...(extra.usage ? { inputTokens: extra.usage.inputTokens, outputTokens: extra.usage.outputTokens } : {}),
        // A failure before any answer costs nothing; a stream cut short costs what it produced.
        costCents: extra.usage ? pricer(target.providerType, target.model, extra.usage) : 0,
      };
    },

    finish(start, attempts, result) {
      const answered = attempts.findLast((a) => a.outcome === 'ok');
      const call: CallRecord = {
        id: start.requestId,
        startedAt: start.startedAt,
        clientFormat: start.clientFormat,
        model: start.model,
        provider: answered?.provider ?? null,
        upstreamModel: answered?.model ?? null,
        outcome: result.ok ? 'ok' : 'error',
        status: result.ok ? 200 : result.error.status,
        latencyMs: elapsed(start.started),
        inputTokens: result.usage?.inputTokens ?? 0,
        outputTokens: result.usage?.outputTokens ?? 0,
        costCents: sumCost(attempts),
        stream: start.stream,
        attempts,
      };
      if (!result.ok) {
        call.errorCode = result.error.code;
        call.errorMessage = result.error.detail;
      }
      if (result.ok && result.ttftMs !== undefined) call.ttftMs = result.ttftMs;
      if (captureBodies) {
        if (start.rawBody !== undefined) call.requestBody = start.rawBody;
        if (result.ok && result.responseBody !== undefined) call.responseBody = result.responseBody;
      }
      log.append(call);
      return call;
    },
  };
}

/** Milliseconds since `since` (a `performance.now()`), to two decimals. */
export function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 100) / 100;
}

/** The cost of all attempts in US cents; null when one has no known price. */
export function sumCost(attempts: readonly AttemptRecord[]): number | null {
  let total = 0;
  for (const attempt of attempts) {
    if (attempt.costCents === null) return null;
    total += attempt.costCents;
  }
  return Math.round(total * 1e6) / 1e6;
}
