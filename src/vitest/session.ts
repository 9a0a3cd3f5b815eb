/**
 * One test file's TokenPak: a server on an ephemeral loopback port, started
 * before the test file is imported and stopped after it, with a private scope
 * per test.
 *
 * Routing on the server:
 * - `/__tokenpak/<scope>/…`, or any path with `x-tokenpak-test: <scope>`: that
 *   scope (each handle's `url` carries its prefix, so concurrent tests that
 *   pass it on stay isolated);
 * - any other path (what `OPENAI_BASE_URL` and friends point at): the running
 *   test's scope when one test runs, the file's scope when none does; while
 *   several run concurrently, the file's scope, and each of those tests is
 *   told in its transcript that calls could not be attributed to it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, afterEach, aroundEach, expect, type RunnerTestCase } from 'vitest';
import { TokenPakError, toTokenPakError } from '../errors.ts';
import { tokenpakFormat } from '../formats/tokenpak.ts';
import type { MockProvider } from '../providers/mock/mock-provider.ts';
import type { App } from '../server/app.ts';
import { startProxy, type TokenPakProxy } from '../server/proxy.ts';
import { createHandle, type TokenPakHandle } from './handle.ts';
import { answerFetchInProcess } from './in-process.ts';
import { startInterception } from './intercept.ts';
import { matchers } from './matchers.ts';
import { checkOptions, createConfigLoader, projectRootOf, type ScopeOptions, type TokenPakVitestOptions } from './options.ts';
import { rewrite } from './rewrite.ts';
import { createScope, type Scope } from './scope.ts';
import { createSimulator } from './simulator.ts';
import { TRANSCRIPT_MARK } from './transcript.ts';

const SESSION = Symbol.for('tokenpak.vitest.session');
const LAST_PORT = Symbol.for('tokenpak.vitest.port');
const PREFIX = '/__tokenpak/';
const SCOPE_HEADER = 'x-tokenpak-test';

/** One running test (one attempt of it, with retries). */
interface TestState {
  task: RunnerTestCase;
  scope?: Scope;
  /** The options the scope was built with, to tell a repeated useTokenPak(options) from a change. */
  scopeKey?: string;
  /** Calls that reached the shared URL while this test ran alongside others. */
  strays: number;
}

/** The per-file state behind `useTokenPak()`. */
export interface Session {
  /** The file's server URL (what `TOKENPAK_URL` is). */
  readonly url: string;
  /** A handle bound to one test (its scope is created on first use). */
  handleFor(task: RunnerTestCase): TokenPakHandle;
  /** `useTokenPak()`: bound to the calling test, or following the running test when called outside one. */
  use(options?: ScopeOptions): TokenPakHandle;
  /** The scope that gets a request made now from the test process (for hard-coded hosts). */
  currentScope(): Scope;
  /** Answers a request to this TokenPak's URL in-process, for the test whose code made it. */
  fetchInProcess(request: Request): Promise<Response>;
  /** Adds a note to the transcript of the test running now (or of the file). */
  noteCurrent(text: string): void;
  close(): Promise<void>;
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
  return picked;
}

const hasScopeOptions = (options: ScopeOptions | undefined) => Object.keys(scopeKeys(options)).length > 0;

/**
 * Starts the file's TokenPak and registers the hooks that give each test its
 * scope and print transcripts of failing tests. `tokenpak/vitest/setup` calls
 * it; call it yourself from your own setup file to pass options in code.
 */
export async function setupTokenPak(options: TokenPakVitestOptions = {}): Promise<void> {
  checkOptions(options, 'setupTokenPak()');
  if (currentSession()) {
    throw new TokenPakError(
      'config_invalid',
      'TokenPak is set up twice for this test file. Keep one of: tokenpak/vitest/setup in setupFiles, the tokenpak() Vite plugin (which adds it), or your own setupTokenPak() call.',
    );
  }
  const cwd = options.root ?? projectRootOf(expect.getState().testPath, process.cwd());
  // The official SDK constructors throw without a key; a dummy one never leaves this machine.
  const savedEnv = Object.fromEntries(['OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL', 'TOKENPAK_URL', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY'].map((k) => [k, process.env[k]]));
  process.env.OPENAI_API_KEY ||= 'tokenpak-test-key';
  process.env.ANTHROPIC_API_KEY ||= 'tokenpak-test-key';

  const onInternalError = (error: unknown) => {
    console.error('[tokenpak] internal error:', error);
    currentSessionNote(`TokenPak had an internal error: ${(error as Error)?.message ?? String(error)}`);
  };
  const loader = createConfigLoader(cwd);
  const simulator = createSimulator(onInternalError);
  const als = new AsyncLocalStorage<TestState>();
  const running = new Map<string, TestState>();
  const scopes = new Map<string, Scope>();
  let fileOptions: ScopeOptions = scopeKeys(options);
  const fileChanges: Array<{ provider: string; apply: (mock: MockProvider) => void }> = [];
  let nextId = 0;
  let proxy: TokenPakProxy | undefined;
  let url = '';

  const applyFileChanges = (scope: Scope) => {
    for (const change of fileChanges) {
      const mock = scope.mock(change.provider);
      if (mock) change.apply(mock);
    }
  };

  const newScope = (id: string, label: string, scopeUrl: () => string, scopeOptions: ScopeOptions): Scope => {
    const scope = createScope({
      id,
      label,
      url: scopeUrl,
      config: loader.load(scopeOptions.config),
      options: scopeOptions,
      simulator,
      onInternalError,
    });
    applyFileChanges(scope);
    scopes.set(id, scope);
    return scope;
  };

  const scopeOf = (state: TestState, scopeOptions?: ScopeOptions): Scope => {
    if (state.scope && !hasScopeOptions(scopeOptions)) return state.scope;
    const merged = { ...fileOptions, ...scopeKeys(scopeOptions) };
    const key = JSON.stringify(merged);
    if (state.scope && state.scopeKey === key) return state.scope;
    if (state.scope) {
      if (state.scope.calls.length > 0) {
        throw new TokenPakError('invalid_request', `useTokenPak() with options must come before the test's first call to TokenPak (${state.scope.calls.length} call(s) already made). Call it at the start of the test.`);
      }
      scopes.delete(state.scope.id);
      void state.scope.dispose();
    }
    const id = `t${++nextId}`;
    const scopeUrl = `${url}${PREFIX}${id}`;
    state.scope = newScope(id, `test "${state.task.fullTestName ?? state.task.name}"`, () => scopeUrl, merged);
    state.scopeKey = key;
    return state.scope;
  };

  // The file's own scope, served by the proxy's parts; replaced when a file-level useTokenPak() gives options.
  let fileScope: Scope;
  const fileLabel = () => 'this test file (outside any test)';

  /**
   * Routes a request to its scope. `caller` is the test whose code made the
   * request when that is known (a fetch answered in-process through msw runs in
   * the test's async context); a request off the socket has none.
   */
  const route = async (request: Request, caller: TestState | undefined): Promise<Response> => {
    const target = new URL(request.url);
    let scope: Scope | undefined;
    let forwarded = request;
    if (target.pathname.startsWith(PREFIX)) {
      const rest = target.pathname.slice(PREFIX.length);
      const slash = rest.indexOf('/');
      const id = slash === -1 ? rest : rest.slice(0, slash);
      scope = scopes.get(id);
      if (!scope) return unknownScope(id);
      forwarded = rewrite(request, `${slash === -1 ? '/' : rest.slice(slash)}${target.search}`);
    } else if (request.headers.has(SCOPE_HEADER)) {
      const id = request.headers.get(SCOPE_HEADER)!;
      scope = scopes.get(id);
      if (!scope) return unknownScope(id);
    } else if (caller) {
      scope = scopeOf(caller);
    } else if (running.size === 1) {
      scope = scopeOf(running.values().next().value!);
    } else {
      scope = fileScope;
      for (const state of running.values()) {
        state.strays++;
        scopeOf(state);
      }
    }
    return scope.fetch(forwarded);
  };
  const dispatch = (request: Request, _app: App) => route(request, undefined);

  fileScope = createScope({
    id: 'file',
    label: fileLabel(),
    url: () => url,
    config: loader.load(fileOptions.config),
    options: fileOptions,
    simulator,
    onInternalError,
    makeParts: async (proxyOptions) => {
      const start = (port: number) => startProxy({ ...proxyOptions, port, host: '127.0.0.1', fetch: dispatch });
      // Without isolation, modules (and the SDK clients they made) outlive a test file: the next file's
      // TokenPak takes the same port when it can, so that those clients still reach it.
      const previous = (globalThis as Record<symbol, number | undefined>)[LAST_PORT];
      try {
        proxy = await start(previous ?? 0);
      } catch (error) {
        if (previous === undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
        proxy = await start(0);
      }
      (globalThis as Record<symbol, number>)[LAST_PORT] = proxy.port;
      return proxy;
    },
  });
  try {
    await fileScope.ready();
  } catch (error) {
    await simulator.close();
    throw error;
  }
  url = proxy!.url;
  scopes.set(fileScope.id, fileScope);

  const currentScope = (): Scope => {
    const state = als.getStore();
    return state ? scopeOf(state) : fileScope;
  };

  const dynamicHandle = createHandle({
    scope: currentScope,
    recordFileChange(provider, apply) {
      if (!als.getStore()) fileChanges.push({ provider, apply });
    },
  });

  const notesOf = (state: TestState) => (): string[] =>
    state.strays > 0
      ? [
          `${state.strays} call(s) reached the file's shared TokenPak URL (OPENAI_BASE_URL, ANTHROPIC_BASE_URL, TOKENPAK_URL) while other tests ran concurrently, so they are in no test's transcript. ` +
            'In test.concurrent, pass tokenpak.openaiBaseURL / tokenpak.anthropicBaseURL / tokenpak.url to the code under test.',
        ]
      : [];

  const boundHandle = (state: TestState): TokenPakHandle => createHandle({ scope: () => scopeOf(state), notes: notesOf(state) });

  let interception: (() => void) | undefined;
  let shortcut: (() => void) | undefined;
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
        scopeOf(state, useOptions);
        return boundHandle(state);
      }
      if (hasScopeOptions(useOptions)) {
        // Later tests of this file get these options; the file's own scope is rebuilt with them.
        fileOptions = { ...fileOptions, ...scopeKeys(useOptions) };
        const previous = fileScope;
        fileScope = newScope(`f${++nextId}`, fileLabel(), () => url, fileOptions);
        scopes.delete(previous.id);
        void previous.dispose();
      }
      return dynamicHandle;
    },
    currentScope,
    fetchInProcess: (request) => route(request, als.getStore()),
    noteCurrent(text) {
      const state = als.getStore();
      (state ? scopeOf(state) : fileScope).notes.push(text);
    },
    async close() {
      shortcut?.();
      interception?.();
      for (const [key, value] of Object.entries(savedEnv)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      delete (globalThis as Record<symbol, unknown>)[SESSION];
      for (const scope of scopes.values()) await scope.dispose();
      await proxy?.close({ graceMs: 0 });
      await simulator.close();
    },
  };

  function currentSessionNote(text: string) {
    session.noteCurrent(text);
  }

  process.env.TOKENPAK_URL = url;
  process.env.OPENAI_BASE_URL = `${url}/v1`;
  process.env.ANTHROPIC_BASE_URL = url;
  (globalThis as Record<symbol, Session>)[SESSION] = session;

  if (options.interceptHosts !== false) {
    try {
      interception = await startInterception(session, options);
    } catch (error) {
      await session.close();
      throw error;
    }
  }
  // Installed after msw, so that calls to this TokenPak skip msw's machinery too.
  if (options.answerInProcess !== false) shortcut = answerFetchInProcess(new URL(url).origin, session.fetchInProcess);

  expect.extend(matchers);

  // Vitest reads which fixtures a hook uses from its parameters: they must be destructured.
  aroundEach(async (runTest, { task }) => {
    const state: TestState = { task, strays: 0 };
    running.set(task.id, state);
    try {
      await als.run(state, runTest);
    } finally {
      running.delete(task.id);
      if (state.scope) {
        scopes.delete(state.scope.id);
        await state.scope.dispose();
      }
    }
  });

  // Registered first, so it runs after the test file's own afterEach hooks and sees their calls too.
  afterEach(({ task }) => {
    const result = task.result;
    const state = running.get(task.id);
    if (options.transcriptOnFailure === false || result?.state !== 'fail' || !state?.scope) return;
    const transcript = boundHandle(state).transcript();
    const error = result.errors?.[0];
    if (error && typeof error.message === 'string') {
      if (!error.message.includes(TRANSCRIPT_MARK)) error.message += `\n\n${transcript}`;
    } else {
      console.error(transcript);
    }
  });

  afterAll(() => session.close());
}

function unknownScope(id: string): Response {
  const error = new TokenPakError(
    'route_not_found',
    `No running test owns TokenPak scope "${id}": a test's URL (tokenpak.url) works only while that test runs. Use the URL of the running test's handle.`,
    { status: 404 },
  );
  const rendered = tokenpakFormat.renderError(toTokenPakError(error), { requestId: 'tokenpak-vitest' });
  return Response.json(rendered.body, { status: rendered.status });
}
