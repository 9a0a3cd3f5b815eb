/**
 * The worker's end of the control channel (see protocol.ts): one connection
 * per worker process or thread, kept across test files when Vitest does not
 * isolate them. Requests are answered in order; events are handed to the
 * file session that is running.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { TokenPakError } from '../errors.ts';
import { decode, encode, lineReader, type RunServerInfo, type WireError } from './protocol.ts';

/** Events the run's TokenPak pushes, as the session receives them. */
export interface ChannelEvents {
  /** A finished call (or, with `call` undefined, mock calls made by a request that logged none). */
  call(scope: string, call: unknown, mockCalls: Record<string, unknown[]>): void;
  stray(test: string): void;
}

export interface Channel {
  /** Names this worker's shared URL: `/__tokenpak/<id>`. */
  readonly id: string;
  readonly info: RunServerInfo;
  /** Sends an operation and resolves with its answer. Functions in `payload.args` stay here and are called back by id. */
  request<T = unknown>(op: string, payload?: Record<string, unknown>): Promise<T>;
  /** Sends an operation that needs no answer. */
  send(op: string, payload?: Record<string, unknown>): void;
  /** Operations sent and not yet answered. */
  readonly busy: boolean;
  /** Resolves once every operation sent so far has been answered (so that a request made next sees them). */
  settled(): Promise<void>;
  /** Handles event lines that came inside an HTTP answer (see protocol.ts) as if they had come over the channel. */
  deliver(lines: string): void;
  /** Every event up to this `seq` has arrived (here or in an answer); the server may forget them. */
  readonly acked: number;
  /** Resolves once every event up to `seq` has arrived (bounded). */
  caughtUp(seq: number): Promise<void>;
  /** Asks for the events after `acked` again: an answer that carried some was not read (its request was aborted). */
  resend(): void;
  /** A tag for one HTTP request, and a promise that resolves once its calls have arrived (bounded). */
  tagRequest(): { tag: string; arrived: () => Promise<void> };
  events: ChannelEvents | undefined;
  readonly closed: boolean;
}

const CHANNEL = Symbol.for('tokenpak.vitest.channel');
/** How long a finished response waits for its calls to arrive before giving up (the socket is local: normally < 1 ms). */
const ARRIVAL_TIMEOUT_MS = 5_000;

function errorOf(wire: WireError): TokenPakError {
  return new TokenPakError(wire.code as ConstructorParameters<typeof TokenPakError>[0], wire.message, wire.status !== undefined ? { status: wire.status } : {});
}

/** The worker's channel to the run's TokenPak at `info`, connecting on first use. */
export async function channelTo(info: RunServerInfo): Promise<Channel> {
  const global = globalThis as Record<symbol, { key: string; channel: Promise<Channel> } | undefined>;
  const key = `${info.controlPort}/${info.token}`;
  const existing = global[CHANNEL];
  if (existing && existing.key === key) {
    const channel = await existing.channel;
    if (!channel.closed) return channel;
  }
  const channel = open(info);
  global[CHANNEL] = { key, channel };
  return channel;
}

async function open(info: RunServerInfo): Promise<Channel> {
  const id = `w${randomBytes(6).toString('hex')}`;
  const socket: Socket = connect({ host: '127.0.0.1', port: info.controlPort });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (error) =>
      reject(new TokenPakError('shutting_down', `Cannot reach the run's TokenPak control channel on 127.0.0.1:${info.controlPort} (${error.message}). Was its global setup stopped? Run the tests through Vitest with tokenpak() or 'tokenpak/vitest/global-setup' in globalSetup.`)),
    );
  });
  // The channel must not keep a worker alive on its own.
  socket.unref();

  let nextId = 0;
  let nextTag = 0;
  let closed = false;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const arrivals = new Map<number, () => void>();
  // A 'done' may come before the response's body has been read: remembered here.
  const early = new Set<number>();
  // Events are numbered per channel; they may arrive twice (a resend) or out of order (answer and channel race).
  let low = 0;
  const above = new Set<number>();
  const seqWaiters = new Set<{ seq: number; wake: () => void }>();
  const receive = (seq: number): boolean => {
    if (seq <= low || above.has(seq)) return false;
    if (seq === low + 1) {
      low = seq;
      while (above.delete(low + 1)) low++;
      for (const waiter of seqWaiters) if (waiter.seq <= low) waiter.wake();
    } else {
      above.add(seq);
    }
    return true;
  };
  const functions = new Map<number, (...args: unknown[]) => unknown>();
  let nextFunction = 0;
  const register = (fn: (...args: unknown[]) => unknown) => {
    const fnId = ++nextFunction;
    functions.set(fnId, fn);
    return fnId;
  };

  const write = (message: Record<string, unknown>) => {
    if (closed) throw new TokenPakError('shutting_down', "The run's TokenPak closed its control channel (the Vitest run is ending). A call made after its test ended? Await every call inside the test.");
    socket.write(`${encode(message, register)}\n`);
  };

  const channel: Channel = {
    id,
    info,
    events: undefined,
    get closed() {
      return closed;
    },
    request<T>(op: string, payload: Record<string, unknown> = {}) {
      const requestId = ++nextId;
      return new Promise<T>((resolve, reject) => {
        pending.set(requestId, { resolve: resolve as (value: unknown) => void, reject });
        try {
          write({ ...payload, id: requestId, op });
        } catch (error) {
          pending.delete(requestId);
          reject(error as Error);
        }
      });
    },
    send(op, payload = {}) {
      write({ ...payload, op });
    },
    get busy() {
      return pending.size > 0;
    },
    deliver(lines) {
      let start = 0;
      let newline: number;
      while ((newline = lines.indexOf('\n', start)) !== -1) {
        if (newline > start) onMessage(lines.slice(start, newline));
        start = newline + 1;
      }
    },
    get acked() {
      return low;
    },
    caughtUp(seq) {
      if (closed || seq <= low) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const waiter = {
          seq,
          wake: () => {
            clearTimeout(timer);
            seqWaiters.delete(waiter);
            resolve();
          },
        };
        const timer = setTimeout(waiter.wake, ARRIVAL_TIMEOUT_MS);
        timer.unref();
        seqWaiters.add(waiter);
      });
    },
    resend() {
      try {
        write({ op: 'resend', after: low });
      } catch {
        // The run is ending.
      }
    },
    async settled() {
      if (pending.size === 0) return;
      await Promise.allSettled([...pending.keys()].map((key) => new Promise<void>((resolve) => {
        const entry = pending.get(key);
        if (!entry) return resolve();
        const { resolve: done, reject } = entry;
        entry.resolve = (value) => (done(value), resolve());
        entry.reject = (error) => (reject(error), resolve());
      })));
    },
    tagRequest() {
      const n = ++nextTag;
      let promise: Promise<void> | undefined;
      return {
        tag: `${id}:${n}`,
        arrived: () =>
          (promise ??= new Promise<void>((resolve) => {
            if (closed || early.delete(n)) return resolve();
            const timer = setTimeout(() => {
              arrivals.delete(n);
              resolve();
            }, ARRIVAL_TIMEOUT_MS);
            timer.unref();
            arrivals.set(n, () => {
              clearTimeout(timer);
              resolve();
            });
          })),
      };
    },
  };

  const onMessage = (line: string) => {
    const message = decode(line) as Record<string, unknown>;
    if (typeof message.re === 'number') {
      const entry = pending.get(message.re);
      pending.delete(message.re);
      if (!entry) return;
      if (message.ok) entry.resolve(message.value);
      else entry.reject(errorOf(message.error as WireError));
      return;
    }
    if (typeof message.seq === 'number' && !receive(message.seq)) return;
    switch (message.ev) {
      case 'call':
        channel.events?.call(message.scope as string, message.call, (message.mockCalls ?? {}) as Record<string, unknown[]>);
        break;
      case 'call-extra':
        channel.events?.call(message.scope as string, undefined, (message.mockCalls ?? {}) as Record<string, unknown[]>);
        break;
      case 'done': {
        const n = Number(String(message.req).split(':')[1]);
        const wake = arrivals.get(n);
        arrivals.delete(n);
        if (wake) wake();
        else early.add(n);
        break;
      }
      case 'stray':
        channel.events?.stray(message.test as string);
        break;
      case 'answer':
        answer(message);
        break;
    }
  };

  /** Evaluates function answers for a request the run's TokenPak is answering. */
  const answer = (message: Record<string, unknown>) => {
    const results: Record<string, unknown> = {};
    for (const fnId of message.fns as number[]) {
      const fn = functions.get(fnId);
      try {
        if (!fn) throw new Error(`function answer ${fnId} is gone`);
        results[fnId] = { value: fn(message.request) };
      } catch (error) {
        results[fnId] = { error: (error as Error)?.message ?? String(error) };
      }
    }
    try {
      write({ op: 'answered', ask: message.ask, results });
    } catch {
      // The run is ending.
    }
  };

  socket.on('data', lineReader(onMessage));
  let refused: Error | undefined;
  const fail = () => {
    closed = true;
    const error = refused ?? new TokenPakError('shutting_down', "The run's TokenPak closed its control channel (the Vitest run is ending). A call made after its test ended? Await every call inside the test.");
    for (const entry of pending.values()) entry.reject(error);
    pending.clear();
    for (const wake of arrivals.values()) wake();
    arrivals.clear();
    for (const waiter of seqWaiters) waiter.wake();
  };
  socket.on('close', fail);
  socket.on('error', fail);
  // Not awaited: the run's TokenPak reads a connection's lines in order, so what the file sends next
  // follows the greeting without a round trip of its own (on a busy machine, each costs milliseconds).
  channel.request('hello', { token: info.token, channel: id }).catch((error: Error) => {
    refused = error;
    socket.destroy();
  });
  return channel;
}
