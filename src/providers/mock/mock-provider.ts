/**
 * The mock provider: canned or generated answers, simulated latency, and
 * injected failures, all deterministic.
 *
 * Determinism rule: the provider numbers its calls 0, 1, 2, … in the order they
 * arrive. Whether call n fails, and its latency within a `{min, max}` range,
 * are pure functions of (seed, n). Which answer it gets depends only on the
 * request itself (see rules.ts): the same conversation gets the same answer
 * whatever other conversations run at the same time, and a retried request
 * gets the same answer again.
 */
import { approximateBytes, MAX_KEPT_CALLS, RecentCalls } from './recent-calls.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatRequest, ChatResponse, StreamEvent, TextPart, ToolCallPart } from '../../canonical/types.ts';
import { lastUserText } from '../../canonical/types.ts';
import type { AnswerSpec, FailureKind, LatencySetting, MockProviderSettings } from '../../config/schema.ts';
import { classifyStatus, ProviderError, TokenPakError } from '../../errors.ts';
import { didYouMean } from '../../util/did-you-mean.ts';
import type { CallOptions, Provider } from '../types.ts';
import {
  answerContent,
  answerLatency,
  applyStopSequences,
  generateContent,
  type AnswerSource,
} from './answers.ts';
import {
  answerProblems,
  checkFailNext,
  checkSetDefault,
  checkSetPatterns,
  checkSetRules,
  checkSettingChanges,
  controlError,
  RUNTIME_SETTING_KEYS,
  unservedModelWarning,
  type RuntimeSettingKey,
} from './control-checks.ts';
import { unmetDemand } from './demands.ts';
import {
  answerAt,
  chooseRule,
  closestRule,
  compilePattern,
  compileRule,
  defaultRule,
  describeFacts,
  type MockAnswers,
  type MockRule,
  type MockRuleInput,
} from './rules.ts';
import type { ConversationFacts } from './conversation.ts';
import { draw, hash32 } from './random.ts';
import { mockEmbeddings } from './embeddings.ts';
import { estimateInputTokens, estimateOutputTokens, loadTokenizer } from './tokens.ts';

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
  /**
   * Whether `calls` keeps the calls received (default true). `tokenpak proxy`
   * keeps none: nothing reads them there, and each kept call (with its
   * request) would outlive many garbage collections.
   */
  keepCalls?: boolean;
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
  /**
   * Why the canned answer was replaced by a generated one: it did not meet
   * what the request demands (a forced tool choice, a JSON schema).
   */
  replaced?: string;
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
  /**
   * Calls received, oldest first: the newest {@link MAX_KEPT_CALLS}, and fewer
   * when their requests add up to more than {@link MAX_KEPT_CALL_BYTES} (older
   * ones are dropped so a long-running proxy does not grow; the newest call is always kept).
   */
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
  /**
   * Adds rules for a model (`*` for every model without its own entry), in
   * the YAML shape (`{when, answer, repeat}`), tried before the existing
   * rules, or instead of them with `replace`.
   */
  setRules(model: string, rules: readonly MockRuleInput[], options?: { replace?: boolean }): void;
  /** Sets the answer used when no rule or pattern of this model matches. */
  setDefault(model: string, answers: MockAnswers): void;
  /** The next `count` calls fail with `failure` (default: the configured failure). */
  failNext(count: number, failure?: MockFailure): void;
  /** Saves the current settings and answers; the returned function restores them. */
  checkpoint(): () => void;
  /** Back to the config's settings and answers; call numbering and the call list restart. */
  reset(): void;
}

/** One model's canned answers, compiled. */
interface ModelAnswers {
  rules: MockRule[];
  patterns: MockRule[];
  default?: MockRule;
}

interface State {
  settings: MockRuntimeSettings;
  answers: Map<string, ModelAnswers>;
  pending: MockFailure[];
}

function initialState(settings: MockProviderSettings): State {
  const answers = new Map<string, ModelAnswers>();
  for (const [model, entry] of Object.entries(settings.responses)) {
    answers.set(model, {
      rules: entry.rules.map(compileRule),
      patterns: entry.patterns.map(([key, value]) => compilePattern(key, value)),
      ...(entry.default !== undefined ? { default: defaultRule(entry.default) } : {}),
    });
  }
  return {
    settings: Object.fromEntries(RUNTIME_SETTING_KEYS.map((key) => [key, settings[key]])) as MockRuntimeSettings,
    answers,
    pending: [],
  };
}

function cloneState(state: State): State {
  const answers = new Map<string, ModelAnswers>();
  for (const [model, entry] of state.answers) answers.set(model, { ...entry, rules: [...entry.rules], patterns: [...entry.patterns] });
  return { settings: { ...state.settings }, answers, pending: [...state.pending] };
}

export { MAX_KEPT_CALLS, MAX_KEPT_CALL_BYTES } from './recent-calls.ts';

/** Mock timeouts wait this long when the provider sets no `timeout_ms`. */
const DEFAULT_MOCK_TIMEOUT_MS = 30_000;

/** Creates a mock provider from its config settings. */
export function createMockProvider(name: string, settings: MockProviderSettings, options: MockProviderOptions = {}): MockProvider {
  let state = initialState(settings);
  const calls = new RecentCalls<MockCall>();
  const keepCalls = options.keepCalls ?? true;
  let callCount = 0;
  // Requests that got an error from an answer list, by rule and conversation: how many errors they got.
  let erroredRetries = new Map<string, number>();

  /** A function's answer is only known when it answers: check it as a config answer would be. */
  const checkProduced = (produced: AnswerSpec): AnswerSpec => {
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
    /** Strict mode: no rule matched; the call fails at once with this. */
    refusal?: ProviderError;
    content: Array<TextPart | ToolCallPart>;
    response: ChatResponse;
  }

  /** Decides everything about call n up front, so the draws never depend on timing. */
  const plan = (request: ChatRequest, stream: boolean, callOptions: CallOptions): Plan => {
    const index = callCount++;
    const prompt = lastUserText(request);
    const call: MockCall = { index, model: request.model, prompt, request, stream, outcome: 'ok', latencyMs: 0 };
    // A long-running proxy must not grow without bound: keep the newest calls only, by count and by size.
    if (keepCalls) calls.push(call, approximateBytes(request) + prompt.length);
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

    const entry = state.answers.get(request.model) ?? state.answers.get('*');
    const onUnmatched = state.settings.on_unmatched;
    const rules = entry ? [...entry.rules, ...entry.patterns, ...(entry.default && onUnmatched === 'default' ? [entry.default] : [])] : [];
    const choice = chooseRule(rules, request, callOptions.headers);
    const facts = choice.facts;
    // Ids depend on the conversation only, so a retried request or a rerun gets the same ones.
    const idSeed = `${state.settings.seed}:${request.model}:${facts.turn}:${hash32(prompt)}:${request.messages.length}`;
    let content: Array<TextPart | ToolCallPart>;
    if (choice.rule) {
      const rule = choice.rule;
      call.source = rule.kind === 'default' ? { kind: 'default' } : { kind: rule.kind, key: rule.label };
      let position = choice.position;
      // An error in a list scripts a flaky upstream: a retry of the same request gets the answer after it.
      const retryKey = Array.isArray(rule.answers) && rule.answers.some(isErrorAnswer) ? `${rule.label}\u0000${hash32(JSON.stringify([request.model, request.messages]))}` : undefined;
      if (retryKey !== undefined) position += erroredRetries.get(retryKey) ?? 0;
      const answer = answerAt(rule.answers, position, request, checkProduced);
      if (retryKey !== undefined && isErrorAnswer(answer)) {
        erroredRetries.delete(retryKey);
        erroredRetries.set(retryKey, position - choice.position + 1);
        if (erroredRetries.size > MAX_KEPT_CALLS) erroredRetries.delete(erroredRetries.keys().next().value!);
      }
      const override = answerLatency(answer);
      if (override !== undefined) latency = latencyFor(override, index);
      if (typeof answer === 'object' && answer.error !== undefined && injected === undefined) {
        injected = answer.error;
        why = rule.kind === 'default' ? 'canned error' : `canned error for ${rule.kind} "${rule.label}"`;
      }
      content = answerContent(answer, idSeed);
      const label = rule.kind === 'default' ? 'the default answer' : `the answer of ${rule.kind} "${rule.label}"`;
      const unmet = typeof answer === 'object' && answer.error !== undefined ? undefined : unmetDemand(request, content, label);
      if (unmet !== undefined) {
        call.replaced = `${unmet}: answered with a generated one instead`;
        content = generateContent(request, prompt, idSeed, facts.toolResults);
      }
    } else if (onUnmatched === 'error' && injected === undefined) {
      call.outcome = 'error';
      return { call, latency: 0, content: [], response: undefined as never, refusal: unmatchedError(name, request.model, rules, facts, entry !== undefined) };
    } else {
      call.source = { kind: 'generated' };
      content = generateContent(request, prompt, idSeed, facts.toolResults);
    }
    const stopSequence = applyStopSequences(content, request.stop);

    let stopReason: ChatResponse['stopReason'] = content.some((p) => p.type === 'tool-call') ? 'tool-calls' : 'stop';
    let outputTokens = estimateOutputTokens(content, request.model);
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
      ...(call.replaced !== undefined ? { warnings: [call.replaced] } : {}),
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
      return calls.items;
    },
    get settings() {
      return state.settings;
    },

    async complete(request: ChatRequest, options: CallOptions = {}): Promise<ChatResponse> {
      // The first request for an OpenAI-family model waits for its tokenizer, once per process.
      const tokenizer = loadTokenizer(request.model);
      if (tokenizer) await tokenizer;
      const p = plan(request, false, options);
      if (p.refusal) throw p.refusal;
      if (p.failure) return failAfterWait(p.failure, p.latency, options.signal);
      await wait(p.latency, options.signal);
      return p.response;
    },

    // Embeddings and token counts are pure functions of the input: no latency, failures or call records.
    async embed(request) {
      await loadTokenizer(request.model);
      return mockEmbeddings(request);
    },

    async countTokens(request) {
      await loadTokenizer(request.model);
      return estimateInputTokens(request);
    },

    async *stream(request: ChatRequest, options: CallOptions = {}): AsyncIterable<StreamEvent> {
      const tokenizer = loadTokenizer(request.model);
      if (tokenizer) await tokenizer;
      const p = plan(request, true, options);
      if (p.refusal) throw p.refusal;
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
      const { warnings } = p.response;
      yield { type: 'finish', stopReason, usage, ...(stopSequence !== undefined ? { stopSequence } : {}), ...(warnings ? { warnings } : {}) };
    },

    configure(changes) {
      state.settings = { ...state.settings, ...(checkSettingChanges(name, changes) as Partial<MockRuntimeSettings>) };
    },
    setPatterns(model, patterns, setOptions) {
      const entries = checkSetPatterns(name, model, patterns, setOptions);
      const compiled = entries.map(([key, answers]) => compilePattern(key, answers as MockAnswers));
      const current = state.answers.get(model) ?? { rules: [], patterns: [] };
      state.answers.set(model, { ...current, patterns: setOptions?.replace ? compiled : [...compiled, ...current.patterns] });
      warnUnserved(`setPatterns(${JSON.stringify(model)}, …)`, model);
    },
    setRules(model, rules, setOptions) {
      const compiled = checkSetRules(name, model, rules, setOptions).map((rule) => compileRule(rule));
      const current = state.answers.get(model) ?? { rules: [], patterns: [] };
      state.answers.set(model, { ...current, rules: setOptions?.replace ? compiled : [...compiled, ...current.rules] });
      warnUnserved(`setRules(${JSON.stringify(model)}, …)`, model);
    },
    setDefault(model, answers) {
      checkSetDefault(name, model, answers);
      const current = state.answers.get(model) ?? { rules: [], patterns: [] };
      state.answers.set(model, { ...current, default: defaultRule(answers) });
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
      calls.clear();
      callCount = 0;
      erroredRetries = new Map();
    },
  };
  return provider;
}

const isErrorAnswer = (answer: unknown): boolean => typeof answer === 'object' && answer !== null && (answer as { error?: unknown }).error !== undefined;

/** Strict mode's error: no rule matched; names the closest rule, and a near-miss keyword. */
function unmatchedError(provider: string, model: string, rules: readonly MockRule[], facts: ConversationFacts, hasEntry: boolean): ProviderError {
  const near = closestRule(rules, facts);
  let closest = '';
  if (near) {
    const miss = near.nearMiss ? ` The last user message has "${near.nearMiss.word}".${didYouMean(near.nearMiss.word, [near.nearMiss.keyword])}` : '';
    closest = ` Closest: ${near.rule.kind} "${near.rule.label}", which needs ${near.failed.join(', ')}.${miss}`;
  }
  const none = hasEntry ? '' : ` There are no canned answers for model "${model}" (nor for "*").`;
  return new ProviderError(
    'mock_unmatched',
    `Mock provider "${provider}": no rule matches this request to model "${model}" (${describeFacts(facts)}), and on_unmatched is "error".${none}${closest} Add a rule for it, or set on_unmatched: default.`,
    { provider, status: 400, retryable: false },
  );
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
