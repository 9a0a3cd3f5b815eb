/**
 * A scope is one private TokenPak (providers, router, call log) behind a URL
 * prefix of the file's server: each test gets its own, so mock changes and
 * captured calls never leak between tests, concurrent ones included.
 */
import type { ChatRequest, ChatResponse, StreamEvent } from '../canonical/types.ts';
import { lastUserText, StreamAccumulator, textOf } from '../canonical/types.ts';
import type { Config } from '../config/load.ts';
import type { ProviderSettings } from '../config/schema.ts';
import { createMemoryCallLog } from '../logs/memory-store.ts';
import type { AttemptRecord, CallLogStore, CallRecord } from '../logs/types.ts';
import type { AnswerSource } from '../providers/mock/answers.ts';
import { createMockProvider, type MockCall, type MockFailure, type MockProvider } from '../providers/mock/mock-provider.ts';
import { createProvider } from '../providers/registry.ts';
import type { CallOptions, Provider } from '../providers/types.ts';
import type { Cassettes } from '../cassettes/setup.ts';
import type { App } from '../server/app.ts';
import { createProxyParts, type ProxyOptions } from '../server/proxy.ts';
import type { ScopeOptions } from './options.ts';
import { prepareConfig, simulatedProviders } from './options.ts';
import type { SimulatedUpstream, Simulator } from './simulator.ts';
import { createCallWaiters } from './call-waiters.ts';

/** One provider attempt of a call, as a test sees it. */
export interface TokenPakAttempt extends AttemptRecord {
  /** Mock (or simulated) provider: which canned entry answered — a pattern, the default, or a generated answer. */
  source?: AnswerSource;
  /** The failure the mock injected into this attempt (`failNext`, `failure_rate`, or a canned error). */
  injected?: MockFailure;
  /** The provider is a real one (openai, anthropic) answered by a local stand-in. */
  simulated?: boolean;
  /** Simulated providers: requests the stand-in received during this attempt (more than one when the provider retried). */
  upstreamCalls?: number;
}

/** One call a test made through TokenPak: the call-log record, with what the test needs to assert on. */
export interface TokenPakCall extends Omit<CallRecord, 'attempts'> {
  /** Every provider tried, in order. */
  attempts: TokenPakAttempt[];
  /** The last user message, which mock patterns are matched against ('' if no provider was reached). */
  prompt: string;
  /** The request as the first provider received it, in TokenPak's own form (undefined if no provider was reached). */
  request: ChatRequest | undefined;
  /**
   * The request body as the app sent it, before TokenPak read it: the parsed
   * JSON (`{ model, max_tokens, messages, … }` in the client's wire format),
   * or the text when it was not JSON; undefined when no body was read.
   */
  clientRequest?: unknown;
  /** The answer's text, when the call succeeded. */
  text: string | undefined;
  /** Tool calls in the answer, when the call succeeded. */
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
}

/** What the provider wrapper saw of one attempt. */
interface AttemptDetail {
  provider: string;
  request: ChatRequest;
  /** The mock that answered, and the index its call got. */
  mock?: { provider: MockProvider; index: number };
  /** The simulated upstream, and its mock's call count when the attempt started. */
  upstream?: { sim: SimulatedUpstream; from: number; to?: number };
  response?: ChatResponse;
  stream?: StreamAccumulator;
}

/** A private TokenPak for one test (or for a whole file). */
export interface Scope {
  /** `file`, or `t1`, `t2`, … for tests. */
  readonly id: string;
  /** What the scope is for, in transcripts: the test's full name, or the file's. */
  readonly label: string;
  /** Base URL of this scope (no trailing slash). */
  readonly url: string;
  readonly config: Config;
  readonly options: ScopeOptions;
  /** Calls finished so far, oldest first. */
  readonly calls: readonly TokenPakCall[];
  /** Things the transcript should mention (stray calls, intercepted hosts, internal errors). */
  readonly notes: string[];
  /** Names of the mocks a test can control: mock providers and simulated upstreams. */
  readonly mockNames: readonly string[];
  /** The mock behind a provider name (a mock provider, or a simulated real provider's stand-in). */
  mock(name: string): MockProvider | undefined;
  /** Handles a request whose path has the scope prefix removed. */
  fetch(request: Request): Promise<Response>;
  /** Resolves once the scope can serve (its simulated upstreams, or the file's server, are up). */
  ready(): Promise<void>;
  /** Resolves with the calls once `count` calls have finished (or rejects after `timeoutMs`). */
  waitForCalls(count: number, timeoutMs: number): Promise<readonly TokenPakCall[]>;
  dispose(): Promise<void>;
}

export interface ScopeInit {
  id: string;
  label: string;
  /** Base URL, read when asked (the file scope learns its port only once its server listens). */
  url: () => string;
  /** The config as loaded; simulated and guarded here. */
  config: Config;
  options: ScopeOptions;
  simulator: Simulator;
  /** Builds the parts from proxy options (default: `createProxyParts`; the file scope starts the server here). */
  makeParts?: (options: ProxyOptions) => Promise<{ app: App; log: CallLogStore }> | { app: App; log: CallLogStore };
  onInternalError: (error: unknown) => void;
  /** Told of each finished call (the run's TokenPak sends it to the test's process). */
  onCall?: (call: TokenPakCall) => void;
  /** Runs before each provider attempt (the run's TokenPak evaluates the test's function answers here). */
  beforeAttempt?: (provider: string, request: ChatRequest) => Promise<void> | void;
  /** Recordings that answer (or record) the scope's real providers, bound to its cassette. */
  cassettes?: Cassettes;
}

export function createScope(init: ScopeInit): Scope {
  const { id, simulator } = init;
  const simulated = simulatedProviders(init.config, init.options);
  // Checked now, so that a bad option fails where it was given, not at the first request.
  const checked = prepareConfig(init.config, init.options, simulated, () => 'http://127.0.0.1/');
  const upstreams = new Map<string, SimulatedUpstream>();
  const notes: string[] = [];
  // A mock told what its routes send it warns (in the transcript) about answers set for a model it never gets.
  const warn = (message: string) => notes.push(`warning: ${message}`);
  for (const [name, settings] of simulated) upstreams.set(name, simulator.register(id, name, checked.providers[name]!, settings, checked, warn));

  const mocks = new Map<string, MockProvider>();
  const details = new Map<string, AttemptDetail[]>();
  const calls: TokenPakCall[] = [];
  const waiters = createCallWaiters(calls);
  const log = createMemoryCallLog();
  // Bodies as the app sent them, by request id, until their call is logged.
  const clientRequests = new Map<string, unknown>();
  const onClientRequest = (requestId: string, body: unknown) => clientRequests.set(requestId, body);
  log.subscribe((record) => {
    const call = enrich(record, details.get(record.id) ?? [], clientRequests.get(record.id));
    calls.push(call);
    details.delete(record.id);
    clientRequests.delete(record.id);
    waiters.wake();
    init.onCall?.(call);
  });

  const note = (requestId: string | undefined, detail: AttemptDetail) => {
    const key = requestId ?? '';
    const list = details.get(key);
    if (list) list.push(detail);
    else details.set(key, [detail]);
  };

  const created = new Map<string, Provider>();
  const factory = (name: string, settings: ProviderSettings): Provider => {
    const existing = created.get(name);
    if (existing) return existing;
    // A simulated provider's stand-in is TokenPak's own mock: nothing worth recording.
    const real = init.cassettes && !simulated.has(name) ? init.cassettes.providerFactory : createProvider;
    const provider = settings.type === 'mock' ? createMockProvider(name, settings, { servedModels: modelsSentTo(checked, name), onWarning: warn }) : real(name, settings);
    if (provider.type === 'mock') mocks.set(name, provider as MockProvider);
    const wrapped = instrument(provider, note, provider.type === 'mock' ? (provider as MockProvider) : undefined, upstreams.get(name), init.beforeAttempt);
    created.set(name, wrapped);
    return wrapped;
  };
  // Mocks exist from the start, so a test can change them before the scope has finished building.
  for (const [name, settings] of Object.entries(checked.providers)) {
    if (settings.enabled && settings.type === 'mock') factory(name, settings);
  }

  // The app binds each request to the cassette and hands a same-format client the recorded bytes; providers come from `factory`.
  const cassettes: Cassettes | undefined = init.cassettes && { ...init.cassettes, providerFactory: factory };
  const build = async (): Promise<App> => {
    const base = simulated.size > 0 ? await simulator.url() : '';
    const config = simulated.size > 0 ? prepareConfig(init.config, init.options, simulated, (name) => upstreams.get(name)!.baseURL(base)) : checked;
    const proxyOptions: ProxyOptions = { config, log, providerFactory: factory, onInternalError: init.onInternalError, onClientRequest, ...(cassettes ? { cassettes } : {}) };
    const parts = await (init.makeParts ?? createProxyParts)(proxyOptions);
    return parts.app;
  };

  // Mock-only scopes are built at once, so a test's first request pays no extra tick.
  let app: App | undefined;
  let ready: Promise<App> | undefined;
  if (simulated.size === 0 && !init.makeParts) {
    app = createProxyParts({ config: checked, log, providerFactory: factory, onInternalError: init.onInternalError, onClientRequest, ...(cassettes ? { cassettes } : {}) }).app;
  } else {
    ready = build().then((built) => (app = built));
    // Errors surface on the first request (or ready()); an unobserved one must not crash the run.
    ready.catch(() => {});
  }

  for (const [name, upstream] of upstreams) mocks.set(name, upstream.mock);

  return {
    id,
    label: init.label,
    get url() {
      return init.url();
    },
    config: checked,
    options: init.options,
    calls,
    notes,
    get mockNames() {
      return [...mocks.keys()];
    },
    mock: (name) => mocks.get(name),
    async fetch(request) {
      return (app ?? (await ready!)).fetch(request);
    },
    async ready() {
      if (!app) await ready;
    },
    waitForCalls: (count, timeoutMs) => waiters.wait(count, timeoutMs),
    async dispose() {
      simulator.unregister(id);
      await log.close();
    },
  };
}

/** The upstream model names the config's routes send to a provider. */
function modelsSentTo(config: Config, provider: string): string[] {
  const models = new Set<string>();
  for (const route of Object.values(config.models)) for (const target of route.chain) if (target.provider === provider) models.add(target.model);
  return [...models];
}

/** Wraps a provider to see each attempt's request, answer and mock call, keyed by request id. */
function instrument(
  provider: Provider,
  note: (requestId: string | undefined, detail: AttemptDetail) => void,
  mock: MockProvider | undefined,
  upstream: SimulatedUpstream | undefined,
  beforeAttempt: ScopeInit['beforeAttempt'],
): Provider {
  const start = (request: ChatRequest, options: CallOptions | undefined): AttemptDetail => {
    const detail: AttemptDetail = { provider: provider.name, request };
    // The mock numbers a call synchronously when it is made, so this is the index it gets.
    if (mock) detail.mock = { provider: mock, index: mock.calls.length };
    if (upstream) detail.upstream = { sim: upstream, from: upstream.mock.calls.length };
    note(options?.requestId, detail);
    return detail;
  };
  const end = (detail: AttemptDetail) => {
    if (detail.upstream) detail.upstream.to = detail.upstream.sim.mock.calls.length;
  };
  const wrapped: Provider = {
    name: provider.name,
    type: provider.type,
    async complete(request, options) {
      if (beforeAttempt) await beforeAttempt(provider.name, request);
      const detail = start(request, options);
      try {
        detail.response = await provider.complete(request, options);
        return detail.response;
      } finally {
        end(detail);
      }
    },
    stream(request, options) {
      return (async function* (): AsyncGenerator<StreamEvent> {
        if (beforeAttempt) await beforeAttempt(provider.name, request);
        const detail = start(request, options);
        const accumulator = (detail.stream = new StreamAccumulator(request.model));
        const inner = provider.stream(request, options);
        try {
          for await (const event of inner) {
            accumulator.add(event);
            if (event.type !== 'start') end(detail);
            yield event;
          }
        } finally {
          end(detail);
        }
      })();
    },
  };
  if (provider.close) wrapped.close = () => provider.close!();
  return wrapped;
}

/**
 * The mock call behind one try of a provider call. A real provider's retries
 * are tries of one call (one detail) and each has its own attempt record;
 * try n of a simulated provider is the stand-in's n-th request of that call.
 */
function mockCallOf(detail: AttemptDetail | undefined, tryIndex: number): { call: MockCall; simulated: boolean; upstreamCalls?: number } | undefined {
  if (!detail) return undefined;
  if (detail.mock) {
    const call = detail.mock.provider.calls[detail.mock.index];
    return call ? { call, simulated: false } : undefined;
  }
  if (detail.upstream) {
    const { sim, from, to } = detail.upstream;
    const prompt = lastUserText(detail.request);
    const during = sim.mock.calls.slice(from, to ?? sim.mock.calls.length).filter((c) => c.prompt === prompt);
    const call = during[tryIndex] ?? during.at(-1);
    return call ? { call, simulated: true, upstreamCalls: 1 } : undefined;
  }
  return undefined;
}

function enrich(record: CallRecord, details: AttemptDetail[], clientRequest: unknown): TokenPakCall {
  const byProvider = new Map<string, AttemptDetail[]>();
  for (const detail of details) {
    const list = byProvider.get(detail.provider);
    if (list) list.push(detail);
    else byProvider.set(detail.provider, [detail]);
  }
  let answered: AttemptDetail | undefined;
  let detail: AttemptDetail | undefined;
  let tryIndex = 0;
  const attempts = record.attempts.map((attempt, i): TokenPakAttempt => {
    // A try that waited for a retry is followed by the next try of the same provider call.
    const previous = record.attempts[i - 1];
    if (previous && previous.provider === attempt.provider && previous.waitMs !== undefined) tryIndex++;
    else {
      detail = byProvider.get(attempt.provider)?.shift();
      tryIndex = 0;
    }
    if (attempt.outcome === 'ok') answered = detail;
    const mockCall = mockCallOf(detail, tryIndex);
    const enriched: TokenPakAttempt = { ...attempt };
    if (mockCall) {
      if (mockCall.call.source) enriched.source = mockCall.call.source;
      if (mockCall.call.injected !== undefined) enriched.injected = mockCall.call.injected;
      if (mockCall.simulated) enriched.simulated = true;
      if (mockCall.upstreamCalls !== undefined) enriched.upstreamCalls = mockCall.upstreamCalls;
    } else if (detail?.upstream) {
      enriched.simulated = true;
    }
    return enriched;
  });
  const first = details[0]?.request;
  const response = answered?.response ?? answered?.stream?.response();
  const { attempts: _attempts, ...rest } = record;
  return {
    ...rest,
    attempts,
    prompt: first ? lastUserText(first) : '',
    request: first,
    clientRequest,
    text: record.outcome === 'ok' && response ? textOf(response.content) : undefined,
    toolCalls:
      record.outcome === 'ok' && response
        ? response.content.flatMap((p) => (p.type === 'tool-call' ? [{ id: p.id, name: p.name, arguments: p.arguments }] : []))
        : [],
  };
}
