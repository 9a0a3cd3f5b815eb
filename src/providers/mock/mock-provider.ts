/**
 * The mock provider: canned or generated answers, simulated latency, and
 * injected failures, all deterministic.
 *
 * Determinism rule: the provider numbers its calls 0, 1, 2, … in the order they
 * arrive. Whether call n fails, and its latency within a `{min, max}` range,
 * are pure functions of (seed, n). Which answer it gets depends only on the
 * requested model, the last user message and, for answer lists, how many
 * times that list has answered before. The same config, seed and sequence of
 * requests therefore give the same answers and failures, run after run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatRequest, ChatResponse, StreamEvent, TextPart, ToolCallPart } from '../../canonical/types.ts';
import { lastUserText } from '../../canonical/types.ts';
import type { AnswerSpec, FailureKind, LatencySetting, MockProviderSettings } from '../../config/schema.ts';
import { classifyStatus, ProviderError, TokenPakError } from '../../errors.ts';
import type { CallOptions, Provider } from '../types.ts';
import {
  answerContent,
  answerLatency,
  applyStopSequences,
  compilePattern,
  generateContent,
  selectAnswers,
  type AnswerSource,
  type MockAnswer,
  type MockAnswers,
  type MockModelAnswers,
} from './answers.ts';
import {
  answerProblems,
  checkFailNext,
  checkSetDefault,
  checkSetPatterns,
  checkSettingChanges,
  controlError,
  RUNTIME_SETTING_KEYS,
  unservedModelWarning,
  type RuntimeSettingKey,
} from './control-checks.ts';
import { draw, hash32 } from './random.ts';
import { mockEmbeddings } from './embeddings.ts';
import { estimateInputTokens, estimateOutputTokens } from './tokens.ts';

/** A failure the mock can be told to inject. */
export type MockFailure = FailureKind | { status: number; message?: string };

/** Settings that can be changed at run time (by tests). */
export type MockRuntimeSettings = Pick<MockProviderSettings, RuntimeSettingKey>;

/** How a mock is told about its surroundings (the Vitest plugin sets these). */
export interface MockProviderOptions {
  /**
   * The model names routes send to this mock. When given, answers set at run
   * time for any other model (a typo, usually) raise a warning.
   */
  servedModels?: readonly string[];
  /** Receives warnings about run-time changes (default: none are reported). */
  onWarning?: (message: string) => void;
}

/** One call the mock received, kept for assertions and transcripts. */
export interface MockCall {
  /** Call number, from 0. */
  index: number;
  /** Upstream model asked for. */
  model: string;
  /** Last user message, which patterns were matched against. */
  prompt: string;
  request: ChatRequest;
  stream: boolean;
  /** Which canned entry answered (absent when the call failed before choosing). */
  source?: AnswerSource;
  /** The failure injected into this call, if any. */
  injected?: MockFailure;
  outcome: 'ok' | 'error';
  /**
   * Simulated latency of this call in ms: the `{min, max}` draw or fixed value,
   * after any per-answer override (a `timeout` failure waits `timeout_ms` instead).
   */
  latencyMs: number;
}

/** The mock provider, with run-time controls for tests. */
export interface MockProvider extends Provider {
  readonly type: 'mock';
  /** Calls received, oldest first: the newest {@link MAX_KEPT_CALLS} (older ones are dropped so a long-running proxy does not grow). */
  readonly calls: readonly MockCall[];
  /** Current settings (config values with run-time changes applied). */
  readonly settings: Readonly<MockRuntimeSettings>;
  /**
   * Changes settings from now on. Checked against the config file's schema: an
   * unknown key, or a value the config would refuse, throws a `config_invalid`
   * TokenPakError that names the mistake and changes nothing.
   */
  configure(changes: Partial<MockRuntimeSettings>): void;
  /**
   * Adds patterns for a model (`*` for every model without its own entry),
   * tried before the existing ones, or instead of them with `replace`. Answers
   * are checked as in a config file (a function's answer when it answers).
   */
  setPatterns(
    model: string,
    patterns: Record<string, MockAnswers> | ReadonlyArray<readonly [string | RegExp, MockAnswers]>,
    options?: { replace?: boolean },
  ): void;
  /** Sets the answer used when no pattern of this model matches. */
  setDefault(model: string, answers: MockAnswers): void;
  /** The next `count` calls fail with `failure` (default: the configured failure). */
  failNext(count: number, failure?: MockFailure): void;
  /** Saves the current settings and answers; the returned function restores them. */
  checkpoint(): () => void;
  /** Back to the config's settings and answers; call numbering and the call list restart. */
  reset(): void;
}

interface State {
  settings: MockRuntimeSettings;
  answers: Map<string, MockModelAnswers>;
  pending: MockFailure[];
}

function initialState(settings: MockProviderSettings): State {
  const answers = new Map<string, MockModelAnswers>();
  for (const [model, entry] of Object.entries(settings.responses)) {
    answers.set(model, {
      ...(entry.default !== undefined ? { default: entry.default } : {}),
      patterns: entry.patterns.map(([key, value]) => compilePattern(key, value)),
    });
  }
  return {
    settings: Object.fromEntries(RUNTIME_SETTING_KEYS.map((key) => [key, settings[key]])) as MockRuntimeSettings,
    answers,
    pending: [],
  };
}

function cloneState(state: State): State {
  const answers = new Map<string, MockModelAnswers>();
  for (const [model, entry] of state.answers) answers.set(model, { ...entry, patterns: [...entry.patterns] });
  return { settings: { ...state.settings }, answers, pending: [...state.pending] };
}

/** How many of its most recent calls a mock keeps in `calls`. */
export const MAX_KEPT_CALLS = 1000;

/** Mock timeouts wait this long when the provider sets no `timeout_ms`. */
const DEFAULT_MOCK_TIMEOUT_MS = 30_000;

/** Creates a mock provider from its config settings. */
export function createMockProvider(name: string, settings: MockProviderSettings, options: MockProviderOptions = {}): MockProvider {
  let state = initialState(settings);
  let calls: MockCall[] = [];
  let callCount = 0;
  // How many times each answer list has answered, for cycling through it.
  let listTurns = new WeakMap<object, number>();

  const pickFrom = (answers: MockAnswers, request: ChatRequest): AnswerSpec => {
    let answer: MockAnswer;
    if (Array.isArray(answers)) {
      const turn = listTurns.get(answers) ?? 0;
      listTurns.set(answers, turn + 1);
      answer = answers[turn % answers.length]!;
    } else {
      answer = answers as MockAnswer;
    }
    if (typeof answer !== 'function') return answer;
    const produced = answer(request);
    // A function's answer is only known now: check it as a config answer would be.
    const problems = answerProblems(produced, 'the answer');
    if (problems.length > 0) throw controlError(name, 'an answer function returned an answer it cannot give', problems);
    return produced;
  };

  const warnUnserved = (call: string, model: string) => {
    const warning = unservedModelWarning(name, call, model, options.servedModels);
    if (warning) options.onWarning?.(warning);
  };

  const latencyFor = (setting: LatencySetting, index: number): number =>
    typeof setting === 'number' ? setting : setting.min + Math.floor(draw(state.settings.seed, index, 'latency') * (setting.max - setting.min + 1));

  /**
   * What a retryable injected failure tells the client about waiting. The SDKs
   * read `retry-after-ms` first; it is 1, not 0, because the Anthropic SDK
   * takes 0 as "no hint" and falls back to its 0.5-8 s backoff.
   */
  const retryHint = (status: number): { retryAfterMs?: number; retryAfterSeconds?: number } => {
    if (state.settings.retry_after === 'immediate') return { retryAfterMs: 1, retryAfterSeconds: 0 };
    return status === 429 ? { retryAfterSeconds: 1 } : {};
  };

  const failureError = (failure: MockFailure, why: string): ProviderError => {
    const fix = why.startsWith('failure_rate') ? ' Set failure_rate: 0 to turn injected failures off.' : '';
    if (failure === 'timeout') {
      return new ProviderError('provider_timeout', `Mock provider "${name}" simulated a timeout after ${state.settings.timeout_ms ?? DEFAULT_MOCK_TIMEOUT_MS} ms (${why}).${fix}`, { provider: name, status: 504, retryable: true, ...retryHint(504) });
    }
    if (failure === 'disconnect') {
      return new ProviderError('provider_connection_error', `Mock provider "${name}" simulated a dropped connection (${why}).${fix}`, { provider: name, status: 502, retryable: true, dropsConnection: true, ...retryHint(502) });
    }
    // Any status fails as a real API answering it would: same code, same retryability.
    const status = typeof failure === 'object' ? failure.status : failure;
    const { code, retryable } = classifyStatus(status);
    const what = status === 429 ? 'a rate limit' : status === 529 ? 'an overload' : status >= 500 ? 'a server error' : 'a client error';
    const message = typeof failure === 'object' && failure.message !== undefined ? failure.message : `Mock provider "${name}" simulated ${what} (HTTP ${status}, ${why}).${fix}`;
    return new ProviderError(code, message, { provider: name, status, retryable, ...(retryable ? retryHint(status) : {}) });
  };

  interface Plan {
    call: MockCall;
    latency: number;
    failure?: { kind: MockFailure; error: ProviderError };
    content: Array<TextPart | ToolCallPart>;
    response: ChatResponse;
  }

  /** Decides everything about call n up front, so the draws never depend on timing. */
  const plan = (request: ChatRequest, stream: boolean): Plan => {
    const index = callCount++;
    const prompt = lastUserText(request);
    const call: MockCall = { index, model: request.model, prompt, request, stream, outcome: 'ok', latencyMs: 0 };
    calls.push(call);
    // A long-running proxy must not grow without bound: keep the newest calls only.
    if (calls.length > MAX_KEPT_CALLS + (MAX_KEPT_CALLS >> 3)) calls = calls.slice(-MAX_KEPT_CALLS);
    let latency = latencyFor(state.settings.latency_ms, index);

    let injected: MockFailure | undefined;
    let why = '';
    if (state.pending.length > 0) {
      injected = state.pending.shift()!;
      why = 'failNext';
    } else if (state.settings.failure_rate > 0 && draw(state.settings.seed, index, 'failure') < state.settings.failure_rate) {
      injected = state.settings.failure;
      why = `failure_rate: ${state.settings.failure_rate}`;
    }

    const chosen = selectAnswers(state.answers.get(request.model) ?? state.answers.get('*'), prompt);
    let content: Array<TextPart | ToolCallPart>;
    if (chosen) {
      call.source = chosen.source;
      const answer = pickFrom(chosen.answers, request);
      const override = answerLatency(answer);
      if (override !== undefined) latency = latencyFor(override, index);
      if (typeof answer === 'object' && answer.error !== undefined && injected === undefined) {
        injected = answer.error;
        why = chosen.source.kind === 'pattern' ? `canned error for pattern "${chosen.source.key}"` : 'canned error';
      }
      content = answerContent(answer, `${state.settings.seed}:${index}:${request.model}`);
    } else {
      call.source = { kind: 'generated' };
      content = generateContent(request, prompt, `${state.settings.seed}:${index}:${request.model}`);
    }
    const stopSequence = applyStopSequences(content, request.stop);

    let stopReason: ChatResponse['stopReason'] = content.some((p) => p.type === 'tool-call') ? 'tool-calls' : 'stop';
    let outputTokens = estimateOutputTokens(content);
    if (request.maxTokens !== undefined && outputTokens > request.maxTokens && stopReason === 'stop') {
      // Truncate as a real model would, so `length` handling gets exercised.
      const text = content.map((p) => (p.type === 'text' ? p.text : '')).join('').slice(0, request.maxTokens * 4);
      content = [{ type: 'text', text }];
      outputTokens = request.maxTokens;
      stopReason = 'length';
    }
    const response: ChatResponse = {
      id: `mock-${hash32(`${name}:${state.settings.seed}:${index}`).toString(36)}${index.toString(36)}`,
      model: request.model,
      content,
      stopReason,
      ...(stopSequence !== undefined && stopReason === 'stop' ? { stopSequence } : {}),
      usage: { inputTokens: estimateInputTokens(request), outputTokens },
    };
    call.latencyMs = latency;
    const result: Plan = { call, latency, content, response };
    if (injected !== undefined) {
      call.injected = injected;
      call.outcome = 'error';
      result.failure = { kind: injected, error: failureError(injected, why) };
    }
    return result;
  };

  const wait = async (ms: number, signal: AbortSignal | undefined) => {
    if (ms <= 0) {
      signal?.throwIfAborted();
      return;
    }
    try {
      await sleep(ms, undefined, signal ? { signal } : undefined);
    } catch (error) {
      if (signal?.aborted) throw new TokenPakError('provider_connection_error', `Call to mock provider "${name}" was cancelled.`, { provider: name, status: 499, cause: error });
      throw error;
    }
  };

  const failAfterWait = async (failure: NonNullable<Plan['failure']>, latency: number, signal?: AbortSignal): Promise<never> => {
    // A timeout takes the provider's whole timeout; everything else fails after the usual latency.
    await wait(failure.kind === 'timeout' ? (state.settings.timeout_ms ?? DEFAULT_MOCK_TIMEOUT_MS) : latency, signal);
    throw failure.error;
  };

  const provider: MockProvider = {
    name,
    type: 'mock',
    get calls() {
      return calls;
    },
    get settings() {
      return state.settings;
    },

    async complete(request: ChatRequest, options: CallOptions = {}): Promise<ChatResponse> {
      const p = plan(request, false);
      if (p.failure) return failAfterWait(p.failure, p.latency, options.signal);
      await wait(p.latency, options.signal);
      return p.response;
    },

    // Embeddings and token counts are pure functions of the input: no latency, failures or call records.
    async embed(request) {
      return mockEmbeddings(request);
    },

    async countTokens(request) {
      return estimateInputTokens(request);
    },

    async *stream(request: ChatRequest, options: CallOptions = {}): AsyncIterable<StreamEvent> {
      const p = plan(request, true);
      const signal = options.signal;
      if (p.failure && p.failure.kind !== 'disconnect') await failAfterWait(p.failure, p.latency, signal);
      if (p.failure && state.settings.disconnect_after_chunks === 0) await failAfterWait(p.failure, p.latency, signal);
      await wait(p.latency, signal);
      const cutAfter = p.failure ? state.settings.disconnect_after_chunks : Infinity;
      let sent = 0;
      const delay = state.settings.chunk_delay_ms;
      yield { type: 'start', id: p.response.id, model: p.response.model, inputTokens: p.response.usage.inputTokens };
      for (const chunk of chunksOf(p.response)) {
        if (sent > 0 && delay > 0) await wait(delay, signal);
        if (sent >= cutAfter) throw p.failure!.error;
        yield chunk;
        sent++;
      }
      // A dropped connection never reaches finish, however short the answer.
      if (p.failure) throw p.failure.error;
      const { stopReason, stopSequence, usage } = p.response;
      yield { type: 'finish', stopReason, usage, ...(stopSequence !== undefined ? { stopSequence } : {}) };
    },

    configure(changes) {
      state.settings = { ...state.settings, ...(checkSettingChanges(name, changes) as Partial<MockRuntimeSettings>) };
    },
    setPatterns(model, patterns, setOptions) {
      const entries = checkSetPatterns(name, model, patterns, setOptions);
      const compiled = entries.map(([key, answers]) => compilePattern(key, answers as MockAnswers));
      const current = state.answers.get(model) ?? { patterns: [] };
      state.answers.set(model, { ...current, patterns: setOptions?.replace ? compiled : [...compiled, ...current.patterns] });
      warnUnserved(`setPatterns(${JSON.stringify(model)}, …)`, model);
    },
    setDefault(model, answers) {
      checkSetDefault(name, model, answers);
      const current = state.answers.get(model) ?? { patterns: [] };
      state.answers.set(model, { ...current, default: answers });
      warnUnserved(`setDefault(${JSON.stringify(model)}, …)`, model);
    },
    failNext(count, failure) {
      checkFailNext(name, count, failure);
      for (let i = 0; i < count; i++) state.pending.push(failure ?? state.settings.failure);
    },
    checkpoint() {
      const saved = cloneState(state);
      return () => {
        state = cloneState(saved);
      };
    },
    reset() {
      state = initialState(settings);
      calls = [];
      callCount = 0;
      listTurns = new WeakMap();
    },
  };
  return provider;
}

/** Token-sized stream chunks: text in words (about one token each), tool arguments in small pieces. */
function* chunksOf(response: ChatResponse): Generator<StreamEvent> {
  let toolIndex = 0;
  for (const part of response.content) {
    if (part.type === 'text') {
      for (const piece of part.text.match(/\s*\S{1,12}|\s+/g) ?? []) yield { type: 'text-delta', text: piece };
    } else {
      const index = toolIndex++;
      yield { type: 'tool-call-start', index, id: part.id, name: part.name };
      for (let i = 0; i < part.arguments.length; i += 16) {
        yield { type: 'tool-call-delta', index, argumentsDelta: part.arguments.slice(i, i + 16) };
      }
      yield { type: 'tool-call-end', index };
    }
  }
}
