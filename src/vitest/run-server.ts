/**
 * The run's TokenPak: one HTTP server for a whole Vitest run (started by the
 * global setup, or inside a test file when there is none), holding every
 * test's scope, and a control channel through which each worker changes
 * mocks and receives its calls (see protocol.ts).
 *
 * Routing of an HTTP request to a scope:
 * - the header `x-tokenpak-test: <scope>` (the worker's `fetch` adds it, for
 *   the test whose code made the call), or the path prefix
 *   `/__tokenpak/<scope>/…` (each handle's `url`);
 * - `/__tokenpak/<channel>/…` without the header (what `OPENAI_BASE_URL` and
 *   friends point at, reached by a client that does not use `fetch`): the
 *   worker's running test when one test runs, the file's scope when none does;
 *   while several run concurrently, the file's scope, and each of those tests
 *   is told that calls could not be attributed to it.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { ChatRequest } from '../canonical/types.ts';
import type { Config } from '../config/load.ts';
import { TokenPakError, toTokenPakError } from '../errors.ts';
import { tokenpakFormat } from '../formats/tokenpak.ts';
import type { MockProvider } from '../providers/mock/mock-provider.ts';
import { toNodeListener } from '../server/node-adapter.ts';
import { jsonResponse, plainResponse } from '../server/lightweight.ts';
import { createRunCassettes } from './cassettes.ts';
import { createConfigLoader, mergeScopeOptions, type ConfigLoader, type ScopeOptions } from './options.ts';
import { ACK_HEADER, decode, encode, EVENTS_HEADER, lineReader, PREFIX, REQUEST_HEADER, SCOPE_HEADER, SEQ_HEADER, type RunServerInfo, type ScopeInfo, type WireError } from './protocol.ts';
import { rewrite } from './rewrite.ts';
import { createScope, type Scope } from './scope.ts';
import { createSimulator } from './simulator.ts';

/** The run's TokenPak, listening. */
export interface RunServer extends RunServerInfo {
  /** Writes what the run recorded; lines naming the cassettes no test used (none when all were). */
  closeCassettes(): Promise<string[]>;
  close(): Promise<void>;
}

type Results = Map<number, { value?: unknown; error?: string }>;

interface ScopeEntry {
  scope: Scope;
  channel: Channel;
  /** Function answers given to each mock, by the worker's function id. */
  functions: Map<string, Set<number>>;
  /** Function answers evaluated for a request (by the request object), and the latest ones. */
  answers: WeakMap<ChatRequest, Results>;
  latest: Results | undefined;
  /** The newest mock call index already sent to the worker, per mock. */
  sent: Map<string, number>;
  /** Request id → wake-up, for a stream waiting for its call to be logged. */
  logWaiters: Map<string, () => void>;
}

/** How long a finished stream waits for its call record (normally it is there within a tick). */
const LOG_WAIT_MS = 2_000;

/** Resolves once the call of `requestId` has been logged in the scope (bounded). */
function logged(entry: ScopeEntry, requestId: string): Promise<void> {
  if (entry.scope.calls.some((call) => call.id === requestId)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      entry.logWaiters.delete(requestId);
      resolve();
    }, LOG_WAIT_MS);
    entry.logWaiters.set(requestId, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

interface FileSession {
  /** The project root (relative cassette folders start here). */
  root: string;
  /** Re-record every cassette (`TOKENPAK_RECORD=1` in the test's process). */
  record: boolean;
  /** The file's default cassette name (for what runs outside any test). */
  cassette: string;
  /** Test scope id → the test and its default cassette name. */
  testCassettes: Map<string, { test: string; name: string }>;
  /** Default cassette names in use → the test that has it (two tests must not share one by accident). */
  cassetteOwners: Map<string, string>;
  loader: ConfigLoader;
  configFromEnv: string | undefined;
  options: ScopeOptions;
  fileScope: string;
  /** Mock changes made outside any test, replayed on every new scope. */
  changes: Array<{ mock: string; method: string; args: string }>;
  /** Running test id → its scope id. */
  running: Map<string, string>;
}

interface Channel {
  id: string;
  /** Writes a message now, after any queued events (so that a `done` never overtakes the calls it announces). */
  send(message: Record<string, unknown>): void;
  /** Queues a numbered event: the next JSON answer to this worker carries it, or the channel within a turn of the event loop. */
  push(event: Record<string, unknown>): void;
  /** The queued events as lines (for an answer to carry), and the newest event's number. */
  take(): { lines: string; seq: number };
  /** The worker has every event up to `seq`: forget those kept for a resend. */
  ack(seq: number): void;
  /** Sends again the events answers carried after `seq` (an answer the worker did not read). */
  resend(after: number): void;
  /** Writes the queued events now. */
  flush(): void;
  file: FileSession | undefined;
  scopes: Set<string>;
  asks: Map<number, (results: Results) => void>;
  nextAsk: number;
}

const METHODS = new Set(['configure', 'setPatterns', 'setDefault', 'failNext']);

function wireError(error: unknown): WireError {
  const e = toTokenPakError(error);
  return { code: e.code, message: e.message, status: e.status };
}

function errorResponse(error: TokenPakError): Response {
  const rendered = tokenpakFormat.renderError(error, { requestId: 'tokenpak-vitest' });
  return Response.json(rendered.body, { status: rendered.status });
}

function scopeKeys(options: ScopeOptions | undefined): ScopeOptions {
  const picked: ScopeOptions = {};
  if (options?.config !== undefined) picked.config = options.config;
  if (options?.simulateProviders !== undefined) picked.simulateProviders = options.simulateProviders;
  if (options?.allowRealProviders !== undefined) picked.allowRealProviders = options.allowRealProviders;
  if (options?.cassette !== undefined) picked.cassette = options.cassette;
  return picked;
}

/** Options of the run's TokenPak. */
export interface RunServerOptions {
  /** Re-record every cassette (Vitest's `-u`, seen by the global setup). */
  update?: boolean;
}

/** Starts the run's TokenPak on ephemeral loopback ports. */
export async function startRunServer(runOptions: RunServerOptions = {}): Promise<RunServer> {
  const token = randomBytes(24).toString('hex');
  const onInternalError = (error: unknown) => console.error('[tokenpak] internal error:', error);
  const simulator = createSimulator(onInternalError);
  const runCassettes = createRunCassettes();
  let cassettesClosed: Promise<string[]> | undefined;
  const closeCassettes = () => (cassettesClosed ??= runCassettes.close());
  const loaders = new Map<string, ConfigLoader>();
  const channels = new Map<string, Channel>();
  const scopes = new Map<string, ScopeEntry>();
  let url = '';

  // One loader per project root and worker environment: `${VAR}` in a config reads the test process's
  // environment (the setup's dummy API keys, Vitest's `env` option), not the run's.
  const loaderFor = (root: string, env: NodeJS.ProcessEnv) => {
    const key = `${root}\0${JSON.stringify(env)}`;
    let loader = loaders.get(key);
    if (!loader) loaders.set(key, (loader = createConfigLoader(root, env)));
    return loader;
  };

  const infoOf = (entry: ScopeEntry): ScopeInfo => {
    const { scope } = entry;
    const mocks: ScopeInfo['mocks'] = {};
    for (const name of scope.mockNames) mocks[name] = { ...scope.mock(name)!.settings };
    const providers: ScopeInfo['providers'] = {};
    for (const [name, settings] of Object.entries(scope.config.providers)) providers[name] = { type: settings.type, enabled: settings.enabled };
    return { id: scope.id, url: scope.url, config: scope.config, mocks, providers, source: scope.config.source };
  };

  /** Mock calls made since the last push, per mock. */
  const newMockCalls = (entry: ScopeEntry): Record<string, unknown[]> => {
    const out: Record<string, unknown[]> = {};
    for (const name of entry.scope.mockNames) {
      const calls = entry.scope.mock(name)!.calls;
      const last = entry.sent.get(name) ?? -1;
      const fresh = calls.filter((c) => c.index > last);
      if (fresh.length === 0) continue;
      entry.sent.set(name, fresh.at(-1)!.index);
      out[name] = fresh;
    }
    return out;
  };

  const applyChange = (entry: ScopeEntry, mockName: string, method: string, argsText: string): MockProvider => {
    const mock = entry.scope.mock(mockName);
    if (!mock) throw new TokenPakError('invalid_request', `tokenpak.mock(${JSON.stringify(mockName)}): there is no such mock in this test's config. Mocks here: ${entry.scope.mockNames.join(', ') || '(none)'}.`);
    if (!METHODS.has(method)) throw new TokenPakError('invalid_request', `Unknown mock control ${method}.`);
    const args = decode(argsText, (fnId) => {
      let set = entry.functions.get(mockName);
      if (!set) entry.functions.set(mockName, (set = new Set()));
      set.add(fnId);
      return (request: ChatRequest) => {
        const result = (entry.answers.get(request) ?? entry.latest)?.get(fnId);
        if (!result) throw new Error('[tokenpak] a function answer was not evaluated for this request');
        if (result.error !== undefined) throw new Error(`[tokenpak] the function answer threw: ${result.error}`);
        return result.value;
      };
    }) as unknown[];
    (mock[method as 'configure'] as (...a: unknown[]) => void)(...args);
    return mock;
  };

  /** Asks the worker to evaluate the function answers of a mock for a request. */
  const evaluate = async (entry: ScopeEntry, provider: string, request: ChatRequest) => {
    const fns = entry.functions.get(provider);
    if (!fns || fns.size === 0) return;
    const channel = entry.channel;
    const ask = ++channel.nextAsk;
    const results = await new Promise<Results>((resolve) => {
      channel.asks.set(ask, resolve);
      channel.send({ ev: 'answer', ask, fns: [...fns], request });
    });
    entry.answers.set(request, results);
    entry.latest = results;
  };

  /** A scope's cassettes, bound to its cassette: the one its options name, else its test's (or its file's) default. */
  const cassettesFor = (file: FileSession, config: Config, options: ScopeOptions, test: { test: string; name: string } | undefined) => {
    const option = options.cassette;
    const named = typeof option === 'string' ? option : typeof option === 'object' ? option.name : undefined;
    const name = named ?? test?.name ?? file.cassette;
    const cassettes = runCassettes.forScope(config, options, file.root, name, runOptions.update === true || file.record);
    if (cassettes && named === undefined && test) {
      const owner = file.cassetteOwners.get(name);
      if (owner !== undefined && owner !== test.test) {
        throw new TokenPakError(
          'config_invalid',
          `Two tests of this file get the same cassette name "${name}" (their names differ only in characters a file name cannot hold, or are equal). Rename one, or name its cassette: useTokenPak({ cassette: 'a name' }).`,
        );
      }
      file.cassetteOwners.set(name, test.test);
      // A test's own cassette starts afresh with each run of it (a retry, a rerun in watch mode): its
      // requests take the recordings from the first again, and a recording replaces the last one's.
      for (const set of cassettes.sets) set.restart(name);
    }
    return cassettes;
  };

  const createEntry = (channel: Channel, id: string, label: string, options: ScopeOptions): ScopeEntry => {
    const file = channel.file!;
    const config: Config = file.loader.load(options.config, 'the config option', file.configFromEnv);
    const cassettes = cassettesFor(file, config, options, file.testCassettes.get(id));
    // Filled in below: the scope's hooks need the entry.
    const entry = { channel, functions: new Map(), answers: new WeakMap(), latest: undefined, sent: new Map(), logWaiters: new Map() } as unknown as ScopeEntry;
    const scopeUrl = `${url}${PREFIX}${id}`;
    entry.scope = createScope({
      id,
      label,
      url: () => scopeUrl,
      config,
      options,
      simulator,
      onInternalError,
      onCall: (call) => {
        channel.push({ ev: 'call', scope: id, call, mockCalls: newMockCalls(entry) });
        const wake = entry.logWaiters.get(call.id);
        entry.logWaiters.delete(call.id);
        wake?.();
      },
      beforeAttempt: (provider, request) => evaluate(entry, provider, request),
      ...(cassettes ? { cassettes } : {}),
    });
    for (const change of file.changes) {
      if (entry.scope.mock(change.mock)) applyChange(entry, change.mock, change.method, change.args);
    }
    scopes.set(id, entry);
    channel.scopes.add(id);
    return entry;
  };

  const dispose = (id: string) => {
    const entry = scopes.get(id);
    if (!entry) return;
    scopes.delete(id);
    entry.channel.scopes.delete(id);
    void entry.scope.dispose();
  };

  /** A scope by id; a test scope of a known worker is made on first use, with the file's options. */
  const scopeById = (id: string): ScopeEntry | undefined => {
    const existing = scopes.get(id);
    if (existing) return existing;
    const dot = id.indexOf('.');
    const channel = dot === -1 ? undefined : channels.get(id.slice(0, dot));
    if (!channel?.file || !/^t\d+$/.test(id.slice(dot + 1))) return undefined;
    return createEntry(channel, id, id, channel.file.options);
  };

  const unknownScope = (id: string) =>
    errorResponse(
      new TokenPakError(
        'route_not_found',
        `No running test owns TokenPak scope "${id}": a test's URL (tokenpak.url) works only while that test runs. Use the URL of the running test's handle.`,
        { status: 404 },
      ),
    );

  const route = async (request: Request): Promise<Response> => {
    const target = new URL(request.url);
    let id = request.headers.get(SCOPE_HEADER) ?? undefined;
    let forwarded = request;
    let entry: ScopeEntry | undefined;
    if (target.pathname.startsWith(PREFIX)) {
      const rest = target.pathname.slice(PREFIX.length);
      const slash = rest.indexOf('/');
      const head = slash === -1 ? rest : rest.slice(0, slash);
      forwarded = rewrite(request, `${slash === -1 ? '/' : rest.slice(slash)}${target.search}`);
      const channel = channels.get(head);
      if (!id && channel?.file) {
        // Untagged, at a worker's shared URL.
        const file = channel.file;
        if (file.running.size === 1) {
          id = file.running.values().next().value!;
        } else {
          id = file.fileScope;
          for (const test of file.running.keys()) channel.push({ ev: 'stray', test });
        }
      }
      id ??= head;
    }
    if (!id) {
      return errorResponse(
        new TokenPakError('route_not_found', `This is the Vitest run's TokenPak: requests go to a test's URL (tokenpak.url) or to OPENAI_BASE_URL / ANTHROPIC_BASE_URL / TOKENPAK_URL as set in the test's process, not to ${target.pathname}.`, { status: 404 }),
      );
    }
    const tag = request.headers.get(REQUEST_HEADER);
    const requester = tag ? channels.get(tag.slice(0, tag.indexOf(':'))) : undefined;
    // Refused before any scope saw it: no call will come, so the worker need not wait for one.
    const refused = (response: Response) => {
      requester?.send({ ev: 'done', req: tag });
      return response;
    };
    try {
      entry = scopeById(id);
    } catch (error) {
      return refused(errorResponse(toTokenPakError(error)));
    }
    if (!entry) return refused(unknownScope(id));
    const response = await entry.scope.fetch(forwarded);

    if (!requester) {
      // A client that does not go through the worker's fetch (answerInProcess: false, node:http clients): its
      // calls go over the channel before its answer, so that they are there when the client has it (as near as two sockets allow).
      if (plainResponse(response) || !response.body) {
        entry.channel.flush();
        return response;
      }
      const streamId = response.headers.get('x-request-id');
      const flushAtEnd = async () => {
        if (streamId && response.headers.get('content-type')?.startsWith('text/event-stream')) await logged(entry, streamId);
        entry.channel.flush();
      };
      return new Response(response.body.pipeThrough(new TransformStream({ flush: flushAtEnd })), { status: response.status, statusText: response.statusText, headers: response.headers });
    }
    const acked = Number(request.headers.get(ACK_HEADER));
    if (acked > 0) requester.ack(acked);
    const queueMockCalls = () => {
      const pendingMockCalls = newMockCalls(entry);
      if (Object.keys(pendingMockCalls).length > 0) entry.channel.push({ ev: 'call-extra', scope: entry.scope.id, mockCalls: pendingMockCalls });
    };
    const plain = plainResponse(response);
    // Not for HEAD: its answer has no body to carry them.
    if (plain && requester === entry.channel && request.method !== 'HEAD' && !request.signal.aborted) {
      // A JSON answer carries the worker's events, this request's call among them: one round trip, no channel message.
      queueMockCalls();
      const { lines, seq } = requester.take();
      return jsonResponse(plain.status, lines + plain.body, { ...plain.headers, [EVENTS_HEADER]: String(lines.length), [SEQ_HEADER]: String(seq) });
    }
    // Tell the worker once the calls of this request have been sent (they go out as they are logged).
    const done = () => {
      queueMockCalls();
      requester.send({ ev: 'done', req: tag });
    };
    if (plain || !response.body) {
      done();
      return response;
    }
    // A stream's call is logged as the stream ends, which may be just after its body closes here.
    const requestId = response.headers.get('content-type')?.startsWith('text/event-stream') ? response.headers.get('x-request-id') : null;
    const flush = async () => {
      if (requestId) await logged(entry, requestId);
      done();
    };
    const body = response.body.pipeThrough(new TransformStream({ flush }));
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };

  const http: Server = createHttpServer({ keepAliveTimeout: 65_000 }, toNodeListener({ fetch: route }, onInternalError));

  const handleMessage = (channel: Channel | undefined, message: Record<string, unknown>, socket: Socket, bind: (c: Channel) => void): unknown => {
    if (!channel) {
      if (message.op !== 'hello' || message.token !== token) {
        socket.destroy();
        return undefined;
      }
      const id = String(message.channel);
      if (!/^w[0-9a-f]{12}$/.test(id) || channels.has(id)) throw new TokenPakError('invalid_request', 'Bad channel id.');
      let seq = 0;
      let outbox: Array<{ seq: number; line: string }> = [];
      // Events an answer carried, until the worker acknowledges them.
      let carried: Array<{ seq: number; line: string }> = [];
      let scheduled = false;
      const linesOf = (events: Array<{ line: string }>) => events.map((e) => `${e.line}\n`).join('');
      const write = (text: string) => {
        if (text && !socket.destroyed) socket.write(text);
      };
      const flush = () => {
        scheduled = false;
        const queued = outbox;
        outbox = [];
        write(linesOf(queued));
      };
      const created: Channel = {
        id,
        file: undefined,
        scopes: new Set(),
        asks: new Map(),
        nextAsk: 0,
        send: (m) => {
          const queued = outbox;
          outbox = [];
          write(`${linesOf(queued)}${encode(m)}\n`);
        },
        push: (event) => {
          seq++;
          outbox.push({ seq, line: encode({ ...event, seq }) });
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        },
        take: () => {
          const queued = outbox;
          outbox = [];
          if (queued.length > 0) carried.push(...queued);
          return { lines: linesOf(queued), seq };
        },
        ack: (upTo) => {
          if (carried.length > 0 && carried[0]!.seq <= upTo) carried = carried.filter((e) => e.seq > upTo);
        },
        flush,
        resend: (after) => {
          flush();
          write(linesOf(carried.filter((e) => e.seq > after)));
        },
      };
      channels.set(id, created);
      bind(created);
      return { channel: id };
    }
    switch (message.op) {
      case 'file': {
        // A new test file in this worker: drop the previous one's scopes.
        for (const id of [...channel.scopes]) dispose(id);
        const root = String(message.root);
        channel.file = {
          root,
          record: message.record === true,
          cassette: String(message.cassette),
          testCassettes: new Map(),
          cassetteOwners: new Map(),
          loader: loaderFor(root, (message.env ?? {}) as NodeJS.ProcessEnv),
          configFromEnv: typeof message.configFromEnv === 'string' && message.configFromEnv ? message.configFromEnv : undefined,
          options: scopeKeys(message.options as ScopeOptions),
          fileScope: String(message.scope),
          changes: [],
          running: new Map(),
        };
        const entry = createEntry(channel, String(message.scope), 'file', channel.file.options);
        return entry.scope.ready().then(() => infoOf(entry));
      }
      case 'fileOptions': {
        const file = channel.file!;
        file.options = mergeScopeOptions(file.options, scopeKeys(message.options as ScopeOptions));
        const previous = file.fileScope;
        const entry = createEntry(channel, String(message.scope), 'file', file.options);
        file.fileScope = entry.scope.id;
        dispose(previous);
        return entry.scope.ready().then(() => infoOf(entry));
      }
      case 'scope': {
        const file = channel.file!;
        if (typeof message.test === 'string' && typeof message.cassette === 'string') file.testCassettes.set(String(message.scope), { test: message.test, name: message.cassette });
        const entry = createEntry(channel, String(message.scope), String(message.scope), mergeScopeOptions(file.options, scopeKeys(message.options as ScopeOptions)));
        if (typeof message.test === 'string' && file.running.has(message.test)) {
          const previous = file.running.get(message.test)!;
          file.running.set(message.test, entry.scope.id);
          if (previous !== entry.scope.id) dispose(previous);
        }
        return entry.scope.ready().then(() => infoOf(entry));
      }
      case 'start':
        channel.file?.running.set(String(message.test), String(message.scope));
        if (typeof message.cassette === 'string') channel.file?.testCassettes.set(String(message.scope), { test: String(message.test), name: message.cassette });
        return undefined;
      case 'end':
        channel.file?.running.delete(String(message.test));
        for (const id of message.scopes as string[]) {
          channel.file?.testCassettes.delete(id);
          dispose(id);
        }
        return undefined;
      case 'control': {
        const entry = scopeById(String(message.scope));
        if (!entry) throw new TokenPakError('invalid_request', `No running test owns TokenPak scope "${String(message.scope)}".`);
        const argsText = encode(message.args);
        const mock = applyChange(entry, String(message.mock), String(message.method), argsText);
        if (message.file === true) channel.file?.changes.push({ mock: mock.name, method: String(message.method), args: argsText });
        return { settings: { ...mock.settings } };
      }
      case 'resend':
        channel.resend(Number(message.after));
        return undefined;
      case 'answered': {
        const resolve = channel.asks.get(Number(message.ask));
        channel.asks.delete(Number(message.ask));
        const results: Results = new Map();
        for (const [fnId, result] of Object.entries(message.results as Record<string, { value?: unknown; error?: string }>)) results.set(Number(fnId), result);
        resolve?.(results);
        return undefined;
      }
      default:
        throw new TokenPakError('invalid_request', `Unknown control operation ${String(message.op)}.`);
    }
  };

  const sockets = new Set<Socket>();
  const control = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    let channel: Channel | undefined;
    const reply = (id: unknown, result: { ok: true; value: unknown } | { ok: false; error: WireError }) => {
      if (typeof id === 'number' && !socket.destroyed) socket.write(`${encode({ re: id, ...result })}\n`);
    };
    socket.on(
      'data',
      lineReader((line) => {
        let message: Record<string, unknown>;
        try {
          // Functions never travel: `$fn` markers stay as they are until a mock change revives them.
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          socket.destroy();
          return;
        }
        try {
          const value = handleMessage(channel, message, socket, (c) => (channel = c));
          if (value instanceof Promise) {
            value.then(
              (v) => reply(message.id, { ok: true, value: v }),
              (error) => reply(message.id, { ok: false, error: wireError(error) }),
            );
          } else {
            reply(message.id, { ok: true, value });
          }
        } catch (error) {
          reply(message.id, { ok: false, error: wireError(error) });
        }
      }),
    );
    const drop = () => {
      if (!channel) return;
      for (const id of [...channel.scopes]) dispose(id);
      for (const resolve of channel.asks.values()) resolve(new Map());
      channels.delete(channel.id);
      channel = undefined;
    };
    socket.on('close', drop);
    socket.on('error', drop);
  });

  const listen = (server: Server | ReturnType<typeof createNetServer>) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(http);
  const controlPort = await listen(control);
  url = `http://127.0.0.1:${port}`;

  return {
    url,
    controlPort,
    token,
    closeCassettes,
    async close() {
      for (const id of [...scopes.keys()]) dispose(id);
      // A file's own TokenPak (no global setup) ends here: what it recorded is written before it goes.
      await closeCassettes();
      await Promise.all([
        new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        }),
        new Promise<void>((resolve) => {
          control.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        }),
      ]);
      await simulator.close();
    },
  };
}
