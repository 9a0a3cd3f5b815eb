/**
 * A test file's part of the run's TokenPak, in the test's process: the
 * environment, the hook on `fetch` that tags each call with the test whose
 * code made it, the tests' scope views, and the handles `useTokenPak()` and
 * the fixture return. The TokenPak itself (config, mocks, router) runs once
 * for the whole Vitest run (run-server.ts); this part imports none of it, so
 * a test file starts in about the time a connection takes.
 *
 * Each test gets a scope of the run's TokenPak, `<channel>.t<n>`, made there
 * on first use; the file has one too, for what runs outside any test.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect, inject, type RunnerTestCase } from 'vitest';
import { TokenPakError } from '../errors.ts';
import { fileCassetteName, testCassetteName } from './cassette-name.ts';
import { channelTo, type Channel } from './channel.ts';
import { pointEnvironmentAt } from './env.ts';
import { hookFetch } from './fetch-tagging.ts';
import { headersOf, loopbackRequest, responseOf, textOf } from './loopback.ts';
import { createHandle, type TokenPakHandle } from './handle.ts';
import { hostPolicy } from './hosts.ts';
import { registerHooks, type HookTarget } from './hooks.ts';
import { checkOptions, mergeScopeOptions, projectRootOf, type ScopeOptions, type TokenPakVitestOptions } from './options-check.ts';
import { ACK_HEADER, encode, EVENTS_HEADER, PREFIX, REQUEST_HEADER, SCOPE_HEADER, SEQ_HEADER, SERVER_KEY, type RunServerInfo, type ScopeInfo } from './protocol.ts';
import type { TokenPakCall } from './scope.ts';
import { createScopeView, infoFor, type ScopeView, type ScopeViewInit } from './scope-view.ts';
import { renderTranscript } from './transcript.ts';

const SESSION = Symbol.for('tokenpak.vitest.session');
const SCOPE_COUNTER = Symbol.for('tokenpak.vitest.scopes');

declare module 'vitest' {
  interface ProvidedContext {
    /** The run's TokenPak, from tokenpak/vitest/global-setup. */
    'tokenpak:server': RunServerInfo;
  }
}

/** One running test (one attempt of it, with retries). */
export interface TestState {
  task: RunnerTestCase;
  /** The scope id the run's TokenPak routes this test's untagged calls to. */
  scopeId: string;
  /** The test's default cassette name (from its file and its name). */
  cassette: string;
  view?: ScopeView;
  /** The options the view was made with, to tell a repeated useTokenPak(options) from a change. */
  viewKey?: string;
  /** Every scope this test used (a useTokenPak(options) replaces the first). */
  scopes: string[];
  /** Calls that reached the shared URL while this test ran alongside others. */
  strays: number;
}

/** The per-file state behind `useTokenPak()`. */
export interface Session extends HookTarget<TestState> {
  /** The worker's shared URL (what `TOKENPAK_URL` is). */
  readonly url: string;
  handleFor(task: RunnerTestCase): TokenPakHandle;
  use(options?: ScopeOptions): TokenPakHandle;
}

/** The session of the test file running now, if the setup file ran. */
export function currentSession(): Session | undefined {
  return (globalThis as Record<symbol, Session | undefined>)[SESSION];
}

function scopeKeys(options: ScopeOptions | undefined): ScopeOptions {
  if (!options) return {};
  const picked: ScopeOptions = {};
  if (options.config !== undefined) picked.config = options.config;
  if (options.simulateProviders !== undefined) picked.simulateProviders = options.simulateProviders;
  if (options.allowRealProviders !== undefined) picked.allowRealProviders = options.allowRealProviders;
  if (options.cassette !== undefined) picked.cassette = options.cassette;
  return picked;
}

/** The names of the describe blocks a test is in, outermost first, and its own. */
function titlesOf(task: RunnerTestCase): string[] {
  const titles = [task.name];
  for (let suite = task.suite; suite && suite !== (task.file as unknown); suite = suite.suite) {
    if (suite.name) titles.unshift(suite.name);
  }
  return titles;
}

/** `TOKENPAK_RECORD=1` (or `true`) re-records every cassette of the run. */
function recordFromEnv(): boolean {
  const value = process.env.TOKENPAK_RECORD?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

const hasScopeOptions = (options: ScopeOptions | undefined) => Object.keys(scopeKeys(options)).length > 0;

/**
 * Checks scope options as the run's TokenPak will apply them, synchronously,
 * so that `useTokenPak(options)` throws where it is called. Loads the config
 * reader into the test's process: only files that give such options pay it.
 */
function checks(): typeof import('./check-scope.ts') {
  return createRequire(import.meta.url)('tokenpak/vitest/check-scope') as typeof import('./check-scope.ts');
}

function checkScopeNow(root: string, options: ScopeOptions): Omit<ScopeInfo, 'id' | 'url'> {
  return checks().checkScope(root, options, process.env.TOKENPAK_CONFIG);
}

/** Mock controls are checked where they are written, with the same rules (and loader) as useTokenPak(options). */
const checkControl: ScopeViewInit['check'] = (mock, method, args, config) => checks().checkControl(mock, method, args, config);

/** A scope id unique in this worker, across test files. */
function nextScopeId(channel: Channel, kind: 'f' | 't'): string {
  const global = globalThis as Record<symbol, number | undefined>;
  const n = (global[SCOPE_COUNTER] ?? 0) + 1;
  global[SCOPE_COUNTER] = n;
  return `${channel.id}.${kind}${n}`;
}

/**
 * SDKs stop reading a stream at its last event (`[DONE]`, `message_stop`,
 * `response.completed`), before the body ends: the chunk carrying it waits
 * until the call has arrived, as does the end of any body.
 */
const LAST_EVENT = /\[DONE\]|message_stop|response\.(?:completed|failed|incomplete)|event: error/;

function holdEndUntil(arrived: () => Promise<void>, sse: boolean): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  let tail = '';
  return new TransformStream({
    async transform(chunk, controller) {
      if (sse) {
        const text = tail + decoder.decode(chunk, { stream: true });
        // Keep the end of this chunk, in case a marker is split across two.
        tail = text.slice(-24);
        if (LAST_EVENT.test(text)) await arrived();
      }
      controller.enqueue(chunk);
    },
    flush: () => arrived(),
  });
}

/** A JSON error both SDKs read (OpenAI's `error.message`, Anthropic's `error.type`/`message`), status 400 so nobody retries it. */
function refusalResponse(errors: Error[]): Response {
  const message = `[tokenpak] This test's mock change was refused, so its call was not made: ${errors.map((e) => e.message).join(' | ')}`;
  return Response.json({ type: 'error', error: { type: 'invalid_request_error', code: 'tokenpak_mock_change_refused', message } }, { status: 400 });
}

/**
 * Connects the test file to the run's TokenPak and registers the hooks that
 * give each test its scope and print transcripts of failing tests.
 * `tokenpak/vitest/setup` calls it; call it yourself from your own setup file
 * to pass options in code. Without the global setup (`tokenpak()` plugin, or
 * `tokenpak/vitest/global-setup`), the file starts a TokenPak of its own.
 */
export async function setupTokenPak(options: TokenPakVitestOptions = {}): Promise<void> {
  checkOptions(options, 'setupTokenPak()');
  if (currentSession()) {
    throw new TokenPakError(
      'config_invalid',
      'TokenPak is set up twice for this test file. Keep one of: tokenpak/vitest/setup in setupFiles, the tokenpak() Vite plugin (which adds it), or your own setupTokenPak() call.',
    );
  }
  const testPath = expect.getState().testPath;
  const root = options.root ?? projectRootOf(testPath, process.cwd());
  let server: RunServerInfo | undefined = inject(SERVER_KEY);
  let own: { close(): Promise<void> } | undefined;
  if (!server) {
    // No global setup: this file gets a TokenPak of its own (what every file paid before the run-wide one).
    const { startRunServer } = await import('./run-server.ts');
    const started = await startRunServer();
    own = started;
    server = { url: started.url, controlPort: started.controlPort, token: started.token };
  }
  const channel = await channelTo(server);
  const origin = server.url;
  const url = `${origin}${PREFIX}${channel.id}`;

  const fileId = nextScopeId(channel, 'f');
  // Set first: the config's `${OPENAI_API_KEY}` and friends read this environment (with the setup's dummy keys).
  const restoreEnv = pointEnvironmentAt(url);
  let fileInfo: ScopeInfo;
  try {
    // The environment goes along for `${VAR}` in the config (the channel is loopback, token-authenticated; nothing logs it).
    fileInfo = await channel.request<ScopeInfo>('file', {
      root,
      options: scopeKeys(options),
      configFromEnv: process.env.TOKENPAK_CONFIG,
      env: { ...process.env },
      scope: fileId,
      cassette: fileCassetteName(root, testPath ?? join(root, 'file')),
      record: recordFromEnv(),
    });
  } catch (error) {
    restoreEnv();
    await own?.close();
    throw error;
  }

  const als = new AsyncLocalStorage<TestState>();
  const running = new Map<string, TestState>();
  /** Scope id → view, for the calls the run's TokenPak pushes. */
  const views = new Map<string, ScopeView>();
  /** Scope id → running test, for a test whose view is made when its first call arrives. */
  const byScope = new Map<string, TestState>();
  const fileLabel = 'this test file (outside any test)';
  let fileView = createScopeView({ id: fileId, label: fileLabel, url, channel, info: fileInfo, check: checkControl });
  views.set(fileId, fileView);
  let fileOptions: ScopeOptions = scopeKeys(options);

  const labelOf = (state: TestState) => `test "${state.task.fullTestName ?? state.task.name}"`;

  /** The test's view, made on first use (with options: a new scope of the run's TokenPak). */
  const viewOf = (state: TestState, scopeOptions?: ScopeOptions): ScopeView => {
    if (state.view && !hasScopeOptions(scopeOptions)) return state.view;
    const merged = mergeScopeOptions(fileOptions, scopeKeys(scopeOptions));
    const key = encode(merged);
    if (state.view && state.viewKey === key) return state.view;
    if (!state.view && !hasScopeOptions(scopeOptions)) {
      state.view = createScopeView({ id: state.scopeId, label: labelOf(state), url: `${origin}${PREFIX}${state.scopeId}`, channel, info: infoFor(fileView.info!, state.scopeId, `${origin}${PREFIX}${state.scopeId}`), check: checkControl });
    } else {
      if (state.view && state.view.calls.length > 0) {
        throw new TokenPakError('invalid_request', `useTokenPak() with options must come before the test's first call to TokenPak (${state.view.calls.length} call(s) already made). Call it at the start of the test.`);
      }
      const checked = checkScopeNow(root, merged);
      const id = nextScopeId(channel, 't');
      const scopeUrl = `${origin}${PREFIX}${id}`;
      const info = channel.request<ScopeInfo>('scope', { scope: id, test: state.task.id, cassette: state.cassette, options: scopeKeys(scopeOptions) });
      state.view = createScopeView({ id, label: labelOf(state), url: scopeUrl, channel, info, known: { ...checked, id, url: scopeUrl }, check: checkControl });
      state.scopes.push(id);
      state.scopeId = id;
      byScope.set(id, state);
    }
    state.viewKey = key;
    views.set(state.view.id, state.view);
    return state.view;
  };

  const currentView = (): ScopeView => {
    const state = als.getStore();
    return state ? viewOf(state) : fileView;
  };

  channel.events = {
    call(scopeId, call, mockCalls) {
      let view = views.get(scopeId);
      const state = byScope.get(scopeId);
      if (!view && state) view = viewOf(state);
      view?.arrived(call as TokenPakCall | undefined, mockCalls);
    },
    stray(testId) {
      const state = running.get(testId);
      if (!state) return;
      state.strays++;
      viewOf(state);
    },
  };

  const notesOf = (state: TestState) => (): string[] =>
    state.strays > 0
      ? [
          `${state.strays} call(s) reached the file's shared TokenPak URL (OPENAI_BASE_URL, ANTHROPIC_BASE_URL, TOKENPAK_URL) while other tests ran concurrently, so they are in no test's transcript. ` +
            'In test.concurrent, pass tokenpak.openaiBaseURL / tokenpak.anthropicBaseURL / tokenpak.url to the code under test.',
        ]
      : [];

  const boundHandle = (state: TestState): TokenPakHandle => createHandle({ scope: () => viewOf(state), notes: notesOf(state) });
  const dynamicHandle = createHandle({ scope: currentView, fileLevel: () => !als.getStore() });

  /** Sends a request for TokenPak to the run's TokenPak, tagged with its scope; resolves once its calls have arrived. */
  const send = async (request: Request, pathAndQuery: string, scopeId: string): Promise<Response> => {
    if (channel.busy) await channel.settled();
    const view = views.get(scopeId);
    const refused = view?.takeRefused() ?? [];
    if (refused.length > 0) return refusalResponse(refused);
    const { tag, arrived } = channel.tagRequest();
    const headers = new Headers(request.headers);
    headers.set(SCOPE_HEADER, scopeId);
    headers.set(REQUEST_HEADER, tag);
    headers.set(ACK_HEADER, String(channel.acked));
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null;
    // Read first: a body of known length goes out with the headers in one write (a stream would be sent chunked, in several).
    const body = hasBody ? new Uint8Array(await request.arrayBuffer()) : undefined;
    // The test's abort reaches the run's TokenPak until the answer starts; an answer that carries calls is then read to its end.
    const signal = request.signal;
    const loopback = new AbortController();
    const forward = () => loopback.abort(signal.reason);
    if (signal.aborted) forward();
    else signal.addEventListener('abort', forward, { once: true });
    let answer: IncomingMessage;
    try {
      answer = await loopbackRequest(`${origin}${pathAndQuery}`, request.method, headers, body, loopback.signal);
    } catch (error) {
      signal.removeEventListener('abort', forward);
      // An answer may have been on its way with events in it: have them sent again.
      if (loopback.signal.aborted) channel.resend();
      throw error;
    }
    const answerHeaders = headersOf(answer);
    const carried = answerHeaders.get(EVENTS_HEADER);
    if (carried !== null) {
      signal.removeEventListener('abort', forward);
      const text = await textOf(answer);
      const cut = Number(carried);
      channel.deliver(text.slice(0, cut));
      await channel.caughtUp(Number(answerHeaders.get(SEQ_HEADER)));
      if (signal.aborted) throw signal.reason;
      answerHeaders.delete(EVENTS_HEADER);
      answerHeaders.delete(SEQ_HEADER);
      answerHeaders.delete('content-length');
      return new Response(text.slice(cut), { status: answer.statusCode ?? 502, statusText: answer.statusMessage ?? '', headers: answerHeaders });
    }
    const response = responseOf(answer, request.method, answerHeaders);
    if (!response.body) {
      await arrived();
      return response;
    }
    // The body ends only once the call is in the test's calls: `await` the SDK call, then assert.
    const held = response.body.pipeThrough(holdEndUntil(arrived, response.headers.get('content-type')?.startsWith('text/event-stream') ?? false));
    return new Response(held, { status: response.status, statusText: response.statusText, headers: response.headers });
  };

  const policy = hostPolicy(options);
  const warned = new Set<string>();
  const noteOnce = (text: string) => {
    const view = currentView();
    if (!view.notes.includes(text)) view.notes.push(text);
  };

  /** A request from the code under test for TokenPak (or an LLM host); undefined lets it through. */
  const handle = (request: Request): Promise<Response> | undefined => {
    const target = new URL(request.url);
    if (target.origin === origin) {
      let path = target.pathname;
      let scopeId: string | undefined;
      if (path.startsWith(PREFIX)) {
        const rest = path.slice(PREFIX.length);
        const slash = rest.indexOf('/');
        const head = slash === -1 ? rest : rest.slice(0, slash);
        path = slash === -1 ? '/' : rest.slice(slash);
        // The shared URL: the test whose code made the call. A scope's own URL: that scope.
        if (head !== channel.id) scopeId = head;
      }
      scopeId ??= request.headers.get(SCOPE_HEADER) ?? currentView().id;
      return send(request, `${path}${target.search}`, scopeId);
    }
    const decision = policy(target);
    if (decision === 'pass') return undefined;
    if (decision === 'forward') {
      noteOnce(`calls to https://${target.hostname} (hard-coded in the code under test) were intercepted and answered by this TokenPak`);
      return send(request, `${target.pathname}${target.search}`, currentView().id);
    }
    const called = `The code under test called ${request.method} ${target.origin}${target.pathname}, an LLM API that TokenPak does not answer`;
    if (decision === 'warn') {
      if (!warned.has(target.hostname)) console.warn(`[tokenpak] ${called}; letting it through (unhandledLLMHosts: "warn"). Point that client at TokenPak (tokenpak.url), or set unhandledLLMHosts: "error" to refuse such calls.`);
      warned.add(target.hostname);
      noteOnce(`let through a call to ${target.origin} (unhandledLLMHosts: "warn")`);
      return undefined;
    }
    noteOnce(`refused a call to ${target.origin}${target.pathname} (unhandledLLMHosts: "error")`);
    const message = `${called}. Point that client at TokenPak (tokenpak.url), or set unhandledLLMHosts: "warn" or "bypass" to let such calls through.`;
    return Promise.resolve(Response.json({ error: { type: 'tokenpak_blocked_host', message: `[tokenpak] ${message}` } }, { status: 403 }));
  };

  let unhook: (() => void) | undefined;
  let stopInterception: (() => void) | undefined;

  const session: Session = {
    url,
    handleFor(task) {
      const state = running.get(task.id);
      if (!state) throw new TokenPakError('invalid_request', `The tokenpak fixture was used outside a running test (${task.name}).`);
      return boundHandle(state);
    },
    use(useOptions) {
      const state = als.getStore();
      if (state) {
        viewOf(state, useOptions);
        return boundHandle(state);
      }
      if (hasScopeOptions(useOptions)) {
        // Later tests of this file get these options; the file's own scope is rebuilt with them.
        const merged = mergeScopeOptions(fileOptions, scopeKeys(useOptions));
        const checked = checkScopeNow(root, merged);
        fileOptions = merged;
        const id = nextScopeId(channel, 'f');
        const info = channel.request<ScopeInfo>('fileOptions', { scope: id, options: scopeKeys(useOptions) });
        fileView = createScopeView({ id, label: fileLabel, url, channel, info, known: { ...checked, id, url }, check: checkControl });
        views.set(id, fileView);
        // Tests made with the file's options copy its info: hold them (and the file's own hooks) until it is known.
        const ready = info.then((known) => void (fileView.info = known));
        pending.add(ready);
        ready.catch(() => {});
      }
      return dynamicHandle;
    },
    startTest(task) {
      const cassette = testCassetteName(root, task.file?.filepath ?? testPath ?? join(root, 'file'), titlesOf(task));
      const state: TestState = { task, scopeId: nextScopeId(channel, 't'), cassette, scopes: [], strays: 0 };
      state.scopes.push(state.scopeId);
      running.set(task.id, state);
      byScope.set(state.scopeId, state);
      channel.send('start', { test: task.id, scope: state.scopeId, cassette });
      return state;
    },
    async runInTest(state, run) {
      if (pending.size > 0) await Promise.all(pending);
      await als.run(state, run);
    },
    endTest(state) {
      running.delete(state.task.id);
      for (const id of state.scopes) {
        byScope.delete(id);
        views.delete(id);
      }
      if (!channel.closed) channel.send('end', { test: state.task.id, scopes: state.scopes });
    },
    stateOf: (task) => running.get(task.id),
    touched: (state) => state.view !== undefined,
    transcriptOf(state) {
      return boundHandle(state).transcript();
    },
    unobservedRefusals(state) {
      return state.view ? state.view.unobserved() : [];
    },
    async close() {
      stopInterception?.();
      unhook?.();
      restoreEnv();
      channel.events = undefined;
      delete (globalThis as Record<symbol, unknown>)[SESSION];
      await own?.close();
    },
  };
  const pending = new Set<Promise<void>>();
  (globalThis as Record<symbol, Session>)[SESSION] = session;

  if (options.interceptHosts === true) {
    // TokenPak's own requests go out through node:http as loopback.ts found it, before msw patches it.
    try {
      const { startInterception } = await import('./intercept.ts');
      stopInterception = await startInterception(handle);
    } catch (error) {
      await session.close();
      throw error;
    }
  }
  // Installed after msw, so that fetch calls for TokenPak skip msw's machinery.
  if (options.answerInProcess !== false) {
    const originSlash = `${origin}/`;
    const claims =
      options.interceptHosts === false
        ? (target: string) => target.startsWith(originSlash)
        : (target: string) => target.startsWith(originSlash) || (!target.startsWith('http://127.0.0.1') && policy(new URL(target)) !== 'pass');
    unhook = hookFetch(claims, handle);
  }

  registerHooks(session, options);
}
