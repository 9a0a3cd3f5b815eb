/**
 * The control channel between a test worker and the run's TokenPak: one TCP
 * connection per worker carrying JSON lines. The worker sends operations
 * (`{ id, op, … }`, answered by `{ re: id, ok, value | error }`); the server
 * pushes events (`{ ev, … }`): finished calls, the end of a request, stray
 * calls, and requests to evaluate function answers, which only the worker
 * can run. Light on purpose: the worker imports this at every file start.
 *
 * Calls, mock calls and stray notices (`seq`-numbered per channel) mostly
 * travel inside the HTTP answer of the worker's own request instead: a JSON
 * answer to a tagged request starts with the channel's undelivered events
 * (lines, then the body; `x-tokenpak-events` says how many characters), so
 * a mocked call costs one loopback round trip and no message on the channel.
 * Events no answer carries go over the channel (batched per turn of the event
 * loop); `x-tokenpak-seq` tells the worker which events the answer's calls
 * need, and `x-tokenpak-ack` on requests lets the server forget delivered ones.
 */

/** Headers the worker's `fetch` adds to requests for the run's TokenPak. */
export const SCOPE_HEADER = 'x-tokenpak-test';
/** `<channel>:<n>`: the server pushes `{ ev: 'done', req }` once the response has been produced and its calls pushed. */
export const REQUEST_HEADER = 'x-tokenpak-req';
/** On a JSON answer to a tagged request: the length (in characters) of the event lines before the body. */
export const EVENTS_HEADER = 'x-tokenpak-events';
/** On a JSON answer to a tagged request: the worker has every event this answer's calls need once it has every event up to this `seq`. */
export const SEQ_HEADER = 'x-tokenpak-seq';
/** On a tagged request: the worker has every event up to this `seq` (the server may forget them). */
export const ACK_HEADER = 'x-tokenpak-ack';
/** Path prefix of a scope (or a channel: the worker's shared URL). */
export const PREFIX = '/__tokenpak/';

/** The `provide` key under which the global setup hands workers the run's TokenPak. */
export const SERVER_KEY = 'tokenpak:server';

/** What the run's TokenPak gives workers (through Vitest's `provide`). */
export interface RunServerInfo {
  /** HTTP base URL (`http://127.0.0.1:<port>`). */
  url: string;
  /** Port of the control channel on 127.0.0.1. */
  controlPort: number;
  /** Shared secret the first control message carries. */
  token: string;
}

/** What a worker knows of a scope without asking: its mocks and the config it runs. */
export interface ScopeInfo {
  id: string;
  url: string;
  /** The config as the scope runs it (plain data). */
  config: unknown;
  /** Mock names with their current settings. */
  mocks: Record<string, Record<string, unknown>>;
  /** For error messages: each provider's type and whether it is enabled. */
  providers: Record<string, { type: string; enabled: boolean }>;
  source: string;
}

/** An error as it crosses the channel. */
export interface WireError {
  code: string;
  message: string;
  status?: number;
}

/**
 * JSON with two extensions for mock controls: RegExp pattern keys
 * (`{ $re: [source, flags] }`) and function answers (`{ $fn: id }`, the id
 * under which the worker keeps the function).
 */
export function encode(value: unknown, registerFunction?: (fn: (...args: unknown[]) => unknown) => number): string {
  return JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    if (v instanceof RegExp) return { $re: [v.source, v.flags] };
    if (typeof v === 'function') {
      if (!registerFunction) return undefined;
      return { $fn: registerFunction(v as (...args: unknown[]) => unknown) };
    }
    return v;
  });
}

/** The inverse of {@link encode}: `$re` becomes a RegExp, `$fn` what `makeFunction` gives. */
export function decode(text: string, makeFunction?: (id: number) => unknown): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (Array.isArray(o.$re) && Object.keys(o).length === 1) return new RegExp(String(o.$re[0]), String(o.$re[1]));
      if (typeof o.$fn === 'number' && Object.keys(o).length === 1 && makeFunction) return makeFunction(o.$fn);
    }
    return v;
  });
}

/** Splits a byte stream into lines. */
export function lineReader(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let buffered = '';
  return (chunk) => {
    buffered += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line) onLine(line);
    }
  };
}
